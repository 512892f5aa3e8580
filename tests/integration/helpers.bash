# Shared bats helpers. Every test runs in throwaway network namespaces it creates and removes,
# pass or fail; nothing touches the machine's own network.
#   load helpers            (from tests/integration/*.bats)
#   load ../integration/helpers   (from tests/conformance/*.bats)

WEFT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${WEFT_BIN:-$WEFT_ROOT/build/bin}
FIX=$WEFT_ROOT/tests/fixtures
# A short unique prefix per test: netns names stay readable and never collide between
# concurrent runs (pid) or tests (number).
WEFT_PREFIX=${WEFT_PREFIX:-wft$$t${BATS_TEST_NUMBER:-0}}

_weft_netns=()
_weft_paths=()

weft_require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# weft_netns_add NAME: creates "<prefix>-NAME", brings lo up, prints the full name.
weft_netns_add() {
	local ns="$WEFT_PREFIX-$1"
	ip netns add "$ns" || return 1
	_weft_netns+=("$ns")
	ip -n "$ns" link set lo up
	echo "$ns"
}

weft_track_path() {
	_weft_paths+=("$1")
}

weft_setup() {
	weft_require_root
	HOST=$WEFT_PREFIX-host
	CTR=$WEFT_PREFIX-ctr
	ip netns add "$HOST" && _weft_netns+=("$HOST")
	ip netns add "$CTR" && _weft_netns+=("$CTR")
	ip -n "$HOST" link set lo up
	ip -n "$CTR" link set lo up
	DATA=$(mktemp -d /tmp/weft-test.XXXXXX)
	weft_track_path "$DATA"
	export HOST CTR DATA BIN FIX
}

weft_teardown() {
	local ns p
	# Pods first, so their veth ends vanish before the host's.
	for ((i = ${#_weft_netns[@]} - 1; i >= 0; i--)); do
		ns=${_weft_netns[$i]}
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
	_weft_netns=()
	for p in "${_weft_paths[@]}"; do
		[ -n "$p" ] && [ "$p" != / ] && rm -rf "$p"
	done
	_weft_paths=()
}

# conf_with_data CONF: CONF is a file or a JSON string; @DATA@ becomes $DATA.
conf_with_data() {
	local c=$1
	[ -f "$c" ] && c=$(cat "$c")
	printf '%s' "${c//@DATA@/$DATA}"
}

# run_plugin CMD PLUGIN CONF [CID] [IFNAME] [NETNS]
# stdout is the plugin's stdout only; its stderr goes to plugin_stderr.
run_plugin() {
	local cmd=$1 plugin=$2 conf=$3 cid=${4-ctr1} ifname=${5-eth0}
	local netns=${6-/run/netns/$CTR}
	local pre=()
	[ -n "${WEFT_VALGRIND:-}" ] && pre=(valgrind -q --error-exitcode=99 --leak-check=full)
	conf_with_data "$conf" | ip netns exec "$HOST" env CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="$cid" CNI_IFNAME="$ifname" CNI_NETNS="$netns" \
		CNI_PATH="${CNI_PATH_OVERRIDE:-$BIN}" CNI_ARGS="${CNI_ARGS:-}" \
		"${pre[@]}" "$BIN/$plugin" 2>>"${BATS_TEST_TMPDIR:-/tmp}/plugin.stderr"
}

# The plugins' stderr (logs) of this test, kept out of $output so it stays pure JSON.
plugin_stderr() {
	cat "${BATS_TEST_TMPDIR:-/tmp}/plugin.stderr" 2>/dev/null
}

# json_get JSON FILTER: jq -r shortcut.
json_get() {
	printf '%s' "$1" | jq -r "$2"
}

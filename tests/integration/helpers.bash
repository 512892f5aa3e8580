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

# What a test made is recorded in files, not arrays: helpers are often called inside $(...),
# a subshell whose variables die with it.
_weft_reg() {
	echo "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/weft-registry.$1"
}

# weft_need_cnitool: sets CNITOOL to the cnitool the check built (tests/tools/build-cnitool.sh)
# or one on PATH; skips the test, saying why, when there is none.
weft_need_cnitool() {
	CNITOOL=${WEFT_CNITOOL:-$BIN/../tools/cnitool}
	[ -x "$CNITOOL" ] || CNITOOL=$WEFT_ROOT/build/tools/cnitool
	[ -x "$CNITOOL" ] || CNITOOL=$(command -v cnitool) ||
		skip "cnitool not available (tests/tools/build-cnitool.sh could not build it)"
	export CNITOOL
}

weft_require_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

# weft_netns_add NAME: creates "<prefix>-NAME", brings lo up, prints the full name.
weft_netns_add() {
	local ns="$WEFT_PREFIX-$1"
	ip netns add "$ns" || return 1
	echo "$ns" >>"$(_weft_reg netns)"
	ip -n "$ns" link set lo up
	echo "$ns"
}

weft_track_path() {
	echo "$1" >>"$(_weft_reg paths)"
}

weft_setup() {
	weft_require_root
	HOST=$WEFT_PREFIX-host
	CTR=$WEFT_PREFIX-ctr
	ip netns add "$HOST" && echo "$HOST" >>"$(_weft_reg netns)"
	ip netns add "$CTR" && echo "$CTR" >>"$(_weft_reg netns)"
	ip -n "$HOST" link set lo up
	ip -n "$CTR" link set lo up
	DATA=$(mktemp -d /tmp/weft-test.XXXXXX)
	weft_track_path "$DATA"
	export HOST CTR DATA BIN FIX
}

weft_teardown() {
	local ns p reg
	# Pods first (reverse order of creation), so their veth ends vanish before the host's.
	reg=$(_weft_reg netns)
	if [ -f "$reg" ]; then
		for ns in $(tac "$reg"); do
			ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
			ip netns del "$ns" 2>/dev/null || true
		done
		rm -f "$reg"
	fi
	reg=$(_weft_reg paths)
	if [ -f "$reg" ]; then
		while IFS= read -r p; do
			[ -n "$p" ] && [ "$p" != / ] && rm -rf "$p"
		done <"$reg"
		rm -f "$reg"
	fi
	return 0
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
	[ -n "${WEFT_VALGRIND:-}" ] && pre=(valgrind -q --error-exitcode=99 --leak-check=full
		--suppressions="$WEFT_ROOT/tests/integration/valgrind.supp")
	conf_with_data "$conf" | ip netns exec "$HOST" env CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="$cid" CNI_IFNAME="$ifname" CNI_NETNS="$netns" \
		CNI_PATH="${CNI_PATH_OVERRIDE:-$BIN}" CNI_ARGS="${CNI_ARGS:-}" \
		"${pre[@]}" "$BIN/$plugin" 2>>"${BATS_TEST_TMPDIR:-/tmp}/plugin.stderr"
}

# The plugins' stderr (logs) of this test, kept out of $output so it stays pure JSON.
plugin_stderr() {
	cat "${BATS_TEST_TMPDIR:-/tmp}/plugin.stderr" 2>/dev/null
}

# wait_until SECONDS CMD...: runs CMD every 50 ms until it succeeds; 1 when time runs out.
wait_until() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.05
	done
}

# json_get JSON FILTER: jq -r shortcut.
json_get() {
	printf '%s' "$1" | jq -r "$2"
}

# Shared by hostile.bats, crash.bats and churn.bats: plugin-generic configs, a way to
# run a plugin in the background by pid, and the census of everything a plugin can leave on a
# host (veths, IP reservations, index entries, temp files, nft rules, bpf endpoints).
# Load after helpers:   load helpers; load reliability
#
# Plugins are taken from REL_PLUGINS (default: every plugin weft has or will have); a plugin
# whose binary is absent from $BIN is skipped, so host-gw and vxlan join when they land.

REL_PLUGINS=${REL_PLUGINS:-host-local bridge ebpf host-gw vxlan}
NET=wrel
REL_BRIDGE=wrelbr0
REL_SUBNET=10.77.0.0/22

# rel_present: the plugins of REL_PLUGINS whose binary exists, one per line.
rel_present() {
	local p
	for p in $REL_PLUGINS; do
		[ -x "$BIN/$p" ] && echo "$p"
	done
	return 0
}

# rel_kernel_plugin P: true for the plugins that create interfaces (need a pod netns).
rel_kernel_plugin() {
	[ "$1" != host-local ]
}

# rel_setup: weft_setup plus a private bpffs for the ebpf plugin's pins ($PIN).
rel_setup() {
	weft_setup
	export VALGRIND_OPTS="--suppressions=$WEFT_ROOT/tests/integration/valgrind.supp"
	PIN=$(mktemp -d /tmp/weft-relpin.XXXXXX)
	mount -t bpf bpf "$PIN" 2>/dev/null || true
	# the underlay of host-gw and vxlan: this node's address
	ip -n "$HOST" link add wrelul0 type veth peer name wrelul1
	ip -n "$HOST" addr add 192.0.2.1/24 dev wrelul0
	ip -n "$HOST" link set wrelul0 up
	ip -n "$HOST" link set wrelul1 up
	REL_CONFS=$(mktemp -d /tmp/weft-relconf.XXXXXX)
	weft_track_path "$REL_CONFS"
	export PIN REL_CONFS
}

rel_teardown() {
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN" 2>/dev/null || true
	fi
}

# rel_conf PLUGIN [VERSION] [JQ-OBJECT-MERGED-IN]: a config for PLUGIN on network $NET with
# host-local IPAM in $DATA (merged recursively with the third argument).
rel_conf() {
	local p=$1 v=${2:-1.1.0} x=${3:-'{}'}
	jq -cn --arg p "$p" --arg v "$v" --arg d "$DATA" --arg net "$NET" --arg br "$REL_BRIDGE" \
		--arg pin "${PIN:-}" --arg sub "$REL_SUBNET" --argjson x "$x" '
		({cniVersion: $v, name: $net, type: $p,
		  ipam: {type: "host-local", dataDir: $d, ranges: [[{subnet: $sub}]]}}
		 + (if $p == "bridge" then {bridge: $br, isGateway: true, ipMasq: true}
		    elif $p == "ebpf" then {ipMasq: true, pinRoot: $pin}
		    elif $p == "host-gw" or $p == "vxlan" then {bridge: $br, isGateway: true,
			ipMasq: true, clusterCIDR: "10.77.0.0/16", nodeName: "rel-node",
			stateDir: ($d + "/state"), underlayInterface: "wrelul0",
			peers: [{name: "rel-node", nodeIP: "192.0.2.1", podCIDR: $sub}]}
			+ (if $p == "vxlan" then {vni: 77} else {} end)
		    else {} end)) * $x
		| if .ipam.dataDir != $d then error("dataDir must stay in the test'"'"'s dir") else . end'
}

# rel_conf_file PLUGIN [VERSION] [JQ]: the same, written to a file; prints its path.
rel_conf_file() {
	local f
	f=$(mktemp "$REL_CONFS/conf.XXXXXX")
	rel_conf "$@" >"$f"
	echo "$f"
}

# valgrind as helpers.bash runs it; the suppressions (libbpf's bpf() attr false positives)
# reach run_plugin's valgrind too through VALGRIND_OPTS (see rel_setup)
REL_VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full)

# rel_spawn OUT CMD PLUGIN CONFFILE CID IFNAME NETNS: runs the plugin in the background in
# $HOST (stdout to OUT); REL_PID is the plugin's own pid (ip netns exec and env exec, they do
# not fork), so kill -9 $REL_PID kills the plugin and nothing else.
rel_spawn() {
	local out=$1 cmd=$2 p=$3 conf=$4 cid=$5 ifname=$6 netns=$7
	local pre=()
	[ -n "${WEFT_VALGRIND:-}" ] && pre=("${REL_VALGRIND[@]}")
	ip netns exec "$HOST" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$cid" CNI_IFNAME="$ifname" \
		CNI_NETNS="$netns" CNI_PATH="$BIN" CNI_ARGS="" WEFT_LOCK_TIMEOUT_MS="${REL_LOCK_MS:-}" \
		"${pre[@]}" "$BIN/$p" <"$conf" >"$out" 2>>"${BATS_TEST_TMPDIR:-/tmp}/plugin.stderr" &
	REL_PID=$!
}

# ---- census of host state ----------------------------------------------------------------------

# Foreign look-alikes a test plants (named like weft's veths) are not counted.
REL_FOREIGN_RE=${REL_FOREIGN_RE:-^veth0123456789}

rel_veths() { # weft host veths in $HOST (veth + 11 hex)
	ip -n "$HOST" -j link show type veth 2>/dev/null | jq --arg f "$REL_FOREIGN_RE" \
		'[.[] | select((.ifname | test("^veth[0-9a-f]{11}$")) and (.ifname | test($f) | not))]
		| length'
}

rel_reservations() { # <ip> files of $NET
	find "$DATA/$NET" -maxdepth 1 -regextype posix-extended -regex '.*/[0-9a-f.:]+' \
		2>/dev/null | wc -l
}

rel_stray_files() { # temp files and index entries that must not outlive DEL/GC
	{
		find "$DATA/$NET" -maxdepth 1 -name '.weft-tmp*' 2>/dev/null
		find "$DATA/$NET/.weft" -maxdepth 1 -name 'a.*' 2>/dev/null
		# a killed ADD's claimed spare inode (GC removes it; DEL leaves others' alone)
		find "$DATA/$NET/.weft" -maxdepth 1 -name 'claim.*' 2>/dev/null
	} | wc -l
}

rel_rules() { # rules in weft's nft tables
	ip netns exec "$HOST" nft -j list ruleset 2>/dev/null |
		jq '[.nftables[]? | select(.rule) | .rule | select(.table == "weft")] | length'
}

rel_bpf_entries() { # endpoints in the ebpf plugin's map for $NET
	[ -x "$BIN/ebpf" ] && [ -d "$PIN/$NET" ] || {
		echo 0
		return
	}
	ip netns exec "$HOST" "$BIN/ebpf" stats "$NET" --pin-root "$PIN" --json 2>/dev/null |
		jq 'length' 2>/dev/null || echo "?"
}

# rel_census: one line; "veths=0 ips=0 stray=0 rules=0 bpf=0" when nothing is left.
rel_census() {
	echo "veths=$(rel_veths) ips=$(rel_reservations) stray=$(rel_stray_files)" \
		"rules=$(rel_rules) bpf=$(rel_bpf_entries)"
}

REL_CLEAN="veths=0 ips=0 stray=0 rules=0 bpf=0"

# rel_assert_clean [CONTEXT]
rel_assert_clean() {
	local c
	c=$(rel_census)
	if [ "$c" != "$REL_CLEAN" ]; then
		echo "left behind${1:+ ($1)}: $c" >&2
		ls -la "$DATA/$NET" >&2 2>/dev/null || true
		return 1
	fi
}

# rel_lock_free: nobody holds the network's lock.
rel_lock_free() {
	[ ! -e "$DATA/$NET/lock" ] || flock -n "$DATA/$NET/lock" true
}

# rel_gc PLUGIN CONFFILE [VALID-JSON-ARRAY]: GC with the given valid attachments (default []).
rel_gc() {
	local c
	c=$(jq -c --argjson v "${3:-[]}" '. + {"cni.dev/valid-attachments": $v}' "$2")
	run_plugin GC "$1" "$c" "" "" ""
}

# rel_expect_code N: the last `run` failed with a CNI error JSON of code N and a msg.
rel_expect_code() {
	if [ "$status" -eq 0 ]; then
		echo "expected code $1, got success: $output" >&2
		return 1
	fi
	if [ "$(jq -r .code <<<"$output" 2>/dev/null)" != "$1" ]; then
		echo "expected code $1, got: $output" >&2
		return 1
	fi
	[ -n "$(jq -r '.msg // empty' <<<"$output")" ] || {
		echo "error JSON without msg: $output" >&2
		return 1
	}
}

# rel_scale N: N, or a tenth of it (at least 5) under valgrind.
rel_scale() {
	if [ -n "${WEFT_VALGRIND:-}" ]; then
		local n=$(($1 / 10))
		echo $((n < 5 ? 5 : n))
	else
		echo "$1"
	fi
}

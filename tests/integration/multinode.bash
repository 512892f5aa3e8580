# Helpers for host-gw.bats and vxlan.bats: two (or three) "nodes" = throwaway netns joined by
# an underlay veth, each with a pod netns. Node A is helpers.bash's $HOST, its pod $CTR.
#   mn_setup          creates node B ($NB) and its pod ($PB), underlay A<->B
#   mn_peers FILE N.. writes a NodeList with nodes a, b (and c, d ...) to FILE
#   mn_conf PLUGIN NODE [JQ-OBJECT]   a config for node a or b (stateDir, dataDir under $DATA)
#   on_node NODE CMD ...              runs run_plugin-style CMD with HOST set to that node

UL_A=192.168.77.1
UL_B=192.168.77.2

mn_setup() {
	NB=$(weft_netns_add nodeb)
	PB=$(weft_netns_add podb)
	ip -n "$HOST" link add ul0 type veth peer name ul0 netns "$NB"
	ip -n "$HOST" addr add $UL_A/24 dev ul0
	ip -n "$NB" addr add $UL_B/24 dev ul0
	ip -n "$HOST" link set ul0 up
	ip -n "$NB" link set ul0 up
	export NB PB
}

# mn_peers FILE LETTER...: a Kubernetes NodeList; node x gets 192.168.77.<n>, 10.244.<n>.0/24
# with a=1, b=2, c=3 ...
mn_peers() {
	local f=$1 items="" l n
	shift
	for l in "$@"; do
		n=$(($(printf '%d' "'$l") - 96))
		items+="${items:+,}{\"metadata\":{\"name\":\"node-$l\"},\"spec\":{\"podCIDR\":\"10.244.$n.0/24\",\"podCIDRs\":[\"10.244.$n.0/24\"]},\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node-$l\"},{\"type\":\"InternalIP\",\"address\":\"192.168.77.$n\"}]}}"
	done
	echo "{\"apiVersion\":\"v1\",\"kind\":\"NodeList\",\"items\":[$items]}" >"$f.tmp" && mv "$f.tmp" "$f"
}

# mn_conf PLUGIN LETTER [JQ-OBJECT]
mn_conf() {
	local n=$(($(printf '%d' "'$2") - 96))
	jq -cn --arg t "$1" --arg d "$DATA" --arg l "$2" --arg s "10.244.$n.0/24" \
		--argjson x "${3:-{\}}" '{
		cniVersion: "1.0.0", name: "mnet", type: $t, bridge: "wbr0", isDefaultGateway: true,
		nodeName: ("node-" + $l), stateDir: ($d + "/state-" + $l), peersFile: ($d + "/peers.json"),
		ipam: {type: "host-local", subnet: $s, dataDir: ($d + "/ipam-" + $l)}} * $x'
}

# on_node NS run_plugin ARGS...: the plugin runs in node NS instead of $HOST.
on_node() {
	local ns=$1
	shift
	HOST=$ns "$@"
}

expect_code() { # expect_code N [REGEX-IN-MSG]
	[ "$status" -ne 0 ] || fail "expected failure, got success: $output"
	[ "$(json_get "$output" .code)" = "$1" ] || fail "expected code $1: $output"
	[ -z "${2:-}" ] || json_get "$output" .msg | grep -Eq "$2" || fail "msg !~ $2: $output"
}

fail() {
	echo "$*" >&2
	return 1
}

pod_ip() { # pod_ip ADD-RESULT
	json_get "$1" '.ips[0].address' | cut -d/ -f1
}

# IPv6 variants: the underlay carries fd77::<n>/64 (nodad), node x's pod CIDR is
# fd00:244:<n>::/64, its IPAM range that /64 (gateway fd00:244:<n>::1 on the bridge).
UL6_A=fd77::1
UL6_B=fd77::2

mn_setup6() {
	NB=$(weft_netns_add nodeb)
	PB=$(weft_netns_add podb)
	ip -n "$HOST" link add ul0 type veth peer name ul0 netns "$NB"
	# A node's NIC has been up for long: no tentative link-local on it (see mn_wait_dad).
	ip netns exec "$HOST" sysctl -qw net.ipv6.conf.ul0.accept_dad=0
	ip netns exec "$NB" sysctl -qw net.ipv6.conf.ul0.accept_dad=0
	ip -n "$HOST" addr add $UL6_A/64 dev ul0 nodad
	ip -n "$NB" addr add $UL6_B/64 dev ul0 nodad
	ip -n "$HOST" link set ul0 up
	ip -n "$NB" link set ul0 up
	export NB PB
}

# mn_peers6 FILE LETTER...: a NodeList as mn_peers, IPv6: fd77::<n>, fd00:244:<n>::/64.
mn_peers6() {
	local f=$1 items="" l n
	shift
	for l in "$@"; do
		n=$(($(printf '%d' "'$l") - 96))
		items+="${items:+,}{\"metadata\":{\"name\":\"node-$l\"},\"spec\":{\"podCIDR\":\"fd00:244:$n::/64\",\"podCIDRs\":[\"fd00:244:$n::/64\"]},\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node-$l\"},{\"type\":\"InternalIP\",\"address\":\"fd77::$n\"}]}}"
	done
	echo "{\"apiVersion\":\"v1\",\"kind\":\"NodeList\",\"items\":[$items]}" >"$f.tmp" && mv "$f.tmp" "$f"
}

# mn_conf6 PLUGIN LETTER [JQ-OBJECT]: mn_conf with the node's IPv6 range instead of the IPv4 one.
mn_conf6() {
	local n=$(($(printf '%d' "'$2") - 96))
	mn_conf "$1" "$2" | jq -c --arg s "fd00:244:$n::/64" --argjson x "${3:-{\}}" \
		'.ipam |= (del(.subnet) + {ranges: [[{subnet: $s}]]}) | . * $x'
}

# mn_wait_dad NS...: until no address is tentative (at most 5 s). The kernel sends no
# neighbour solicitation for a forwarded packet out of an interface whose link-local address
# is still tentative (ndisc_send_ns), so a freshly made bridge drops the first forwarded IPv6
# packets towards its pods for the 1-2 s of DAD (docs/notes.md).
mn_wait_dad() {
	local ns i
	for ns in "$@"; do
		for i in $(seq 50); do
			[ -z "$(ip -n "$ns" -6 addr show tentative)" ] && break
			sleep 0.1
		done
	done
}

# applied_peers STATE-DIR: the applied set the plugins' reconcile keeps there, read as it reads
# it: applied.json's peers, then the records of applied.log with the same gen (a "put"/"del"
# record replaces the peers it names; a torn line is skipped); sorted by name.
applied_peers() {
	local d=$1
	jq -n --slurpfile b "$d/applied.json" --rawfile l <(cat "$d/applied.log" 2>/dev/null) '
		($b[0].gen // 0) as $g
		| [$l | split("\n")[] | select(length > 0) | (fromjson? // empty)] as $recs
		| reduce ($recs[] | select(.gen == $g and has("put"))) as $r ($b[0].peers;
			[.[] | select(.name as $n | [$r.del[].name, $r.put[].name] | index($n) | not)]
			+ $r.put)
		| sort_by(.name)'
}

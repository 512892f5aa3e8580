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

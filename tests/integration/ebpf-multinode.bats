#!/usr/bin/env bats
# ebpf across two throwaway "nodes" (netns joined by an underlay veth), each with a pod and its
# own bpffs pin root: node routes and the remote map from the peer set, off-node pod traffic
# sent by the program with bpf_redirect_neigh, masquerade for off-cluster traffic only.

load helpers
load multinode

setup() {
	weft_setup
	mn_setup
	mn_peers "$DATA/peers.json" a b
	PIN_A=$(mktemp -d /tmp/weft-pin.XXXXXX)
	PIN_B=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN_A"
	mount -t bpf bpf "$PIN_B"
}

teardown() {
	weft_teardown
	for p in "${PIN_A:-}" "${PIN_B:-}"; do
		[ -n "$p" ] || continue
		umount "$p" 2>/dev/null || true
		rmdir "$p"
	done
}

conf() { # conf LETTER [JQ-OBJECT]: the ebpf config of node a or b
	local pin=$PIN_A
	[ "$1" = b ] && pin=$PIN_B
	mn_conf ebpf "$1" "$(jq -cn --arg p "$pin" --argjson x "${2:-{\}}" \
		'{pinRoot: $p, ipMasq: true, clusterCIDR: "10.244.0.0/16"} * $x')"
}

add_on() { # add_on NODE-NS LETTER CID POD-NS
	run on_node "$1" run_plugin ADD ebpf "$(conf "$2")" "$3" eth0 "/run/netns/$4"
	[ "$status" -eq 0 ] || fail "ADD on $2: $output $(plugin_stderr)"
}

stat_of() { # stat_of NODE-NS PIN CID FIELD
	ip netns exec "$1" "$BIN/ebpf" stats mnet --pin-root "$2" --json |
		jq -r --arg c "$3" --arg f "$4" '.[] | select(.containerID == $c) | .[$f]'
}

forwarded() { # forwarded NS: IPv4 datagrams the node's stack forwarded
	ip netns exec "$1" awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ForwDatagrams") c = i; h = 1 } else print $c }' /proc/net/snmp
}

routes() { # routes NS: weft's node routes as "dst via gw dev"
	ip -n "$1" -j route show proto 0x57 | jq -r '.[] | "\(.dst) via \(.gateway) dev \(.dev)"' | sort
}

remote_entries() { # remote_entries PIN: entries of the remote map
	bpftool map dump pinned "$1/mnet/remote_v4" -j | jq length
}

@test "ebpf multi-node: pods on two nodes; the sender's program sends with bpf_redirect_neigh" {
	add_on "$HOST" a pa "$CTR"
	ipa=$(pod_ip "$output")
	add_on "$NB" b pb "$PB"
	ipb=$(pod_ip "$output")
	[[ $ipa == 10.244.1.* && $ipb == 10.244.2.* ]]
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
	[ "$(routes "$NB")" = "10.244.1.0/24 via $UL_A dev ul0" ]
	[ "$(remote_entries "$PIN_A")" -eq 1 ]
	[ "$(remote_entries "$PIN_B")" -eq 1 ]
	fa=$(forwarded "$HOST")
	fb=$(forwarded "$NB")

	out=$(ip netns exec "$CTR" ping -c 3 -i 0.2 -W 2 "$ipb")
	# TTL 62: one hop in node a's program, one in node b's stack.
	[ "$(grep -c 'ttl=62' <<<"$out")" -eq 3 ]
	[ "$(stat_of "$HOST" "$PIN_A" pa remotePackets)" -ge 3 ]
	[ "$(stat_of "$NB" "$PIN_B" pb remotePackets)" -ge 3 ]
	[ "$(stat_of "$HOST" "$PIN_A" pa fwdPackets)" -eq 0 ]
	# Each node's stack forwarded only what came in from the other node (the replies on a,
	# the requests on b): what the pods sent never went through their own node's stack.
	[ "$(($(forwarded "$HOST") - fa))" -eq 3 ]
	[ "$(($(forwarded "$NB") - fb))" -eq 3 ]
	# Pod to pod keeps its source: no masquerade rule matched.
	ip netns exec "$HOST" nft -j list chain inet weft masq-mnet |
		jq -e '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add == 0'
	# The node itself reaches the remote pod through the route.
	ip netns exec "$HOST" ping -c 1 -W 2 "$ipb"
}

@test "ebpf multi-node: a peer that leaves takes its route and remote entry along; DEL keeps them" {
	add_on "$HOST" a pa "$CTR"
	mn_peers "$DATA/peers.json" a b c
	add_on "$HOST" a p2 "$(weft_netns_add p2)"
	[ "$(remote_entries "$PIN_A")" -eq 2 ]
	[ "$(routes "$HOST" | wc -l)" -eq 2 ]
	mn_peers "$DATA/peers.json" a c
	add_on "$HOST" a p3 "$(weft_netns_add p3)"
	[ "$(routes "$HOST")" = "10.244.3.0/24 via 192.168.77.3 dev ul0" ]
	# The entry left: 10.244.3.0/24 (prefix 96 + 24 in ::ffff:0:0/96) -> 192.168.77.3.
	bpftool map dump pinned "$PIN_A/mnet/remote_v4" -j | jq -e 'length == 1 and
		.[0].key[0] == "0x78" and .[0].key[16:20] == ["0x0a", "0xf4", "0x03", "0x00"] and
		.[0].value[8:12] == ["0xc0", "0xa8", "0x4d", "0x03"]'
	run on_node "$HOST" run_plugin DEL ebpf "$(conf a)" pa eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ "$(remote_entries "$PIN_A")" -eq 1 ]
	[ -n "$(routes "$HOST")" ]
}

@test "ebpf multi-node: applied state lost: the next reconcile sweeps vanished peers' routes and remote entries" {
	mn_peers "$DATA/peers.json" a b c
	add_on "$HOST" a pa "$CTR"
	[ "$(routes "$HOST" | wc -l)" -eq 2 ]
	[ "$(remote_entries "$PIN_A")" -eq 2 ]
	ip -n "$HOST" route add 10.99.0.0/16 via "$UL_B" proto 0x57 # outside clusterCIDR: stays
	rm -rf "$DATA/state-a"
	mn_peers "$DATA/peers.json" a b
	add_on "$HOST" a pa2 "$(weft_netns_add p2)"
	[ "$(routes "$HOST")" = "$(printf '10.244.2.0/24 via %s dev ul0\n10.99.0.0/16 via %s dev ul0' "$UL_B" "$UL_B")" ]
	[ "$(remote_entries "$PIN_A")" -eq 1 ]
	plugin_stderr | grep -q 'removed remote map entry 10.244.3.0/24'
	plugin_stderr | grep -q 'removed route 10.244.3.0/24 via 192.168.77.3 proto 0x57'
}

@test "ebpf multi-node: off-cluster traffic is masqueraded; pinned maps recreated are refilled" {
	OUT=$(weft_netns_add out)
	ip link add wo0 netns "$HOST" type veth peer name eth0 netns "$OUT"
	ip -n "$HOST" addr add 192.0.2.1/24 dev wo0
	ip -n "$HOST" link set wo0 up
	ip -n "$OUT" addr add 192.0.2.2/24 dev eth0
	ip -n "$OUT" link set eth0 up
	add_on "$HOST" a pa "$CTR"
	ip netns exec "$CTR" ping -c 2 -i 0.2 -W 2 192.0.2.2
	[ "$(stat_of "$HOST" "$PIN_A" pa remotePackets)" -eq 0 ]
	# The pins vanish (bpffs remounted): the next ADD loads new maps and, though the peer set
	# is unchanged, refills the remote map (its id is part of the reconcile digest).
	umount "$PIN_A"
	mount -t bpf bpf "$PIN_A"
	add_on "$HOST" a p2 "$(weft_netns_add p2)"
	[ "$(remote_entries "$PIN_A")" -eq 1 ]
}

@test "ebpf multi-node: bad peers are code 7 and leave nothing; ipMasq needs clusterCIDR" {
	jq '.items[1].status.addresses[1].address = "10.99.0.9"' "$DATA/peers.json" >"$DATA/p.json"
	mv "$DATA/p.json" "$DATA/peers.json"
	run on_node "$HOST" run_plugin ADD ebpf "$(conf a)" pa eth0 "/run/netns/$CTR"
	expect_code 7 'node "node-b": nodeIP 10.99.0.9 is unreachable'
	[ "$(ip -n "$HOST" -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length')" -eq 0 ]
	! ls "$DATA/ipam-a/mnet" 2>/dev/null | grep -q '^10\.'
	[ "$(remote_entries "$PIN_A")" -eq 0 ]
	run on_node "$HOST" run_plugin ADD ebpf "$(conf a | jq -c 'del(.clusterCIDR)')" pa eth0 "/run/netns/$CTR"
	expect_code 7 'needs "clusterCIDR"'
}

#!/usr/bin/env bats
# host-gw and vxlan with IPv6 node IPs (fd77::<n>/64 on the underlay veth) and IPv6 pod CIDRs
# (fd00:244:<n>::/64) between two throwaway "nodes", each with a pod; and what the one pod
# CIDR per node of the peer list means for dual-stack.

load helpers
load multinode

setup() {
	weft_setup
	mn_setup6
	mn_peers6 "$DATA/peers.json" a b
}

teardown() {
	weft_teardown
}

add_on() { # add_on PLUGIN NODE-NS LETTER CID NETNS [JQ]
	run on_node "$2" run_plugin ADD "$1" "$(mn_conf6 "$1" "$3" "${6:-{\}}")" "$4" eth0 "$5"
	[ "$status" -eq 0 ] || fail "ADD $1 on $3: $output $(plugin_stderr)"
}

with_prev() { # with_prev CONF RESULT
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

routes() { # routes NS: weft's node routes as "dst via gw dev"
	ip -n "$1" -6 -j route show proto 0x57 | jq -r '.[] | "\(.dst) via \(.gateway) dev \(.dev)"' | sort
}

no_pod_left() {
	[ "$(ip -n "$HOST" -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length')" = 0 ]
	[ "$(find "$DATA" -path '*ipam-a/mnet/fd00*' | wc -l)" = 0 ]
}

# ping6_pods: both pods reach each other and node a reaches b's pod, first packet included
ping6_pods() {
	mn_wait_dad "$HOST" "$NB"
	ip netns exec "$CTR" ping -6 -c1 -W2 "$2"
	ip netns exec "$PB" ping -6 -c1 -W2 "$1"
	ip netns exec "$HOST" ping -6 -c1 -W2 "$2"
}

@test "host-gw IPv6: one route per peer over an IPv6 underlay, cross-node ping -6, CHECK" {
	add_on host-gw "$HOST" a ctr1 "/run/netns/$CTR"
	ipa=$(pod_ip "$output")
	res=$output
	[[ $ipa == fd00:244:1::* ]]
	[ "$(routes "$HOST")" = "fd00:244:2::/64 via $UL6_B dev ul0" ]
	add_on host-gw "$NB" b podb "/run/netns/$PB"
	ipb=$(pod_ip "$output")
	[[ $ipb == fd00:244:2::* ]]
	[ "$(routes "$NB")" = "fd00:244:1::/64 via $UL6_A dev ul0" ]
	ping6_pods "$ipa" "$ipb"
	# a second pod on a: the digest matches, the route stays as it is
	add_on host-gw "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ "$(routes "$HOST")" = "fd00:244:2::/64 via $UL6_B dev ul0" ]
	cc=$(with_prev "$(mn_conf6 host-gw a)" "$res")
	run run_plugin CHECK host-gw "$cc"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	ip -n "$HOST" -6 route del fd00:244:2::/64
	run run_plugin CHECK host-gw "$cc"
	expect_code 100 'node "node-b": route fd00:244:2::/64 via fd77::2 proto 0x57 is missing'
}

@test "host-gw IPv6: reconcile on peer add/change/remove; a pod's DEL leaves node state" {
	add_on host-gw "$HOST" a ctr1 "/run/netns/$CTR"
	mn_peers6 "$DATA/peers.json" a b c
	add_on host-gw "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ "$(routes "$HOST")" = "$(printf 'fd00:244:2::/64 via fd77::2 dev ul0\nfd00:244:3::/64 via fd77::3 dev ul0')" ]
	# b changes its pod CIDR, c leaves
	jq '.items |= map(select(.metadata.name != "node-c")) | .items[1].spec.podCIDR = "fd00:244:20::/64"' \
		"$DATA/peers.json" >"$DATA/p2.json"
	mv "$DATA/p2.json" "$DATA/peers.json"
	add_on host-gw "$HOST" a ctr3 "/run/netns/$(weft_netns_add p3)"
	[ "$(routes "$HOST")" = "fd00:244:20::/64 via fd77::2 dev ul0" ]
	applied_peers "$DATA/state-a/mnet" |
		jq -e '. == [{name: "node-b", nodeIP: "fd77::2", podCIDR: "fd00:244:20::/64"}]'
	for c in ctr1 ctr2 ctr3; do
		run run_plugin DEL host-gw "$(mn_conf6 host-gw a)" $c
		[ "$status" -eq 0 ]
		run run_plugin DEL host-gw "$(mn_conf6 host-gw a)" $c
		[ "$status" -eq 0 ]
	done
	[ "$(routes "$HOST")" = "fd00:244:20::/64 via fd77::2 dev ul0" ]
	no_pod_left
}

@test "host-gw IPv6: bad peers are code 7 naming them, and nothing is left" {
	jq '.items[1].spec.podCIDR = "fd00:244::/32"' "$DATA/peers.json" >"$DATA/bad1.json"
	run run_plugin ADD host-gw "$(mn_conf6 host-gw a "{\"peersFile\":\"$DATA/bad1.json\"}")"
	expect_code 7 'overlaps podCIDR fd00:244::/32 of node "node-b"'
	run run_plugin ADD host-gw "$(mn_conf6 host-gw a '{"ipam":{"ranges":[[{"subnet":"fd00:245::/64"}]]}}')"
	expect_code 7 'does not contain the local range fd00:245::/64'
	# not on-link: reached through a router
	ip -n "$HOST" -6 route add fd99::/64 via $UL6_B
	jq '.items[1].status.addresses[1].address = "fd99::5"' "$DATA/peers.json" >"$DATA/bad2.json"
	run run_plugin ADD host-gw "$(mn_conf6 host-gw a "{\"peersFile\":\"$DATA/bad2.json\"}")"
	expect_code 7 'node "node-b": nodeIP fd99::5 is not on-link \(the route to it goes via fd77::2\)'
	# an IPv4 node IP for an IPv6 pod CIDR: host-gw cannot route one family via the other
	jq '.items[1].status.addresses[1].address = "192.168.77.2"' "$DATA/peers.json" >"$DATA/bad3.json"
	run run_plugin ADD host-gw "$(mn_conf6 host-gw a "{\"peersFile\":\"$DATA/bad3.json\"}")"
	expect_code 7 'node "node-b": nodeIP 192.168.77.2 and podCIDR are of different families'
	# two nodes with one IPv6 address, spelled differently
	jq '.items[1].status.addresses[1].address = "fd77:0::1"' "$DATA/peers.json" >"$DATA/bad4.json"
	run run_plugin ADD host-gw "$(mn_conf6 host-gw a "{\"peersFile\":\"$DATA/bad4.json\"}")"
	expect_code 7 'nodes "node-a" and "node-b" have the same nodeIP fd77::1'
	no_pod_left
	[ -z "$(routes "$HOST")" ]
}

vx() { # vx LETTER [JQ]: a vxlan config (vni 42) for node LETTER
	mn_conf6 vxlan "$1" "$(jq -cn --argjson x "${2:-{\}}" '{vni: 42} * $x')"
}

vdev() { # vdev NS
	ip -n "$1" -d -j link show weft.42 | jq '.[0]'
}

# peer_entries NS POD-NET-ADDR NODEIP: "neigh fdb route" counts for one peer
peer_entries() {
	local n f r
	n=$(ip -n "$1" -6 -j neigh show dev weft.42 nud permanent | jq --arg a "$2" '[.[] | select(.dst == $a)] | length')
	f=$(bridge -n "$1" -j fdb show dev weft.42 | jq --arg d "$3" '[.[] | select(.dst == $d)] | length')
	r=$(ip -n "$1" -6 -j route show dev weft.42 proto 0x57 | jq --arg a "$2" '[.[] | select(.gateway == $a)] | length')
	echo "$n $f $r"
}

@test "vxlan IPv6: device over an IPv6 underlay, one neigh/fdb/route per peer, ping -6, MTU" {
	add_on vxlan "$HOST" a ctr1 "/run/netns/$CTR" '{"vni":42}'
	ipa=$(pod_ip "$output")
	res=$output
	d=$(vdev "$HOST")
	jq -e '.linkinfo.info_kind == "vxlan" and .linkinfo.info_data.id == 42
		and .linkinfo.info_data.local6 == "fd77::1" and .linkinfo.info_data.link == "ul0"
		and .linkinfo.info_data.port == 4789 and .linkinfo.info_data.learning == false
		and .linkinfo.info_data.udp_zero_csum6_tx == true and .mtu == 1430' <<<"$d"
	[ "$(ip -n "$CTR" -j link show eth0 | jq '.[0].mtu')" = 1430 ]
	ip -n "$HOST" -j addr show dev weft.42 | jq -e '.[0].addr_info[] | select(.local == "fd00:244:1::" and .prefixlen == 128)'
	[ "$(peer_entries "$HOST" fd00:244:2:: $UL6_B)" = "1 1 1" ]
	ip -n "$HOST" -6 -j route show dev weft.42 proto 0x57 |
		jq -e '.[0].dst == "fd00:244:2::/64" and .[0].gateway == "fd00:244:2::" and (.[0].flags | index("onlink"))'
	add_on vxlan "$NB" b podb "/run/netns/$PB" '{"vni":42}'
	ipb=$(pod_ip "$output")
	# b's neighbour for a carries a's actual VTEP MAC
	[ "$(ip -n "$NB" -6 -j neigh show dev weft.42 nud permanent | jq -r '.[0].lladdr')" = "$(jq -r .address <<<"$d")" ]
	ping6_pods "$ipa" "$ipb"
	# the largest packet at the pod MTU: 1430 - 40 (IPv6) - 8 (ICMPv6)
	ip netns exec "$CTR" ping -6 -c1 -W2 -M do -s 1382 "$ipb"
	# a second ADD verifies the IPv6 device (local6, zero checksums) and reuses it
	add_on vxlan "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)" '{"vni":42}'
	run run_plugin CHECK vxlan "$(with_prev "$(vx a)" "$res")"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	mac=$(ip -n "$HOST" -6 -j neigh show dev weft.42 nud permanent | jq -r '.[0].lladdr')
	bridge -n "$HOST" fdb del "$mac" dev weft.42 dst $UL6_B self
	run run_plugin CHECK vxlan "$(with_prev "$(vx a)" "$res")"
	expect_code 100 "node \"node-b\": fdb entry $mac dst fd77::2 on weft.42 is missing"
}

@test "vxlan IPv6: reconcile on peer add/remove; DEL leaves node state; udpChecksum" {
	add_on vxlan "$HOST" a ctr1 "/run/netns/$CTR" '{"vni":42,"udpChecksum":true}'
	vdev "$HOST" | jq -e '(.linkinfo.info_data.udp_zero_csum6_tx // false) == false'
	mn_peers6 "$DATA/peers.json" a b c
	add_on vxlan "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)" '{"vni":42,"udpChecksum":true}'
	[ "$(peer_entries "$HOST" fd00:244:3:: fd77::3)" = "1 1 1" ]
	[ "$(peer_entries "$HOST" fd00:244:2:: $UL6_B)" = "1 1 1" ]
	mn_peers6 "$DATA/peers.json" a c
	add_on vxlan "$HOST" a ctr3 "/run/netns/$(weft_netns_add p3)" '{"vni":42,"udpChecksum":true}'
	[ "$(peer_entries "$HOST" fd00:244:3:: fd77::3)" = "1 1 1" ]
	[ "$(peer_entries "$HOST" fd00:244:2:: $UL6_B)" = "0 0 0" ]
	# the device was made with checksums: a config without them is refused, naming it
	run run_plugin ADD vxlan "$(vx a)" ctr4 eth0 "/run/netns/$(weft_netns_add p4)"
	expect_code 7 'udpChecksum'
	for c in ctr1 ctr2 ctr3; do
		run run_plugin DEL vxlan "$(vx a '{"udpChecksum":true}')" $c
		[ "$status" -eq 0 ]
	done
	vdev "$HOST" | jq -e '.ifname == "weft.42"'
	[ "$(peer_entries "$HOST" fd00:244:3:: fd77::3)" = "1 1 1" ]
}

@test "vxlan IPv6: bad peers and a device with another local address are code 7" {
	# an IPv4 node among IPv6 ones: not of this node's underlay family
	jq '.items[1].status.addresses[1].address = "192.168.77.2"' "$DATA/peers.json" >"$DATA/bad1.json"
	run run_plugin ADD vxlan "$(vx a "{\"peersFile\":\"$DATA/bad1.json\"}")"
	expect_code 7 'node "node-b": nodeIP 192.168.77.2 is not of this node.s underlay family'
	# this node's IPv6 node IP is not an address here
	jq '.items[0].status.addresses[1].address = "fd77::9"' "$DATA/peers.json" >"$DATA/bad2.json"
	run run_plugin ADD vxlan "$(vx a "{\"peersFile\":\"$DATA/bad2.json\"}")"
	expect_code 7 'nodeIP fd77::9 of this node \("node-a"\) is not an address here'
	# (the refused ADDs above made the device: a node-level object, kept)
	ip -n "$HOST" link del weft.42
	ip -n "$HOST" addr add fd77::7/64 dev ul0 nodad
	ip -n "$HOST" link add weft.42 type vxlan id 42 dstport 4789 local fd77::7 dev ul0 nolearning
	run run_plugin ADD vxlan "$(vx a)"
	expect_code 7 'exists with local address fd77::7, the config wants fd77::1'
	no_pod_left
}

@test "vxlan IPv6: this node not listed: the IPv6 address of underlayInterface, or of the route" {
	ip -n "$HOST" addr add 192.168.77.1/24 dev ul0
	mn_peers6 "$DATA/peers.json" b
	# underlayInterface holds both families: the peers' one is taken
	add_on vxlan "$HOST" a ctr1 "/run/netns/$CTR" '{"vni":42,"underlayInterface":"ul0"}'
	vdev "$HOST" | jq -e '.linkinfo.info_data.local6 == "fd77::1" and .mtu == 1430'
	[ "$(peer_entries "$HOST" fd00:244:2:: $UL6_B)" = "1 1 1" ]
	# without it, the source of the route to the first peer: the same device verifies
	add_on vxlan "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)" '{"vni":42}'
	vdev "$HOST" | jq -e '.linkinfo.info_data.local6 == "fd77::1"'
}

@test "vxlan: IPv6 pods over an IPv4 underlay" {
	ip -n "$HOST" addr add 192.168.77.1/24 dev ul0
	ip -n "$NB" addr add 192.168.77.2/24 dev ul0
	mn_peers "$DATA/peers.json" a b
	jq '.items[].spec.podCIDR |= null | .items[0].spec.podCIDRs = ["fd00:244:1::/64"]
		| .items[1].spec.podCIDRs = ["fd00:244:2::/64"]' "$DATA/peers.json" >"$DATA/p.json"
	mv "$DATA/p.json" "$DATA/peers.json"
	add_on vxlan "$HOST" a ctr1 "/run/netns/$CTR" '{"vni":42}'
	ipa=$(pod_ip "$output")
	vdev "$HOST" | jq -e '.linkinfo.info_data.local == "192.168.77.1" and .mtu == 1450'
	[ "$(peer_entries "$HOST" fd00:244:2:: 192.168.77.2)" = "1 1 1" ]
	add_on vxlan "$NB" b podb "/run/netns/$PB" '{"vni":42}'
	ping6_pods "$ipa" "$(pod_ip "$output")"
}

@test "dual-stack: one pod CIDR per node; an IPv4 + IPv6 IPAM on a listed node is code 7" {
	# A NodeList's spec.podCIDRs [v4, v6]: the peer list keeps the first (spec.podCIDR)
	jq '.items[].spec |= (.podCIDRs = [(.podCIDR | sub("fd00:244:(?<n>[0-9]+)::/64"; "10.244.\(.n).0/24")), .podCIDR]
		| .podCIDR = .podCIDRs[0])' "$DATA/peers.json" >"$DATA/ds.json"
	c=$(mn_conf6 host-gw a "{\"peersFile\":\"$DATA/ds.json\"}" |
		jq -c '.ipam.ranges = [[{subnet: "10.244.1.0/24"}], [{subnet: "fd00:244:1::/64"}]]')
	run run_plugin ADD host-gw "$c"
	expect_code 7 'podCIDR 10.244.1.0/24 of this node \("node-a"\) does not contain the local range fd00:244:1::/64 \(one pod CIDR per node: dual-stack is not supported\)'
	run run_plugin ADD vxlan "$(jq -c '.type = "vxlan"' <<<"$c")"
	expect_code 7 'dual-stack is not supported'
	no_pod_left
}

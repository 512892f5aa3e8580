#!/usr/bin/env bats
# vxlan between two throwaway "nodes" (netns joined by an underlay veth), each with a pod.

load helpers
load multinode

setup() {
	weft_setup
	mn_setup
	mn_peers "$DATA/peers.json" a b
}

teardown() {
	weft_teardown
}

conf() { # conf NODE [JQ-OBJECT]
	mn_conf vxlan "$1" "$(jq -cn --argjson x "${2:-{\}}" '{vni: 42} * $x')"
}

add_on() { # add_on NODE-NS LETTER CID NETNS [JQ]
	run on_node "$1" run_plugin ADD vxlan "$(conf "$2" "${5:-{\}}")" "$3" eth0 "$4"
	[ "$status" -eq 0 ] || fail "ADD on $2: $output $(plugin_stderr)"
}

dev() { # dev NS: the device as ip -d -j shows it
	ip -n "$1" -d -j link show weft.42 | jq '.[0]'
}

# peer_entries NS DST-NODEIP: "neigh fdb route" counts for one peer
peer_entries() {
	local n f r
	n=$(ip -n "$1" -j neigh show dev weft.42 nud permanent | jq length)
	f=$(bridge -n "$1" -j fdb show dev weft.42 | jq --arg d "$2" '[.[] | select(.dst == $d)] | length')
	r=$(ip -n "$1" -j route show dev weft.42 proto 0x57 | jq length)
	echo "$n $f $r"
}

@test "vxlan: runtimeConfig.ipRanges is the local range the peers are checked against" {
	ranges() { conf a "{\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"$1\"}]]}}" | jq -c 'del(.ipam.subnet)'; }
	run run_plugin ADD vxlan "$(ranges 10.245.0.0/24)" ctr1 eth0 "/run/netns/$CTR"
	expect_code 7 'does not contain the local range 10.245.0.0/24'
	[ -z "$(ip -n "$HOST" -j link show type veth | jq -r '.[] | select(.ifname | startswith("veth")) | .ifname')" ]
	run run_plugin ADD vxlan "$(ranges 10.244.1.128/25)" ctr1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ] || fail "ADD: $output $(plugin_stderr)"
	[[ "$(pod_ip "$output")" == 10.244.1.1[2-9]* ]]
	[ "$(peer_entries "$HOST" "$UL_B")" = "1 1 1" ]
}

@test "vxlan: device parameters, one neigh/fdb/route per peer, cross-node ping, pod MTU" {
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	ipa=$(pod_ip "$output")
	d=$(dev "$HOST")
	jq -e '.linkinfo.info_kind == "vxlan" and .linkinfo.info_data.id == 42
		and .linkinfo.info_data.port == 4789 and .linkinfo.info_data.local == "192.168.77.1"
		and .linkinfo.info_data.learning == false and .linkinfo.info_data.link == "ul0"
		and (.linkinfo.info_data.udp_csum // false) == false and .mtu == 1450' <<<"$d"
	[ "$(ip -n "$CTR" -j link show eth0 | jq '.[0].mtu')" = 1450 ]
	ip -n "$HOST" -j addr show dev weft.42 | jq -e '.[0].addr_info[] | select(.local == "10.244.1.0" and .prefixlen == 32)'
	[ "$(peer_entries "$HOST" $UL_B)" = "1 1 1" ]
	ip -n "$HOST" -j route show dev weft.42 proto 0x57 | jq -e '.[0].dst == "10.244.2.0/24" and .[0].gateway == "10.244.2.0" and (.[0].flags | index("onlink"))'
	add_on "$NB" b podb "/run/netns/$PB"
	ipb=$(pod_ip "$output")
	# b's neighbour entry for a carries a's actual VTEP MAC: derived from the list alone
	[ "$(ip -n "$NB" -j neigh show dev weft.42 | jq -r '.[0].lladdr')" = "$(jq -r .address <<<"$d")" ]
	ip netns exec "$CTR" ping -c1 -W2 "$ipb"
	ip netns exec "$PB" ping -c1 -W2 "$ipa"
	ip netns exec "$HOST" ping -c1 -W2 "$ipb"
	# large packets pass at the pod MTU without fragmentation
	ip netns exec "$CTR" ping -c1 -W2 -M do -s 1422 "$ipb"
}

@test "vxlan: restart keeps the VTEP MAC; a deleted device is rebuilt with its entries" {
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	mac=$(dev "$HOST" | jq -r .address)
	# "reboot": device and /run state gone
	ip -n "$HOST" link del weft.42
	rm -rf "$DATA/state-a"
	add_on "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ "$(dev "$HOST" | jq -r .address)" = "$mac" ]
	[ "$(peer_entries "$HOST" $UL_B)" = "1 1 1" ]
	# device deleted under a kept state dir: the new ifindex changes the digest
	ip -n "$HOST" link del weft.42
	add_on "$HOST" a ctr3 "/run/netns/$(weft_netns_add p3)"
	[ "$(dev "$HOST" | jq -r .address)" = "$mac" ]
	[ "$(peer_entries "$HOST" $UL_B)" = "1 1 1" ]
}

@test "vxlan: reconcile on peer add/remove; DEL leaves node state" {
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	mn_peers "$DATA/peers.json" a b c
	add_on "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ "$(peer_entries "$HOST" 192.168.77.3)" = "2 1 2" ]
	[ "$(peer_entries "$HOST" $UL_B)" = "2 1 2" ]
	mn_peers "$DATA/peers.json" a c
	add_on "$HOST" a ctr3 "/run/netns/$(weft_netns_add p3)"
	[ "$(peer_entries "$HOST" 192.168.77.3)" = "1 1 1" ]
	[ "$(peer_entries "$HOST" $UL_B)" = "1 0 1" ]
	ip -n "$HOST" -j route show dev weft.42 proto 0x57 | jq -e '.[0].dst == "10.244.3.0/24"'
	for c in ctr1 ctr2 ctr3; do
		run run_plugin DEL vxlan "$(conf a)" $c
		[ "$status" -eq 0 ]
	done
	dev "$HOST" | jq -e '.ifname == "weft.42"'
	[ "$(peer_entries "$HOST" 192.168.77.3)" = "1 1 1" ]
}

@test "vxlan: an existing device with other parameters is code 7 naming the parameter" {
	ip -n "$HOST" link add weft.42 type vxlan id 43 dstport 4789 local $UL_A dev ul0 nolearning
	run run_plugin ADD vxlan "$(conf a)"
	expect_code 7 'exists with vni 43'
	ip -n "$HOST" link del weft.42
	ip -n "$HOST" link add weft.42 type vxlan id 42 dstport 8472 local $UL_A dev ul0 nolearning
	run run_plugin ADD vxlan "$(conf a)"
	expect_code 7 'exists with port 8472'
	ip -n "$HOST" link del weft.42
	ip -n "$HOST" link add weft.42 type bridge
	run run_plugin ADD vxlan "$(conf a)"
	expect_code 7 'not a vxlan device'
	# nothing of the pod was made
	[ "$(ip -n "$HOST" -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length')" = 0 ]
}

@test "vxlan: bad config: this node's nodeIP not local, bad vni, udpChecksum set at creation" {
	jq '.items[0].status.addresses[1].address = "192.168.77.9"' "$DATA/peers.json" >"$DATA/p9.json"
	run run_plugin ADD vxlan "$(conf a "{\"peersFile\":\"$DATA/p9.json\"}")"
	expect_code 7 'nodeIP 192.168.77.9 of this node \("node-a"\) is not an address here'
	run run_plugin ADD vxlan "$(conf a '{"vni":16777216}')"
	expect_code 7 'vni'
	add_on "$HOST" a ctr1 "/run/netns/$CTR" '{"udpChecksum":true,"port":4790,"vxlanDevice":"wx0"}'
	ip -n "$HOST" -d -j link show wx0 | jq -e '.[0].linkinfo.info_data.udp_csum == true and .[0].linkinfo.info_data.port == 4790'
	run run_plugin ADD vxlan "$(conf a '{"udpChecksum":false,"vxlanDevice":"wx0","port":4790}')" ctr2 eth0 "/run/netns/$(weft_netns_add p2)"
	expect_code 7 'udpChecksum'
}

with_prev() { # with_prev CONF RESULT: CONF with prevResult, for CHECK
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

@test "vxlan: CHECK verifies the device and each applied peer's neigh, fdb and route" {
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	cc=$(with_prev "$(conf a)" "$output")
	run run_plugin CHECK vxlan "$cc"
	[ "$status" -eq 0 ] || fail "CHECK: $output $(plugin_stderr)"
	rm "$DATA/peers.json" # not needed: applied.json is what was made
	run run_plugin CHECK vxlan "$cc"
	[ "$status" -eq 0 ] || fail "CHECK without peers file: $output"
	mac=$(ip -n "$HOST" -j neigh show dev weft.42 | jq -r '.[0].lladdr')
	# an FDB entry gone: code 100 naming the peer and the entry
	bridge -n "$HOST" fdb del "$mac" dev weft.42 dst $UL_B self
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 "node \"node-b\": fdb entry $mac dst $UL_B on weft.42 is missing"
	bridge -n "$HOST" fdb append "$mac" dev weft.42 dst 192.168.77.9 self permanent
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 "fdb entry $mac dst $UL_B"
	bridge -n "$HOST" fdb replace "$mac" dev weft.42 dst $UL_B self permanent
	run run_plugin CHECK vxlan "$cc"
	[ "$status" -eq 0 ] || fail "CHECK after repair: $output"
	# the route, then the neighbour
	ip -n "$HOST" route del 10.244.2.0/24 dev weft.42
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 'node "node-b": route 10.244.2.0/24 dev weft.42 proto 0x57 is missing'
	ip -n "$HOST" neigh del 10.244.2.0 dev weft.42
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 "node \"node-b\": neighbour 10.244.2.0 lladdr $mac permanent on weft.42 is missing"
}

@test "vxlan: CHECK names a device that changed or vanished; no applied.json checks the device only" {
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	cc=$(with_prev "$(conf a)" "$output")
	ip -n "$HOST" link set weft.42 mtu 1400
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 'vxlan device "weft.42" exists with mtu 1400, the config wants 1450'
	ip -n "$HOST" link set weft.42 mtu 1450 down
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 'vxlan device "weft.42" is down'
	ip -n "$HOST" link set weft.42 up
	ip -n "$HOST" link set weft.42 address 02:00:00:00:00:01
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 'exists with VTEP MAC 02:00:00:00:00:01'
	ip -n "$HOST" link del weft.42
	run run_plugin CHECK vxlan "$cc"
	expect_code 100 'vxlan device "weft.42" is missing'
	# recreated by the next ADD (new ifindex, new entries): CHECK passes again
	add_on "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	run run_plugin CHECK vxlan "$cc"
	[ "$status" -eq 0 ] || fail "CHECK after rebuild: $output"
	# applied.json lost: the entries are not checked (a log line), the device still is
	rm "$DATA/state-a/mnet/applied.json"
	ip -n "$HOST" route del 10.244.2.0/24 dev weft.42
	run run_plugin CHECK vxlan "$cc"
	[ "$status" -eq 0 ] || fail "CHECK without applied.json: $output"
	plugin_stderr | grep -q 'applied.json is missing (never reconciled, or lost)'
}

@test "vxlan: applied.json lost: the next reconcile sweeps the entries of vanished peers only" {
	mn_peers "$DATA/peers.json" a b c
	add_on "$HOST" a ctr1 "/run/netns/$CTR"
	[ "$(peer_entries "$HOST" 192.168.77.3)" = "2 1 2" ]
	# something not on weft's device is never swept
	ip -n "$HOST" neigh add 192.168.77.50 lladdr 02:00:00:00:00:50 dev ul0 nud permanent
	ip -n "$HOST" route add 10.99.0.0/16 via $UL_B proto 0x57
	# state lost, and node c leaves meanwhile
	rm -rf "$DATA/state-a"
	mn_peers "$DATA/peers.json" a b
	add_on "$HOST" a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ "$(peer_entries "$HOST" 192.168.77.3)" = "1 0 1" ]
	[ "$(peer_entries "$HOST" $UL_B)" = "1 1 1" ]
	ip -n "$HOST" -j route show dev weft.42 proto 0x57 | jq -e '.[0].dst == "10.244.2.0/24"'
	ip -n "$HOST" -j neigh show dev ul0 | jq -e 'any(.[]; .dst == "192.168.77.50")'
	ip -n "$HOST" -j route show 10.99.0.0/16 | jq -e 'length == 1'
}

#!/usr/bin/env bats
# host-gw between two throwaway "nodes" (netns joined by an underlay veth), each with a pod.

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

add_a() { # add_a CID NETNS [CONF]
	run run_plugin ADD host-gw "${3:-$(mn_conf host-gw a)}" "$1" eth0 "$2"
	[ "$status" -eq 0 ] || fail "ADD on a: $output $(plugin_stderr)"
}

routes() { # routes NS: weft's node routes as "dst via gw dev"
	ip -n "$1" -j route show proto 0x57 | jq -r '.[] | "\(.dst) via \(.gateway) dev \(.dev)"' | sort
}

@test "host-gw: one route per peer, cross-node pod ping" {
	add_a ctr1 "/run/netns/$CTR"
	ipa=$(pod_ip "$output")
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
	run on_node "$NB" run_plugin ADD host-gw "$(mn_conf host-gw b)" podb eth0 "/run/netns/$PB"
	[ "$status" -eq 0 ] || fail "ADD on b: $output $(plugin_stderr)"
	ipb=$(pod_ip "$output")
	[[ $ipb == 10.244.2.* ]]
	[ "$(routes "$NB")" = "10.244.1.0/24 via $UL_A dev ul0" ]
	ip netns exec "$CTR" ping -c1 -W2 "$ipb"
	ip netns exec "$PB" ping -c1 -W2 "$ipa"
	# the node itself reaches the remote pod too
	ip netns exec "$HOST" ping -c1 -W2 "$ipb"
}

@test "host-gw: reconcile on peer add/remove; unchanged peers untouched; digest skips" {
	add_a ctr1 "/run/netns/$CTR"
	[ -s "$DATA/state-a/mnet/digest" ]
	# Same set: nothing is reconciled (the route removed by hand stays away) ...
	ip -n "$HOST" route del 10.244.2.0/24
	add_a ctr2 "/run/netns/$(weft_netns_add p2)"
	[ -z "$(routes "$HOST")" ]
	# ... a new peer: its route appears, b's (unchanged) is not touched, so still absent.
	mn_peers "$DATA/peers.json" a b c
	add_a ctr3 "/run/netns/$(weft_netns_add p3)"
	[ "$(routes "$HOST")" = "10.244.3.0/24 via 192.168.77.3 dev ul0" ]
	# b changes its pod CIDR: removed and added; c vanishes: its route goes.
	ip -n "$HOST" route add 10.244.2.0/24 via $UL_B proto 0x57
	jq '.items |= map(select(.metadata.name != "node-c"))
		| .items[1].spec.podCIDR = "10.244.20.0/24"' "$DATA/peers.json" >"$DATA/p2.json"
	mv "$DATA/p2.json" "$DATA/peers.json"
	add_a ctr4 "/run/netns/$(weft_netns_add p4)"
	[ "$(routes "$HOST")" = "10.244.20.0/24 via $UL_B dev ul0" ]
	applied_peers "$DATA/state-a/mnet" | jq -e 'length == 1 and .[0].podCIDR == "10.244.20.0/24"'
}

@test "host-gw: applied state lost: with clusterCIDR the next reconcile sweeps vanished peers' routes, inside it only" {
	mn_peers "$DATA/peers.json" a b c
	cc='{"clusterCIDR":"10.244.0.0/16"}'
	add_a ctr1 "/run/netns/$CTR" "$(mn_conf host-gw a "$cc")"
	[ "$(routes "$HOST" | wc -l)" = 2 ]
	# proto 0x57 outside clusterCIDR, and another protocol inside it: never ours to sweep
	ip -n "$HOST" route add 10.99.0.0/16 via $UL_B proto 0x57
	ip -n "$HOST" route add 10.244.9.0/24 via $UL_B proto static
	# the state is lost, and node c leaves meanwhile
	rm -rf "$DATA/state-a"
	mn_peers "$DATA/peers.json" a b
	add_a ctr2 "/run/netns/$(weft_netns_add p2)" "$(mn_conf host-gw a "$cc")"
	[ "$(routes "$HOST")" = "$(printf '10.244.2.0/24 via %s dev ul0\n10.99.0.0/16 via %s dev ul0' "$UL_B" "$UL_B")" ]
	ip -n "$HOST" -j route show 10.244.9.0/24 | jq -e 'length == 1'
	plugin_stderr | grep -q 'removed route 10.244.3.0/24 via 192.168.77.3 proto 0x57'
	# without clusterCIDR nothing says which routes are this network's: no sweep
	ip -n "$HOST" route add 10.244.7.0/24 via $UL_B proto 0x57
	rm -rf "$DATA/state-a"
	add_a ctr3 "/run/netns/$(weft_netns_add p3)"
	ip -n "$HOST" -j route show 10.244.7.0/24 | jq -e 'length == 1'
}

@test "host-gw: a pod's DEL leaves node state; DEL twice succeeds" {
	add_a ctr1 "/run/netns/$CTR"
	run run_plugin DEL host-gw "$(mn_conf host-gw a)" ctr1
	[ "$status" -eq 0 ]
	run run_plugin DEL host-gw "$(mn_conf host-gw a)" ctr1
	[ "$status" -eq 0 ]
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
	[ -s "$DATA/state-a/mnet/digest" ]
	[ "$(ip -n "$HOST" -j link show type veth | jq '[.[] | select(.ifalias // "" | startswith("weft mnet"))] | length')" = 0 ]
	# DEL needs no peers: it works with the peers file gone
	rm "$DATA/peers.json"
	run run_plugin DEL host-gw "$(mn_conf host-gw a)" ctr1
	[ "$status" -eq 0 ]
}

no_pod_left() {
	[ "$(ip -n "$HOST" -j link show type veth | jq '[.[] | select(.ifname | startswith("veth"))] | length')" = 0 ]
	[ "$(find "$DATA" -path '*ipam-a/mnet/10.*' | wc -l)" = 0 ]
}

@test "host-gw: bad peers are code 7 naming them, and nothing is left" {
	# overlapping pod CIDRs
	jq '.items[1].spec.podCIDR = "10.244.0.0/16"' "$DATA/peers.json" >"$DATA/bad1.json"
	run run_plugin ADD host-gw "$(mn_conf host-gw a "{\"peersFile\":\"$DATA/bad1.json\"}")"
	expect_code 7 'overlaps.*node-'
	# this node's podCIDR does not contain its IPAM range
	run run_plugin ADD host-gw "$(mn_conf host-gw a '{"ipam":{"subnet":"10.245.0.0/24"}}')"
	expect_code 7 'does not contain the local range 10.245.0.0/24'
	# a node IP that is not on-link (reached via a gateway)
	ip -n "$HOST" route add 10.50.0.0/16 via $UL_B
	jq '.items[1].status.addresses[1].address = "10.50.0.5"' "$DATA/peers.json" >"$DATA/bad2.json"
	run run_plugin ADD host-gw "$(mn_conf host-gw a "{\"peersFile\":\"$DATA/bad2.json\"}")"
	expect_code 7 'node "node-b": nodeIP 10.50.0.5 is not on-link'
	# unreadable peersFile
	run run_plugin ADD host-gw "$(mn_conf host-gw a "{\"peersFile\":\"$DATA/nope.json\"}")"
	expect_code 7 'nope.json'
	echo '{"items": [' >"$DATA/bad3.json"
	run run_plugin ADD host-gw "$(mn_conf host-gw a "{\"peersFile\":\"$DATA/bad3.json\"}")"
	expect_code 7 'bad3.json'
	# ipMasq needs clusterCIDR
	run run_plugin ADD host-gw "$(mn_conf host-gw a '{"ipMasq":true}')"
	expect_code 7 'clusterCIDR'
	no_pod_left
	[ -z "$(routes "$HOST")" ]
}

@test "host-gw: runtimeConfig.ipRanges is the local range the peers are checked against" {
	# The usual Kubernetes conflist: no subnet in the file, the runtime passes the node's pod
	# CIDR as the ipRanges capability. A range outside this node's podCIDR is refused ...
	ranges() { mn_conf host-gw a "{\"runtimeConfig\":{\"ipRanges\":[[{\"subnet\":\"$1\"}]]}}" | jq -c 'del(.ipam.subnet)'; }
	run run_plugin ADD host-gw "$(ranges 10.245.0.0/24)"
	expect_code 7 'does not contain the local range 10.245.0.0/24'
	no_pod_left
	# ... one overlapping another node's podCIDR too ...
	run run_plugin ADD host-gw "$(ranges 10.244.2.0/25)"
	expect_code 7 '10.244.2.0/25'
	no_pod_left
	# ... and one inside it hands out the address the pod gets.
	add_a ctr1 "/run/netns/$CTR" "$(ranges 10.244.1.128/25)"
	[[ "$(pod_ip "$output")" == 10.244.1.1[2-9]* ]]
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
}

@test "host-gw: ipMasq with clusterCIDR masquerades off-cluster only; inline peers; CHECK" {
	c=$(mn_conf host-gw a '{"ipMasq":true,"clusterCIDR":"10.244.0.0/16","peersFile":null}')
	c=$(jq -c 'del(.peersFile) + {peers: [{name:"node-a",nodeIP:"192.168.77.1",podCIDR:"10.244.1.0/24"},{name:"node-b",nodeIP:"192.168.77.2",podCIDR:"10.244.2.0/24"}]}' <<<"$c")
	add_a ctr1 "/run/netns/$CTR" "$c"
	res=$output
	ip netns exec "$HOST" nft list chain inet weft masq-mnet | grep -q 'ip daddr != 10.244.0.0/16'
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
	run run_plugin CHECK host-gw "$(jq -c --argjson p "$res" '. + {prevResult: $p}' <<<"$c")"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	run run_plugin DEL host-gw "$c"
	[ "$status" -eq 0 ]
	[ "$(ip netns exec "$HOST" nft -j list ruleset | jq '[.nftables[] | select(.rule)] | length')" = 0 ]
}

with_prev() { # with_prev CONF RESULT: CONF with prevResult, for CHECK
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

@test "host-gw: CHECK verifies the node routes applied.json records, without the peers file" {
	c=$(mn_conf host-gw a)
	add_a ctr1 "/run/netns/$CTR" "$c"
	cc=$(with_prev "$c" "$output")
	run run_plugin CHECK host-gw "$cc"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	# the peers file is not needed (applied.json is what was made)
	rm "$DATA/peers.json"
	run run_plugin CHECK host-gw "$cc"
	[ "$status" -eq 0 ] || fail "CHECK without peers file: $output"
	# a peer's route gone: code 100 naming the peer and the route
	ip -n "$HOST" route del 10.244.2.0/24
	run run_plugin CHECK host-gw "$cc"
	expect_code 100 'node "node-b": route 10.244.2.0/24 via 192.168.77.2 proto 0x57 is missing'
	# the same route of another protocol is not weft's
	ip -n "$HOST" route add 10.244.2.0/24 via $UL_B proto static
	run run_plugin CHECK host-gw "$cc"
	expect_code 100 'node "node-b": route 10.244.2.0/24'
	ip -n "$HOST" route replace 10.244.2.0/24 via $UL_B proto 0x57
	run run_plugin CHECK host-gw "$cc"
	[ "$status" -eq 0 ] || fail "CHECK after repair: $output"
	# a reconcile left half done fails CHECK; no applied.json at all is not checked (a log line)
	st=$DATA/state-a/mnet
	jq -c '. + {pending: .peers}' "$st/applied.json" >"$st/a.json" && mv "$st/a.json" "$st/applied.json"
	run run_plugin CHECK host-gw "$cc"
	expect_code 100 'reconcile of the peers was left half done'
	rm "$st/applied.json"
	ip -n "$HOST" route del 10.244.2.0/24
	run run_plugin CHECK host-gw "$cc"
	[ "$status" -eq 0 ] || fail "CHECK without applied.json: $output"
	plugin_stderr | grep -q 'applied.json is missing (never reconciled, or lost): node state not checked'
}

@test "host-gw: changes are records in applied.log, folded into a new base; a kill between records is repaired" {
	st=$DATA/state-a/mnet
	c=$(mn_conf host-gw a)
	add_a ctr1 "/run/netns/$CTR"
	# the first reconcile writes a base and no log
	jq -e '.gen == 1 and (.peers | length) == 1' "$st/applied.json"
	[ ! -e "$st/applied.log" ]
	# one peer more: a pending record then a done one; the base is not rewritten
	mn_peers "$DATA/peers.json" a b c
	p2=$(weft_netns_add p2)
	add_a ctr2 "/run/netns/$p2"
	cc=$(with_prev "$c" "$output")
	[ "$(wc -l <"$st/applied.log")" -eq 2 ]
	jq -se '.[0].pending[0].name == "node-c" and .[1].put[0].name == "node-c"
		and (.[1].del | length) == 0 and (map(.gen) | unique) == [1]' "$st/applied.log"
	jq -e '(.peers | length) == 1' "$st/applied.json"
	[ "$(applied_peers "$st" | jq -c '[.[].name]')" = '["node-b","node-c"]' ]
	run run_plugin CHECK host-gw "$cc" ctr2 eth0 "/run/netns/$p2"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	# killed after a pending record (its route made, no done record): CHECK says so, and the
	# next reconcile removes what no peer wants; a torn last line is skipped
	ip -n "$HOST" route add 10.244.9.0/24 via $UL_B proto 0x57
	printf '{"gen":1,"pending":[{"name":"node-i","nodeIP":"%s","podCIDR":"10.244.9.0/24"}]}\n{"gen":1,"pend' \
		"$UL_B" >>"$st/applied.log"
	run run_plugin CHECK host-gw "$cc" ctr2 eth0 "/run/netns/$p2"
	expect_code 100 'reconcile of the peers was left half done'
	mn_peers "$DATA/peers.json" a b
	run run_plugin DEL host-gw "$c" ctr2 eth0 "/run/netns/$p2"
	add_a ctr3 "/run/netns/$p2"
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
	plugin_stderr | grep -q 'applied.log: a torn record, ignored'
	[ "$(applied_peers "$st" | jq -c '[.[].name]')" = '["node-b"]' ]
	# records pile up until reading them would cost more than the base: a new base, no log
	for i in $(seq 1 30); do
		mn_peers "$DATA/peers.json" a b c
		run run_plugin DEL host-gw "$c" ctr3 eth0 "/run/netns/$p2"
		add_a ctr3 "/run/netns/$p2"
		mn_peers "$DATA/peers.json" a b
		run run_plugin DEL host-gw "$c" ctr3 eth0 "/run/netns/$p2"
		add_a ctr3 "/run/netns/$p2"
	done
	jq -e '.gen > 1' "$st/applied.json"
	[ ! -e "$st/applied.log" ] || [ "$(wc -l <"$st/applied.log")" -lt 60 ]
	[ "$(applied_peers "$st" | jq -c '[.[].name]')" = '["node-b"]' ]
	[ "$(routes "$HOST")" = "10.244.2.0/24 via $UL_B dev ul0" ]
}

#!/usr/bin/env bats
# netlab's multi-node scenarios with 3 nodes: up, verify (all-pairs ping + one iperf3 stream),
# show, down. Everything lives in namespaces netlab names with a unique prefix and removes.

load helpers

setup() {
	weft_require_root
	command -v iperf3 >/dev/null || skip "iperf3 is required"
	NETLAB=$BIN/netlab
	P=wmn$$t${BATS_TEST_NUMBER}
	export NETLAB_NODES=3 NETLAB_PODS=2 NETLAB_IPERF_SECONDS=1
}

teardown() {
	"$NETLAB" down host-gw --prefix "$P" >/dev/null 2>&1 || true
	"$NETLAB" down vxlan --prefix "$P" >/dev/null 2>&1 || true
	! ip netns list | grep -q "^$P-"
}

run_scenario() { # run_scenario NAME
	run "$NETLAB" up "$1" --prefix "$P" --cni-path "$BIN"
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	[ "$(ip netns list | awk '{print $1}' | grep -c "^$P-$1-n[0-9]*p[0-9]*$")" = 6 ]
	run "$NETLAB" verify "$1" --prefix "$P"
	echo "$output"
	[ "$status" -eq 0 ]
	# 3 nodes x 2 pods: each pod pings the 5 others
	[ "$(grep -c 'pings to the other pods answered' <<<"$output")" = 3 ]
	grep -q 'mesh: 30/30 pod-to-pod pings answered' <<<"$output"
	grep -Eq 'ok +iperf3, one TCP stream .*: [0-9.]+ Gbit/s' <<<"$output"
	run "$NETLAB" show "$1" --prefix "$P"
	[ "$status" -eq 0 ]
	[ "$(grep -c '─ node-[0-9] ' <<<"$output")" = 3 ]
	grep -q 'switch' <<<"$output"
	run "$NETLAB" down "$1" --prefix "$P"
	[ "$status" -eq 0 ]
	! ip netns list | grep -q "^$P-"
	[ ! -e "/run/weft/netlab/$P-$1" ]
}

@test "netlab host-gw: 3 nodes x 2 pods, all pairs ping, iperf3 across nodes, clean down" {
	run_scenario host-gw
}

@test "netlab vxlan: 3 nodes x 2 pods, all pairs ping, iperf3 across nodes, clean down" {
	run_scenario vxlan
}

@test "netlab vxlan: verify fails when a node's overlay entries are gone" {
	run "$NETLAB" up vxlan --prefix "$P" --cni-path "$BIN"
	[ "$status" -eq 0 ]
	ip -n "$P-vxlan-n2" link del weft.1
	run "$NETLAB" verify vxlan --prefix "$P"
	[ "$status" -ne 0 ]
	grep -q 'FAIL' <<<"$output"
}

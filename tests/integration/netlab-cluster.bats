#!/usr/bin/env bats
# netlab's cluster scenario: 8 node namespaces, a weft-node each, the Kubernetes API test double
# (tests/kubeapi/kubeapi.py) run by netlab; `netlab run` adds, deletes and moves nodes through
# the API, restarts it and expires the watch, checks all-pairs pings after each step with no
# pod ADD on the other nodes, prints the convergence figures last and removes everything.

load helpers

fail() {
	echo "$*" >&2
	return 1
}

setup() {
	weft_require_root
	command -v python3 >/dev/null || skip "python3 is required"
	command -v openssl >/dev/null || skip "openssl is required"
	NETLAB=$BIN/netlab
	P=wcl$$t${BATS_TEST_NUMBER}
	unset NETLAB_NODES NETLAB_PODS NETLAB_PLUGIN NETLAB_ROUNDS NETLAB_KUBEAPI
}

teardown() {
	"$NETLAB" down cluster --prefix "$P" >/dev/null 2>&1 || true
}

# nothing of the lab is left: netns, processes (found by the lab's paths), files
nothing_left() {
	! ip netns list | grep -q "^$P-" || fail "netns left: $(ip netns list | grep "^$P-")"
	! pgrep -f "/run/weft/netlab/$P-cluster/" >/dev/null || fail "processes left"
	[ ! -e "/run/weft/netlab/$P-cluster" ] || fail "files left"
}

run_cluster() { # run_cluster PLUGIN
	run timeout 170 "$NETLAB" run cluster --prefix "$P" --cni-path "$BIN" --nodes 8 \
		--plugin "$1" --rounds 3
	echo "$output"
	[ "$status" -eq 0 ]
	grep -q '^[0-9]* checks, 0 failed$' <<<"$output"
	# the starting mesh, then one after each of the 5 steps: 8, 9, 8, 8, 8, 8 nodes
	[ "$(grep -c 'mesh: .*pod-to-pod pings answered' <<<"$output")" -eq 6 ]
	grep -q 'mesh: 72/72 pod-to-pod pings answered' <<<"$output" # 9 nodes after the add
	grep -Eq 'ok +no pod ADD on the other nodes \(CNI attachments: 8 before, 9 after\)' <<<"$output"
	grep -Eq 'ok +every agent got 410 and relisted' <<<"$output"
	# the figures are the last line, after the teardown
	tail -n 1 <<<"$output" | grep -Eq '^convergence: add p50 [0-9]+ ms p99 [0-9]+ ms; delete p50 [0-9]+ ms p99 [0-9]+ ms$'
	grep -q "netlab: $P-cluster is down" <<<"$output"
	nothing_left
}

@test "netlab cluster: 8 nodes, host-gw: every API change reaches every node, no pod ADD; clean" {
	run_cluster host-gw
}

@test "netlab cluster: 8 nodes, vxlan: the same over the overlay (FDB entries); clean" {
	run_cluster vxlan
}

@test "netlab cluster: 8 nodes, ebpf: routes and remote map entries from the agent, no pod ADD; clean" {
	command -v bpftool >/dev/null || skip "bpftool is required"
	run_cluster ebpf
	grep -q 'every live node has 8 node routes (proto 0x57) and remote map entries$' <<<"$output"
}

@test "netlab cluster: bad flags are refused with a clear error" {
	run "$NETLAB" run cluster --prefix "$P" --nodes 0
	[ "$status" -eq 2 ]
	grep -q -- "--nodes takes a number from 1 to 32, not '0'" <<<"$output"
	run "$NETLAB" run cluster --prefix "$P" --nodes 33
	[ "$status" -eq 2 ]
	grep -q -- "--nodes takes a number from 1 to 32, not '33'" <<<"$output"
	run "$NETLAB" run cluster --prefix "$P" --plugin bridge
	[ "$status" -ne 0 ]
	grep -q -- "cluster: --plugin is host-gw, vxlan or ebpf, not 'bridge'" <<<"$output"
	run "$NETLAB" run cluster --prefix "$P" --plugin macvlan
	[ "$status" -eq 2 ]
	grep -q -- "--plugin is host-gw, vxlan, ebpf or bridge, not 'macvlan'" <<<"$output"
	run "$NETLAB" run cluster --prefix "$P" --pods 5
	[ "$status" -ne 0 ]
	grep -q -- "--pods 1..4" <<<"$output"
	run "$NETLAB" run cluster --prefix "$P" --kubeapi /nonexistent/kubeapi.py
	[ "$status" -ne 0 ]
	grep -q "no Kubernetes API test double at /nonexistent/kubeapi.py" <<<"$output"
	# the multi-node scenarios keep their own cap
	run "$NETLAB" up host-gw --prefix "$P" --nodes 17
	[ "$status" -ne 0 ]
	nothing_left
}

@test "netlab cluster: a SIGTERM to run mid-way tears everything down" {
	"$NETLAB" run cluster --prefix "$P" --cni-path "$BIN" --nodes 3 >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ip netns list | grep -q "^$P-cluster-n3p1" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid" || true
	grep -q "netlab: $P-cluster is down" "$BATS_TEST_TMPDIR/out"
	nothing_left
}

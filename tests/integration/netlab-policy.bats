#!/usr/bin/env bats
# netlab's policy scenario: tests/policy's 3x3 cluster on a weft plugin, weft-node
# --network-policy on against the Kubernetes API test double, each case's matrix probed (every
# pod to every pod on every port, all at once) and compared with tests/policy/model.py; the
# summary is the last line and nothing is left after the run.

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
	P=wpl$$t${BATS_TEST_NUMBER}
	unset NETLAB_PLUGIN NETLAB_CASES NETLAB_CASES_DIR NETLAB_PROBE_MS
	# the checkout's test double and model, wherever the binaries were built (OUT=)
	export NETLAB_KUBEAPI=$BATS_TEST_DIRNAME/../kubeapi/kubeapi.py
	export NETLAB_POLICY_MODEL=$BATS_TEST_DIRNAME/../policy/model.py
}

teardown() {
	"$NETLAB" down policy --prefix "$P" >/dev/null 2>&1 || true
}

# nothing of the lab is left: netns, processes (found by the lab's paths), files
nothing_left() {
	! ip netns list | grep -q "^$P-" || fail "netns left: $(ip netns list | grep "^$P-")"
	! pgrep -f "/run/weft/netlab/$P-policy/" >/dev/null || fail "processes left"
	[ ! -e "/run/weft/netlab/$P-policy" ] || fail "files left"
}

@test "netlab policy: bad flags are refused with a clear error, nothing made" {
	run "$NETLAB" run policy --prefix "$P" --plugin macvlan
	[ "$status" -eq 2 ]
	grep -q -- "--plugin is host-gw, vxlan, ebpf or bridge, not 'macvlan'" <<<"$output"
	run "$NETLAB" run policy --prefix "$P" --plugin host-gw
	[ "$status" -ne 0 ]
	grep -q -- "policy: --plugin is bridge, vxlan or ebpf, not 'host-gw'" <<<"$output"
	run "$NETLAB" run policy --prefix "$P" --case no-such-case
	[ "$status" -ne 0 ]
	grep -q "policy: unknown case 'no-such-case'" <<<"$output"
	run "$NETLAB" run policy --prefix "$P" --case ../cluster
	[ "$status" -eq 2 ]
	grep -q -- "--case takes a case name, not '../cluster'" <<<"$output"
	run "$NETLAB" run policy --prefix "$P" --cases /nonexistent
	[ "$status" -ne 0 ]
	grep -q "policy: no cases directory /nonexistent" <<<"$output"
	NETLAB_POLICY_MODEL=/nonexistent/model.py run "$NETLAB" run policy --prefix "$P"
	[ "$status" -ne 0 ]
	grep -q "no NetworkPolicy model at /nonexistent/model.py" <<<"$output"
	nothing_left
}

# every case of tests/policy/cases on PLUGIN (or the cases named after it): every matrix as the
# model says, nothing left
all_cases() {
	local n c args=()
	n=$(find "$BATS_TEST_DIRNAME/../policy/cases" -name '*.json' | wc -l)
	for c in "${@:2}"; do args+=(--case "$c"); done
	[ $# -eq 1 ] || n=$(($# - 1))
	NETLAB_PROBE_MS=${NETLAB_PROBE_MS:-500} run timeout 600 "$NETLAB" run policy --prefix "$P" \
		--cni-path "$BIN" --plugin "$1" "${args[@]}"
	[ "$status" -eq 0 ] || { echo "$output" | grep -v '^ *ok ' | tail -150; return 1; }
	grep -q '^[0-9]* checks, 0 failed$' <<<"$output"
	grep -Eq 'ok +pod-label-moves-into-peer: relabel pod .*probes as the model says' <<<"$output"
	grep -Eq 'ok +policy-update-and-delete: delete x/.*probes as the model says' <<<"$output"
	# the summary is the last line, after the teardown
	tail -n 1 <<<"$output" | grep -Eq "^policy: $n cases, [0-9]+ probes, 0 mismatches\$"
	grep -q "netlab: $P-policy is down" <<<"$output"
	nothing_left
}

@test "netlab policy: bridge, every case: every matrix as the model says; clean" {
	all_cases bridge
}

@test "netlab policy: ebpf, every case: every matrix as the model says; clean" {
	all_cases ebpf
}

# vxlan: the cases where the node a pod runs on matters (pods of x, y, z on both nodes), within
# the CI's time; all 75 pass too (netlab run policy --plugin vxlan, about 100 s)
@test "netlab policy: vxlan on two nodes, the cross-node cases: every matrix as the model says; clean" {
	all_cases vxlan deny-all-ingress-namespace allow-from-namespace-selector \
		pod-label-moves-into-peer policy-update-and-delete node-traffic-to-own-pods \
		node-ipblock-other-node egress-deny-with-dns-allow named-port-udp \
		ipblock-cidr-except endport-range-tcp
}

@test "netlab policy: a mismatch fails the run, prints the diff and both tables; clean" {
	# a model that disagrees: the real one, with x/b -> x/a 80/TCP flipped to denied
	d=$BATS_TEST_TMPDIR/model
	mkdir -p "$d/cases"
	cp "$BATS_TEST_DIRNAME/../policy/cluster.json" "$d/"
	cp "$BATS_TEST_DIRNAME/../policy/cases/no-policies-all-allowed.json" "$d/cases/"
	cat >"$d/model.py" <<-EOF
		import json, subprocess, sys
		r = subprocess.run([sys.executable, "$NETLAB_POLICY_MODEL"] + sys.argv[1:])
		if sys.argv[1] == "case":
		    out = sys.argv[sys.argv.index("--out") + 1]
		    doc = json.load(open(out))
		    for p in doc["steps"][0]["probes"]:
		        if (p["from"], p["to"], p["port"], p["protocol"]) == ("x/b", "x/a", 80, "TCP"):
		            p["allowed"] = False
		    json.dump(doc, open(out, "w"))
		sys.exit(r.returncode)
	EOF
	NETLAB_POLICY_MODEL=$d/model.py run timeout 120 "$NETLAB" run policy --prefix "$P" \
		--cni-path "$BIN"
	echo "$output"
	[ "$status" -ne 0 ]
	grep -q 'x/b -> x/a 80/TCP IPv4: expected denied, observed allowed' <<<"$output"
	grep -q '1 differing cell(s)' <<<"$output"
	grep -q '^    expected:$' <<<"$output"
	grep -q '^    observed:$' <<<"$output"
	tail -n 1 <<<"$output" | grep -Eq '^policy: 1 cases, [0-9]+ probes, 1 mismatches$'
	nothing_left
}

@test "netlab policy: a SIGTERM to run mid-way tears everything down" {
	"$NETLAB" run policy --prefix "$P" --cni-path "$BIN" >"$BATS_TEST_TMPDIR/out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		grep -q 'ok .*probes as the model says' "$BATS_TEST_TMPDIR/out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid" || true
	grep -q "netlab: $P-policy is down" "$BATS_TEST_TMPDIR/out"
	nothing_left
}

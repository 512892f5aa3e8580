#!/usr/bin/env bats
# netlab: every scenario's `run` (up, verify, show, down), failing verification, teardown
# after a crash and after Ctrl-C, pictures, and labs with different prefixes side by side.
# Every name carries this test's prefix; the teardown removes whatever a failure left.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	weft_require_root
	NETLAB=$BIN/netlab
	P=$WEFT_PREFIX
	DATA=$(mktemp -d /tmp/weft-test.XXXXXX)
	weft_track_path "$DATA"
}

# The scenarios this file runs (their labs are taken down after every test).
SCENARIOS=(veth namespaces cgroups container overlay bridge ebpf)

teardown() {
	local s
	for s in "${SCENARIOS[@]}"; do
		"$NETLAB" down "$s" --prefix "$P" >/dev/null 2>&1 || true
		"$NETLAB" down "$s" --prefix "$P-b" >/dev/null 2>&1 || true
	done
	weft_teardown
}

# Nothing of prefix $1 is left: namespaces, state, mounts in the state dir, nsrun state,
# cgroups, processes. Names are <prefix>-<scenario>-..., matched with the scenario so that
# prefix P does not match the labs of prefix P-b. (`! cmd` alone fails a bats test only as its
# last command: set -e ignores negated commands, hence the `|| return 1`.)
assert_clean() {
	local p=${1:-$P} re
	re="$p-($(
		IFS='|'
		echo "${SCENARIOS[*]}"
	))"
	! ip netns list 2>/dev/null | grep -Eq "^$re-" || return 1
	! ls -d /run/weft/netlab/* 2>/dev/null | grep -Eq "/$re\$" || return 1
	! grep -Eq " /run/weft/netlab/$re/" /proc/mounts || return 1
	! ls -d /run/weft/nsrun/* 2>/dev/null | grep -Eq "/$re" || return 1
	! ls -d /sys/fs/cgroup/*/weft/* /sys/fs/cgroup/weft/* 2>/dev/null | grep -Eq "/weft/$re" ||
		return 1
	! pgrep -f "netlab __overlay /run/weft/netlab/$p-overlay" >/dev/null
}

run_scenario() {
	run "$NETLAB" run "$1" --prefix "$P"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"verify $P-$1:"* ]]
	[[ "$output" =~ [1-9][0-9]*\ checks,\ 0\ failed ]]
	! [[ "$output" == *FAIL* ]]
	[[ "$output" == *"netlab: $P-$1 is down"* ]]
	assert_clean
}

@test "netlab list names every scenario and the exercise it comes from" {
	run "$NETLAB" list
	[ "$status" -eq 0 ]
	for s in veth namespaces cgroups container overlay bridge host-gw vxlan ebpf cluster policy; do
		echo "$output" | grep -q "^$s "
	done
	# every scenario names its origin, as a topic (no file of another repository)
	[ "$(echo "$output" | grep -c '^            from: ')" -eq 11 ]
	[ -z "$(echo "$output" | grep -E 'from: .*\.md')" ]
	echo "$output" | grep -q 'from: the classic exercise: two network namespaces joined by a veth pair'
}

@test "netlab run veth: two namespaces, a veth pair, pings, picture, teardown" {
	run_scenario veth
	[[ "$output" == *"ping $P-veth-ns1 -> 10.0.0.2 answered"* ]]
	[[ "$output" == *"ns1:veth1 ◄── veth ──► ns2:veth2"* ]]
}

@test "netlab run namespaces: seven namespace types isolated (through nsrun)" {
	run_scenario namespaces
	for t in pid net mnt uts ipc user cgroup; do
		[[ "$output" == *"ok    $t "*"namespace"* ]]
	done
	[[ "$output" == *"uid_map '0 100000 65536'"* ]]
}

@test "netlab run cgroups: OOM kill, CPU quota near 50%, fork bomb stopped" {
	run_scenario cgroups
	[[ "$output" == *"memory: touching 96 MiB under a 32 MiB limit was killed"* ]]
	[[ "$output" == *"pids: the fork bomb stopped after"* ]]
}

@test "netlab run container: container from scratch via nsrun, checked from inside" {
	run_scenario container
	[[ "$output" == *"PID 1 inside is the command 'sleep'"* ]]
	[[ "$output" == *"memory limit read inside from /sys/fs/cgroup: 104857600"* ]]
}

@test "netlab run overlay: copy-up, whiteout, opaque directory" {
	run_scenario overlay
	[[ "$output" == *"whiteout in upper (char device 0/0)"* ]]
}

@test "netlab run bridge: containers on the weft bridge plugin, gateway, masquerade" {
	[ -x "$BIN/bridge" ] || skip "weft bridge plugin not built"
	run_scenario bridge
	[[ "$output" == *"ping $P-bridge-c1 -> outside 10.99.0.2"* ]]
	[[ "$output" == *"CNI CHECK $P-bridge-c3 passes"* ]]
	[ "$(echo "$output" | grep -c '◄── veth ──►')" -eq 4 ]
}

@test "netlab run ebpf: pods on the weft ebpf plugin, ARP by the program, counters, iperf3 vs bridge and veth" {
	[ -x "$BIN/ebpf" ] && [ -x "$BIN/bridge" ] || skip "weft ebpf/bridge plugins not built"
	command -v iperf3 >/dev/null || skip "iperf3 is required (apt-get install iperf3)"
	run_scenario ebpf
	[[ "$output" == *"$P-ebpf-c1 eth0 has 10.23.0.2/32 alone"* ]]
	[[ "$output" == *"$P-ebpf-c2 default route via 169.254.1.1"* ]]
	[[ "$output" == *"ok    ping $P-ebpf-c1 -> 10.23.0.3 ($P-ebpf-c2)"* ]]
	[[ "$output" == *"ok    ping $P-ebpf-c3 -> 10.23.0.2 ($P-ebpf-c1)"* ]]
	[[ "$output" == *"ok    ping $P-ebpf-c2 -> outside 10.98.0.2"* ]]
	[[ "$output" == *"ok    $P-ebpf-host has no bridge device (found 0)"* ]]
	grep -Eq "ok +$P-ebpf-c1: neighbour 169\.254\.1\.1 is ([0-9a-f]{2}:){5}[0-9a-f]{2}, the MAC of host veth veth[0-9a-f]{11} " <<<"$output"
	for c in c1 c2 c3; do
		grep -Eq "ok +counters of $P-ebpf-$c: fwd [1-9][0-9]* packets delivered" <<<"$output"
	done
	# the stats table itself, one row per pod
	[ "$(grep -cE '^ +10\.23\.0\.[2-4] +' <<<"$output")" -eq 3 ]
	for path in ebpf veth bridge; do
		grep -Eq "ok +iperf3 ran over the $path path: .*, [0-9.]+ Gbit/s" <<<"$output"
	done
	grep -Eq 'the ebpf stream: .*-c1 fwdPackets \+[1-9][0-9]*' <<<"$output"
	grep -Eq '^  throughput \(one TCP stream, [0-9]+ s, both ends on CPU [0-9]+\): ebpf [0-9.]+ Gbit/s = [0-9.]+x veth, [0-9.]+x bridge; veth [0-9.]+; bridge [0-9.]+$' <<<"$output"
	[[ "$output" == *"pinned (bpffs /run/weft/netlab/$P-ebpf/bpf/$P-ebpf)"* ]]
	[ "$(echo "$output" | grep -c '◄── veth ──►')" -eq 7 ]
	# the lab's bpffs (and with it every pin) is gone
	[ "$(grep -c "$P-ebpf" /proc/mounts)" -eq 0 ]
}

@test "netlab verify fails (exit 1) when the lab is broken, and down still cleans up" {
	run "$NETLAB" up veth --prefix "$P"
	[ "$status" -eq 0 ]
	run "$NETLAB" up veth --prefix "$P"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is already up"* ]]
	ip -n "$P-veth-ns1" link del veth1
	run "$NETLAB" verify veth --prefix "$P"
	[ "$status" -eq 1 ]
	[[ "$output" == *"FAIL  ping $P-veth-ns1 -> 10.0.0.2 answered"* ]]
	run "$NETLAB" down veth --prefix "$P"
	[ "$status" -eq 0 ]
	assert_clean
	run "$NETLAB" verify veth --prefix "$P"
	[ "$status" -eq 1 ]
	[[ "$output" == *"is not up"* ]]
	run "$NETLAB" down veth --prefix "$P"
	[ "$status" -eq 0 ]
}

@test "netlab down tears down from the state file after its processes died (crash)" {
	run "$NETLAB" up namespaces --prefix "$P"
	[ "$status" -eq 0 ]
	state=/run/weft/netlab/$P-namespaces/state.json
	jq -e '.resources[] | select(.kind == "nsrun")' "$state"
	# the lab's nsrun is SIGKILLed: nothing of its own cleanup runs
	kill -9 "$(jq -r '.resources[] | select(.kind == "nsrun") | .pid' "$state")"
	sleep 0.3
	[ -e "/run/weft/nsrun/$P-namespaces/state.json" ]
	run "$NETLAB" down namespaces --prefix "$P"
	[ "$status" -eq 0 ]
	assert_clean
}

@test "netlab run is torn down on Ctrl-C (SIGINT) in the middle" {
	# A background job of a non-interactive shell starts with SIGINT ignored: restore it.
	# The ebpf lab runs for seconds (three iperf3 streams), so the signal lands mid-run.
	env --default-signal=INT "$NETLAB" run ebpf --prefix "$P" >"$DATA/out" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		[ -e "/run/weft/netlab/$P-ebpf/state.json" ] && break
		sleep 0.05
	done
	sleep 1
	kill -INT "$pid"
	st=0
	wait "$pid" || st=$?
	cat "$DATA/out"
	[ "$st" -eq 130 ] # 128 + SIGINT: interrupted, not finished
	grep -q "netlab: $P-ebpf is down" "$DATA/out"
	assert_clean
	! grep -q "$P-ebpf" /proc/mounts
}

@test "netlab show: text, --dot, and --svg/--png through graphviz" {
	run "$NETLAB" up veth --prefix "$P"
	[ "$status" -eq 0 ]
	run "$NETLAB" show veth --prefix "$P"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ns1 (netns $P-veth-ns1)"* ]]
	[[ "$output" == *"veth1  veth  10.0.0.1/24  UP"* ]]
	run "$NETLAB" show veth --prefix "$P" --dot
	[ "$status" -eq 0 ]
	[[ "$output" == "graph netlab {"* ]]
	[[ "$output" == *"subgraph cluster_0"* && "$output" == *' -- '* ]]
	if command -v dot >/dev/null; then
		echo "$output" | dot -Tsvg >/dev/null
		run "$NETLAB" show veth --prefix "$P" --svg "$DATA/t.svg" --png "$DATA/t.png"
		[ "$status" -eq 0 ]
		grep -q '<svg' "$DATA/t.svg"
		[ "$(head -c 4 "$DATA/t.png" | tail -c 3)" = PNG ]
	fi
	"$NETLAB" down veth --prefix "$P"
	assert_clean
}

@test "netlab labs with different prefixes run side by side" {
	"$NETLAB" up veth --prefix "$P" >/dev/null
	"$NETLAB" up veth --prefix "$P-b" >/dev/null
	run "$NETLAB" verify veth --prefix "$P"
	[ "$status" -eq 0 ]
	run "$NETLAB" verify veth --prefix "$P-b"
	[ "$status" -eq 0 ]
	"$NETLAB" down veth --prefix "$P"
	assert_clean "$P"
	ip netns list | grep -q "^$P-b-veth-ns1"
	"$NETLAB" down veth --prefix "$P-b"
	assert_clean "$P-b"
}

@test "netlab: usage errors and the ping helper" {
	run -2 "$NETLAB" run nosuch
	[[ "$output" == *"unknown scenario 'nosuch'"* ]]
	run -2 "$NETLAB" frobnicate veth
	run -1 "$NETLAB" up veth --prefix 'bad/prefix'
	[[ "$output" == *"invalid --prefix"* ]]
	run -2 "$NETLAB" up veth --bogus
	ns=$(weft_netns_add ping)
	ip -n "$ns" addr add 10.5.5.5/32 dev lo
	run -0 "$NETLAB" ping "$ns" 10.5.5.5
	run -1 "$NETLAB" ping "$ns" 10.5.5.6 --timeout 300
}

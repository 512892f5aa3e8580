#!/usr/bin/env bash
# Benchmark (not a test): same-node pod-to-pod TCP throughput and ADD/DEL cost of the weft ebpf
# plugin, side by side with a direct veth pair between two netns and the weft bridge plugin.
#
#   tests/bench/ebpf.sh [BIN_DIR]       (root; BIN_DIR defaults to build/bin)
#   env: REPS (iperf3 rounds, default 5), SECS (-t, default 5), PODS (ADD/DEL pods, default 20)
#
# Everything lives in throwaway netns named wfb<pid>-*, a dataDir and a bpffs mounted on a
# private directory; all of it is removed on exit, whatever happens. The rounds are
# interleaved (veth, ebpf, bridge, veth, ...) so a noisy VM spreads over all three alike.
set -euo pipefail

BIN=$(cd "${1:-$(dirname "$0")/../../build/bin}" && pwd)
REPS=${REPS:-5}
SECS=${SECS:-5}
PODS=${PODS:-20}
P=wfb$$
TMP=$(mktemp -d /tmp/weft-bench.XXXXXX)
PIN=$TMP/pins
NSS=()

[ "$(id -u)" -eq 0 ] || { echo "ebpf.sh: needs root" >&2; exit 1; }
for t in iperf3 jq ip; do
	command -v "$t" >/dev/null || { echo "ebpf.sh: $t missing" >&2; exit 1; }
done
[ -x "$BIN/ebpf" ] || { echo "ebpf.sh: no $BIN/ebpf" >&2; exit 1; }
HAVE_BRIDGE=0
[ -x "$BIN/bridge" ] && HAVE_BRIDGE=1

cleanup() {
	local i
	for ((i = ${#NSS[@]} - 1; i >= 0; i--)); do ip netns del "${NSS[$i]}" 2>/dev/null || true; done
	umount "$PIN" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

ns_add() { # ns_add NAME -> creates $P-NAME
	ip netns add "$P-$1"
	NSS+=("$P-$1")
	ip -n "$P-$1" link set lo up
}

mkdir -p "$PIN"
mount -t bpf bpf "$PIN"

conf() { # conf ebpf|bridge NET SUBNET
	case $1 in
	ebpf) jq -cn --arg n "$2" --arg s "$3" --arg d "$TMP/data" --arg p "$PIN" \
		'{cniVersion:"1.1.0", name:$n, type:"ebpf", pinRoot:$p,
		  ipam:{type:"host-local", dataDir:$d, ranges:[[{subnet:$s}]]}}' ;;
	bridge) jq -cn --arg n "$2" --arg s "$3" --arg d "$TMP/data" \
		'{cniVersion:"1.1.0", name:$n, type:"bridge", bridge:"wbr0", isGateway:true,
		  ipam:{type:"host-local", dataDir:$d, ranges:[[{subnet:$s}]]}}' ;;
	esac
}

plugin() { # plugin CMD TYPE CONF HOSTNS CID NETNS
	printf '%s' "$3" | ip netns exec "$4" env CNI_COMMAND="$1" CNI_CONTAINERID="$5" \
		CNI_IFNAME=eth0 CNI_NETNS="$6" CNI_PATH="$BIN" "$BIN/$2" 2>>"$TMP/stderr"
}

# ---- topologies ----------------------------------------------------------------------------
ns_add va
ns_add vb
ip link add eth0 netns "$P-va" type veth peer name eth0 netns "$P-vb"
ip -n "$P-va" addr add 10.250.0.1/24 dev eth0
ip -n "$P-vb" addr add 10.250.0.2/24 dev eth0
ip -n "$P-va" link set eth0 up
ip -n "$P-vb" link set eth0 up

ns_add eh
ns_add ea
ns_add eb
ECONF=$(conf ebpf wfb-ebpf 10.251.0.0/24)
plugin ADD ebpf "$ECONF" "$P-eh" a "/run/netns/$P-ea" >/dev/null
plugin ADD ebpf "$ECONF" "$P-eh" b "/run/netns/$P-eb" >/dev/null
E_SRV=$(ip -n "$P-eb" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')

if [ "$HAVE_BRIDGE" = 1 ]; then
	ns_add bh
	ns_add ba
	ns_add bb
	BCONF=$(conf bridge wfb-bridge 10.252.0.0/24)
	plugin ADD bridge "$BCONF" "$P-bh" a "/run/netns/$P-ba" >/dev/null
	plugin ADD bridge "$BCONF" "$P-bh" b "/run/netns/$P-bb" >/dev/null
	B_SRV=$(ip -n "$P-bb" -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family=="inet") | .local')
fi

# ---- throughput ------------------------------------------------------------------------------
iperf() { # iperf CLIENT_NS SERVER_NS SERVER_IP -> Gbit/s
	local srv
	# Runs in a $(...) subshell: bounded by timeout instead of the EXIT trap.
	timeout $((SECS + 20)) ip netns exec "$2" iperf3 -s -1 -p 5301 >/dev/null 2>&1 &
	srv=$!
	for _ in $(seq 1 50); do
		ip netns exec "$2" ss -ltn 2>/dev/null | grep -q ':5301 ' && break
		sleep 0.05
	done
	ip netns exec "$1" iperf3 -c "$3" -p 5301 -t "$SECS" -J |
		jq '.end.sum_received.bits_per_second / 1e9'
	wait "$srv" 2>/dev/null || true
}

median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A TP
echo "iperf3, 1 TCP stream, -t $SECS, $REPS interleaved rounds (Gbit/s):"
for r in $(seq 1 "$REPS"); do
	v=$(iperf "$P-va" "$P-vb" 10.250.0.2)
	e=$(iperf "$P-ea" "$P-eb" "$E_SRV")
	b=-
	[ "$HAVE_BRIDGE" = 1 ] && b=$(iperf "$P-ba" "$P-bb" "$B_SRV")
	TP[veth]+="$v "
	TP[ebpf]+="$e "
	TP[bridge]+="$b "
	# Paired ratios (same round, seconds apart) are robust to the VM's slow drifts.
	TP[rv]+="$(awk -v a="$e" -v b="$v" 'BEGIN { print a / b }') "
	[ "$b" = - ] || TP[rb]+="$(awk -v a="$e" -v b="$b" 'BEGIN { print a / b }') "
	printf '  round %d: veth %.2f  ebpf %.2f  bridge %.2f\n' "$r" "$v" "$e" "${b/-/0}"
done
mv=$(tr ' ' '\n' <<<"${TP[veth]}" | grep . | median)
me=$(tr ' ' '\n' <<<"${TP[ebpf]}" | grep . | median)
printf 'median: veth %.2f  ebpf %.2f' "$mv" "$me"
if [ "$HAVE_BRIDGE" = 1 ]; then
	mb=$(tr ' ' '\n' <<<"${TP[bridge]}" | grep . | median)
	printf '  bridge %.2f\n' "$mb"
	awk -v e="$me" -v v="$mv" -v b="$mb" 'BEGIN {
		printf "ratio of medians: ebpf/veth %.3f (target >= 0.95)  ebpf/bridge %.3f (target >= 1.08)\n", e / v, e / b }'
	printf 'median of per-round ratios: ebpf/veth %.3f  ebpf/bridge %.3f\n' \
		"$(tr ' ' '\n' <<<"${TP[rv]}" | grep . | median)" "$(tr ' ' '\n' <<<"${TP[rb]}" | grep . | median)"

else
	echo
	awk -v e="$me" -v v="$mv" 'BEGIN { printf "ratio: ebpf/veth %.3f (target >= 0.95); no bridge plugin\n", e / v }'
fi
# The program's own cost per run, from the kernel's BPF run-time statistics. They are enabled
# through BPF_ENABLE_STATS, which lasts only as long as the returned fd (this python process),
# not through the global kernel.bpf_stats_enabled sysctl.
if command -v python3 >/dev/null; then
	cat >"$TMP/cost.sh" <<-EOS
		ip netns exec $P-ea iperf3 -c $E_SRV -p 5302 -t $SECS >/dev/null
		bpftool prog show pinned $PIN/wfb-ebpf/from_pod_v3_* -j
	EOS
	timeout $((SECS + 20)) ip netns exec "$P-eb" iperf3 -s -1 -p 5302 >/dev/null 2>&1 &
	sleep 0.5
	python3 - "$TMP/cost.sh" <<-'EOP' | jq -r '"from_pod program: \(.run_cnt) runs, \(.run_time_ns / .run_cnt | floor) ns per run (both directions: GSO data skbs and ACKs)"' || true
		import ctypes, os, subprocess, sys
		attr = (ctypes.c_uint8 * 128)()  # bpf_attr.enable_stats.type = BPF_STATS_RUN_TIME (0)
		fd = ctypes.CDLL(None, use_errno=True).syscall(321, 32, ctypes.byref(attr), 128)
		if fd < 0:
		    sys.exit(1)
		subprocess.run(["bash", sys.argv[1]])
		os.close(fd)
	EOP
	wait
fi
stats=$(ip netns exec "$P-eh" "$BIN/ebpf" stats wfb-ebpf --pin-root "$PIN" --json)
echo "ebpf counters of the client pod (fast path proof):" \
	"$(jq -c '.[] | select(.containerID == "a") | {txPackets, fwdPackets, txBytes}' <<<"$stats")"

# ---- ADD/DEL cost ----------------------------------------------------------------------------
now_ms() { date +%s%N | awk '{ printf "%.3f", $1 / 1e6 }'; }

addel() { # addel TYPE CONF HOSTNS -> "add_ms_per_pod del_ms_per_pod"
	local t0 t1 t2
	t0=$(now_ms)
	for i in $(seq 1 "$PODS"); do
		plugin ADD "$1" "$2" "$3" "c$i" "/run/netns/$P-pod$i" >/dev/null
	done
	t1=$(now_ms)
	for i in $(seq 1 "$PODS"); do
		plugin DEL "$1" "$2" "$3" "c$i" "/run/netns/$P-pod$i" >/dev/null
	done
	t2=$(now_ms)
	awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$PODS" 'BEGIN { printf "%.2f %.2f", (b - a) / n, (c - b) / n }'
}

for i in $(seq 1 "$PODS"); do ns_add "pod$i"; done
echo "ADD/DEL cost, $PODS pods per round, 3 interleaved rounds (ms per pod, datapath already loaded):"
declare -A ADD DEL
for r in 1 2 3; do
	read -r a d <<<"$(addel ebpf "$ECONF" "$P-eh")"
	ADD[ebpf]+="$a "
	DEL[ebpf]+="$d "
	line="  round $r: ebpf ADD $a DEL $d"
	if [ "$HAVE_BRIDGE" = 1 ]; then
		read -r a d <<<"$(addel bridge "$BCONF" "$P-bh")"
		ADD[bridge]+="$a "
		DEL[bridge]+="$d "
		line+="  bridge ADD $a DEL $d"
	fi
	echo "$line"
done
ea=$(tr ' ' '\n' <<<"${ADD[ebpf]}" | grep . | median)
ed=$(tr ' ' '\n' <<<"${DEL[ebpf]}" | grep . | median)
if [ "$HAVE_BRIDGE" = 1 ]; then
	ba=$(tr ' ' '\n' <<<"${ADD[bridge]}" | grep . | median)
	bd=$(tr ' ' '\n' <<<"${DEL[bridge]}" | grep . | median)
	awk -v ea="$ea" -v ed="$ed" -v ba="$ba" -v bd="$bd" 'BEGIN {
		printf "median ms/pod: ebpf ADD %.2f DEL %.2f  bridge ADD %.2f DEL %.2f\n", ea, ed, ba, bd
		printf "ratio: ADD %.2f  DEL %.2f  (target <= 1.5)\n", ea / ba, ed / bd }'
else
	echo "median ms/pod: ebpf ADD $ea DEL $ed (no bridge plugin to compare)"
fi
echo "setup: kernel $(uname -r), $(nproc) CPUs, MTU 1500 everywhere, iperf3 $(iperf3 --version | head -1 | awk '{print $2}')"

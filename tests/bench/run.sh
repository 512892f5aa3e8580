#!/usr/bin/env bash
# `make bench`: weft against the reference CNI plugins (Debian's containernetworking-plugins in
# /usr/lib/cni), side by side in one run, in throwaway network namespaces. Benchmarks, never tests:
# every target is reported as met or MISSED, the exit status is 0 unless the
# harness itself broke.
#
#   tests/bench/run.sh [WEFT_BIN_DIR]          (root; default build/bin)
#   env:  ONLY=invocation|scale|datapath|cri|cluster|policy|all   (default all; a comma list works
#                       too; an unknown part is an error naming the known ones)
#         REPS=n        invocation reps (default 30); datapath rounds = min(REPS, 5);
#                       concurrent rounds = min(REPS, 3)
#         PODS=n        sequential pods on one bridge (default 1000);  CONC=n (default 100)
#         SECS=n        iperf3 seconds per measurement (default 5)
#         DP_CPU=n      the CPU both ends of a datapath measurement are pinned to (default the
#                       last one, nproc - 1)
#         SCALE_MASQ=true|false   ipMasq in the scale part (default false)
#         CLUSTER_NODES=n  nodes of the cluster part's convergence run (default 16);
#                       CLUSTER_BIG=n Node objects for its agent figures (default 5000)
#                       CLUSTER_PARTS=conv,agent picks its parts (default both)
#         POL_PODS=n POL_POLICIES=n POL_CHANGES=n  the policy part's latency run (default 500
#                       pods, 80 of them local, 200 policies, 100 changes); POL_BIG_PODS=n
#                       POL_BIG_POLICIES=n its agent figures (default 5000 and 1000); its datapath
#                       rounds = min(REPS, 5) of SECS seconds per measurement
#         JSON=1        also write bench/results/<host>-<date>.json (every raw sample included)
#         REF_BIN=dir   the reference plugins (default /usr/lib/cni)
#         OUT_DIR=dir   where results go (default <repo>/bench/results)
# Writes OUT_DIR/<host>-<date>.md (+ .json) and PNG plots; see docs/benchmarks.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
WEFT_BIN=$(cd "${1:-$repo/build/bin}" && pwd)
REF_BIN=${REF_BIN:-/usr/lib/cni}
ONLY=${ONLY:-all}
REPS=${REPS:-30}
PODS=${PODS:-1000}
CONC=${CONC:-100}
SECS=${SECS:-5}
DP_CPU=${DP_CPU:-$(($(nproc) - 1))}
OUT_DIR=${OUT_DIR:-$repo/bench/results}
BENCH_RSS_REPS=$((REPS < 3 ? REPS : 3))

# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
# shellcheck source=tests/bench/part-invocation.sh
. "$here/part-invocation.sh"
# shellcheck source=tests/bench/part-scale.sh
. "$here/part-scale.sh"
# shellcheck source=tests/bench/part-datapath.sh
. "$here/part-datapath.sh"
# shellcheck source=tests/bench/part-cri.sh
. "$here/part-cri.sh"
# shellcheck source=tests/bench/part-cluster.sh
. "$here/part-cluster.sh"
# shellcheck source=tests/bench/part-policy.sh
. "$here/part-policy.sh"

PARTS="invocation scale datapath cri cluster policy"
want() { [ "$ONLY" = all ] || [[ ",$ONLY," == *",$1,"* ]]; }
for p in ${ONLY//,/ }; do
	[ "$p" = all ] || [[ " $PARTS " == *" $p "* ]] || {
		echo "bench: unknown part '$p' in ONLY (the parts: all $PARTS)" >&2
		exit 2
	}
done
[ "$(id -u)" -eq 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
for t in ip jq cc iperf3 gnuplot taskset; do
	command -v $t >/dev/null || { echo "bench: $t missing (make bench installs it)" >&2; exit 1; }
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: REPS must be a positive integer" >&2; exit 1; }
if ! [[ "$DP_CPU" =~ ^[0-9]+$ ]] || ! taskset -c "$DP_CPU" true 2>/dev/null; then
	echo "bench: DP_CPU=$DP_CPU is not a CPU this process may run on" >&2
	exit 1
fi

declare -A BINS=([weft]=$WEFT_BIN [ref]=$REF_BIN)
bench_init wb
: >"$BENCH_TMP/targets.tsv"
: >"$BENCH_TMP/notes"

node=$(hostname -s)
stamp=$(date +%Y-%m-%d)
res=$OUT_DIR/$node-$stamp
mkdir -p "$OUT_DIR"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)

have_bridge=0
[ -x "$WEFT_BIN/bridge" ] && [ -x "$WEFT_BIN/host-local" ] && have_bridge=1
[ -x "$REF_BIN/bridge" ] || { echo "bench: no reference plugins in $REF_BIN" >&2; exit 1; }

if want invocation; then
	if [ $have_bridge = 1 ]; then part_invocation "$REPS"; else bench_note "invocation: skipped (no weft bridge/host-local in $WEFT_BIN)"; fi
fi
if want scale; then
	if [ $have_bridge = 1 ]; then
		part_scale "$PODS" "$CONC" $((REPS < 3 ? REPS : 3))
	else
		bench_note "scale: skipped (no weft bridge in $WEFT_BIN)"
	fi
fi
if want datapath; then
	part_datapath $((REPS < 5 ? REPS : 5)) "$SECS"
fi
if want cri; then
	if [ -x "$WEFT_BIN/bridge" ]; then part_cri "$REPS"; else bench_note "cri: skipped (no weft bridge in $WEFT_BIN)"; fi
fi
if want cluster; then
	part_cluster
fi
if want policy; then
	part_policy $((REPS < 5 ? REPS : 5)) "$SECS"
fi

# ---- plots ----------------------------------------------------------------------------------
pl_pods=0
pl_dp=0
[ -s "$BENCH_TMP/scale-ADD.dat" ] && pl_pods=$PODS
[ -s "$BENCH_TMP/dp.dat" ] && pl_dp=1
term=pngcairo
echo 'set terminal' | gnuplot 2>&1 | grep -qw pngcairo || term=png
gnuplot -e "dir='$BENCH_TMP'; out='$res'; pods=$pl_pods; dp=$pl_dp; term='$term'" "$here/plot.gp" ||
	bench_note "gnuplot failed: no plots"

# ---- report ---------------------------------------------------------------------------------
load1=$(cut -d' ' -f1-3 /proc/loadavg)
elapsed=$(($(date +%s) - t0))
base=$(basename "$res")
{
	echo "# weft benchmark: $node, $(date '+%Y-%m-%d %H:%M %Z')"
	echo
	echo "Produced by \`make bench\` (tests/bench/run.sh; ONLY=$ONLY REPS=$REPS PODS=$PODS CONC=$CONC SECS=$SECS DP_CPU=$DP_CPU)."
	echo "Method and reading guide: docs/benchmarks.md."
	echo
	echo "## Setup"
	echo
	echo "- kernel $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "- weft: $WEFT_BIN (git $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$repo" diff --quiet -- . ':!bench/results' 2>/dev/null || echo ', uncommitted changes'))"
	echo "- reference: $REF_BIN, containernetworking-plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo '?') (ipMasq: iptables, $(iptables -V 2>/dev/null || echo 'no iptables'))"
	echo "- iperf3 $(iperf3 -v 2>/dev/null | awk 'NR == 1 { print $2 }'), sockperf $(sockperf --version 2>&1 | awk '/version/ { print $NF; exit }')"
	echo "- load average at start $load0, at end $load1; network namespaces on the machine at the end: $(ip netns list | wc -l); run time ${elapsed}s"
	if awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
		echo "- **this run was under load** (other work on the machine): absolute figures are inflated and noisy; paired ratios are less affected"
	fi
	echo
	echo "## Targets"
	echo
	echo "| target | measured | limit | verdict |"
	echo "|---|---|---|---|"
	awk -F'\t' '{ printf "| %s | %s | %s %s %s | %s |\n", $1, $2, $3, $4, $5, ($6 == "MISSED" ? "**missed**" : $6) }' "$BENCH_TMP/targets.tsv"
	echo
	for p in invocation scale datapath cri cluster policy; do
		[ -f "$BENCH_TMP/md.$p" ] && sed -e "s|(scale-add.png)|($base-scale-add.png) ![per-pod DEL time]($base-scale-del.png)|" \
			-e "s|(datapath.png)|($base-datapath.png)|" "$BENCH_TMP/md.$p"
	done
	if [ -s "$BENCH_TMP/notes" ]; then
		echo "## Notes"
		echo
		sed 's/^/- /' "$BENCH_TMP/notes"
		echo
	fi
} >"$res.md"

if [ "${JSON:-0}" = 1 ]; then
	jq -cn --arg host "$node" --arg date "$(date -Iseconds)" --arg kernel "$(uname -r)" \
		--arg only "$ONLY" --argjson reps "$REPS" --arg load0 "$load0" --arg load1 "$load1" \
		--rawfile targets "$BENCH_TMP/targets.tsv" --rawfile samples "$BENCH_SAMPLES" \
		--rawfile notes "$BENCH_TMP/notes" '
		def rows($s): $s | split("\n") | map(select(length > 0) | split("\t"));
		{host: $host, date: $date, kernel: $kernel, only: $only, reps: $reps,
		 load: {start: $load0, end: $load1},
		 targets: [rows($targets)[] | {name: .[0], value: (.[1] | tonumber? // null), op: .[2],
			limit: (.[3] | tonumber), unit: .[4], verdict: .[5]}],
		 notes: ($notes | split("\n") | map(select(length > 0))),
		 samples: [rows($samples)[] | {part: .[0], case: .[1], impl: .[2], verb: .[3],
			rep: (.[4] | tonumber), metric: .[5], value: (.[6] | tonumber)}]}' >"$res.json"
fi
bench_log "wrote $res.md$([ "${JSON:-0}" = 1 ] && echo " $res.json") and plots"
cat "$res.md"

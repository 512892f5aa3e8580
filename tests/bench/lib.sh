# shellcheck shell=bash
# Shared machinery of `make bench` (sourced by tests/bench/run.sh and the part-*.sh files).
#
# Samples: every measurement is one line of $BENCH_SAMPLES (TSV):
#     part  case  impl  verb  rep  metric  value
# e.g. "inv  bridge-masq  weft  ADD  3  wall_us  2450". A "key" names a series: part/case/impl/verb.
# Medians, min-max and ratios are computed from that file (awk), so every figure in the report
# can be traced back to raw samples (kept in the JSON output with JSON=1).
#
# Throwaway state: netns made by bench_ns (names $BENCH_P-*), background processes started by
# bench_bg, mounts made by bench_mount and everything under $BENCH_TMP are removed by
# bench_cleanup (EXIT trap), whatever happens.

BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

bench_log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

bench_init() { # bench_init PREFIX
	BENCH_P=$1$$
	BENCH_TMP=$(mktemp -d /tmp/weft-bench-run.XXXXXX)
	BENCH_SAMPLES=$BENCH_TMP/samples.tsv
	: >"$BENCH_SAMPLES"
	: >"$BENCH_TMP/netns"
	: >"$BENCH_TMP/pids"
	: >"$BENCH_TMP/mounts"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	WRUN=$BENCH_TMP/wrun
	cc -O2 -Wall -o "$WRUN" "$BENCH_HERE/wrun.c"
	FLOOR=$BENCH_TMP/floor
	cc -O2 -Wall -o "$FLOOR" "$BENCH_HERE/floor.c" -lmnl
}

bench_cleanup() {
	local pid ns m
	set +e
	declare -F cri_stop >/dev/null && cri_stop # the cri part's containerd, when it ran
	while read -r pid; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
	done <"$BENCH_TMP/pids"
	while read -r pid; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null
	done <"$BENCH_TMP/pids"
	# every netns of this run, pods (made last) first; then anything with our prefix
	tac "$BENCH_TMP/netns" | while read -r ns; do ip netns del "$ns" 2>/dev/null; done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$BENCH_P-"); do
		ip netns del "$ns" 2>/dev/null
	done
	while read -r m; do umount "$m" 2>/dev/null; done <"$BENCH_TMP/mounts"
	rm -rf "$BENCH_TMP"
}

# bench_ns NAME: creates netns $BENCH_P-NAME with lo up; prints the name
bench_ns() {
	local n=$BENCH_P-$1
	ip netns add "$n"
	echo "$n" >>"$BENCH_TMP/netns"
	ip -n "$n" link set lo up
	echo "$n"
}

# bench_ns_del NAME...: deletes netns made by bench_ns (full names) now
bench_ns_del() {
	local n
	for n in "$@"; do ip netns del "$n" 2>/dev/null || true; done
}

bench_bg() { echo "$1" >>"$BENCH_TMP/pids"; } # bench_bg PID: killed at cleanup

bench_mount() { echo "$1" >>"$BENCH_TMP/mounts"; } # bench_mount DIR: unmounted at cleanup

# bench_sample PART CASE IMPL VERB REP METRIC VALUE
bench_sample() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_SAMPLES"; }

# bench_exec PART CASE IMPL VERB REP [WRUN-OPTS...] -- ARGV...
# Runs ARGV through wrun, records wall_us and cpu_us (or, with -r, rss_kib only: a traced run's
# time is not the plugin's). Its stdout goes to $BENCH_TMP/last.out (or -O), stderr to
# $BENCH_TMP/last.err. Returns 1 (and logs stderr) when it failed.
bench_exec() {
	local part=$1 case=$2 impl=$3 verb=$4 rep=$5 out wall cpu rss failed trace=0 a
	shift 5
	for a in "$@"; do
		[ "$a" = -- ] && break
		[ "$a" = -r ] && trace=1
	done
	: >"$BENCH_TMP/last.err"
	out=$("$WRUN" -O "$BENCH_TMP/last.out" -E "$BENCH_TMP/last.err" "$@") || return 1
	read -r wall cpu rss failed <<<"$out"
	if [ "$failed" != 0 ]; then
		bench_log "FAILED: $impl $case $verb (rep $rep): $(head -c 600 "$BENCH_TMP/last.out") $(head -c 600 "$BENCH_TMP/last.err")"
		return 1
	fi
	if [ "$trace" = 1 ]; then
		bench_sample "$part" "$case" "$impl" "$verb" "$rep" rss_kib "$rss"
	else
		bench_sample "$part" "$case" "$impl" "$verb" "$rep" wall_us "$wall"
		bench_sample "$part" "$case" "$impl" "$verb" "$rep" cpu_us "$cpu"
		# the time spent waiting: RCU grace periods, locks, sleeps, other processes' turns
		bench_sample "$part" "$case" "$impl" "$verb" "$rep" offcpu_us $((wall > cpu ? wall - cpu : 0))
	fi
}

# bench_cni PART CASE IMPL VERB REP BINDIR PLUGIN HOSTNS CID PODNS CONFFILE [WRUN-OPTS...]
# One CNI invocation, exec'd directly (CNI_* env, config on stdin) inside HOSTNS.
bench_cni() {
	local part=$1 case=$2 impl=$3 verb=$4 rep=$5 bin=$6 plugin=$7 host=$8 cid=$9
	local pod=${10} conf=${11}
	shift 11
	CNI_COMMAND=$verb CNI_CONTAINERID=$cid CNI_IFNAME=eth0 CNI_NETNS=$pod CNI_PATH=$bin \
		CNI_ARGS='' bench_exec "$part" "$case" "$impl" "$verb" "$rep" -N "/run/netns/$host" \
		-i "$conf" "$@" -- "$bin/$plugin"
}

# bench_order REP A B [C...]: the items rotated by REP (A B, B A, A B, ... for two): interleaved,
# and who goes first alternates so none always runs on a cache warmed by the other
bench_order() {
	local r=$1 n k
	shift
	n=$#
	local a=("$@")
	for ((k = 0; k < n; k++)); do printf '%s ' "${a[$(((k + r) % n))]}"; done
	echo
}

# ---- the Kubernetes API test double and iperf3 (the cluster, policy and datapath parts) ------

# bench_kubeapi NS DIR: tests/kubeapi/kubeapi.py in NS (certificates in DIR/pki, log DIR/kubeapi.log,
# watch bookmarks off), a kubeconfig for it in DIR/kubeconfig; its ports in DIR/ports
# ("api=N admin=N", read them with bench_ka_port). Returns 1 when it did not start.
bench_kubeapi() {
	local ns=$1 d=$2 t api
	mkdir -p "$d"
	"$BENCH_HERE/../kubeapi/mkcerts.sh" "$d/pki" >/dev/null
	ip netns exec "$ns" python3 "$BENCH_HERE/../kubeapi/kubeapi.py" --cert "$d/pki/server.crt" \
		--key "$d/pki/server.key" --token "bench-$$" --ports-file "$d/ports" >"$d/kubeapi.log" 2>&1 &
	bench_bg $!
	for ((t = 0; t < 200; t++)); do [ -s "$d/ports" ] && break; sleep 0.05; done
	[ -s "$d/ports" ] || return 1
	api=$(bench_ka_port "$d" api)
	printf 'apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters:\n- name: b\n  cluster:\n    server: https://127.0.0.1:%s\n    certificate-authority: %s\ncontexts:\n- name: b\n  context:\n    cluster: b\n    user: b\nusers:\n- name: b\n  user:\n    token: bench-%s\n' \
		"$api" "$d/pki/ca.crt" "$$" >"$d/kubeconfig"
	bench_admin "$ns" "$(bench_ka_port "$d" admin)" /config -XPOST -d '{"bookmark_ms": 600000}' >/dev/null
}

bench_ka_port() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1/ports"; } # bench_ka_port DIR api|admin

# bench_admin NS ADMIN-PORT PATH [CURL-ARGS]: the test double's admin interface
bench_admin() {
	local ns=$1 port=$2 p=$3
	shift 3
	ip netns exec "$ns" curl -sf "http://127.0.0.1:$port$p" "$@"
}

# bench_proc_busy: busy ticks of all CPUs so far (/proc/stat: user nice system irq softirq steal)
bench_proc_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# bench_iperf PART CASE IMPL VERB REP CLIENT-NS SERVER-IP SECS [IPERF3-OPTS...]: one iperf3 TCP
# stream to an iperf3 -s on port 5201 (3 tries); samples "gbps" and "cpu_ns_kib": the busy time
# of all CPUs over the run (/proc/stat) per KiB received, a second reading of the cost per byte
# that owes nothing to pinning (and counts whatever else ran meanwhile). Returns 1 when it failed.
bench_iperf() {
	local part=$1 case=$2 impl=$3 verb=$4 r=$5 ns=$6 ip=$7 secs=$8 k j c0 c1 bps bytes
	shift 8
	for k in 1 2 3; do
		c0=$(bench_proc_busy)
		j=$(ip netns exec "$ns" iperf3 -c "$ip" -p 5201 -t "$secs" -J "$@" 2>/dev/null) || j=""
		c1=$(bench_proc_busy)
		read -r bps bytes < <(jq -r '[.end.sum_received.bits_per_second // empty,
			.end.sum_received.bytes // empty] | join(" ")' <<<"$j" 2>/dev/null) || true
		[ -n "${bytes:-}" ] && break
		sleep 0.5
	done
	[ -n "${bytes:-}" ] || return 1
	bench_sample "$part" "$case" "$impl" "$verb" "$r" gbps "$(awk -v b="$bps" 'BEGIN { printf "%.3f", b / 1e9 }')"
	bench_sample "$part" "$case" "$impl" "$verb" "$r" cpu_ns_kib "$(awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
		-v b="$bytes" 'BEGIN { printf "%.1f", c * 1e9 / hz / (b / 1024) }')"
}

# ---- statistics ------------------------------------------------------------------------------

# bench_stats PART CASE IMPL VERB METRIC [FIRST_REP LAST_REP]: prints "n median min max"
bench_stats() {
	awk -F'\t' -v k="$1/$2/$3/$4" -v m="$5" -v lo="${6:-}" -v hi="${7:-}" '
	$1 "/" $2 "/" $3 "/" $4 == k && $6 == m && (lo == "" || ($5 >= lo + 0 && $5 <= hi + 0)) {
		v[n++] = $7 + 0 }
	END {
		if (!n) { print "0 - - -"; exit }
		for (i = 1; i < n; i++) { x = v[i]; for (j = i - 1; j >= 0 && v[j] > x; j--)
			v[j + 1] = v[j]; v[j + 1] = x }
		med = (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
		print n, med, v[0], v[n - 1] }' "$BENCH_SAMPLES"
}

# bench_ratio KEY_A KEY_B METRIC: A/B paired by rep (each rep's A over the same rep's B, so
# drift between reps cancels); prints "n median min max" of the per-rep ratios.
# KEYs are part/case/impl/verb.
bench_ratio() {
	awk -F'\t' -v a="$1" -v b="$2" -v m="$3" '
	$6 != m { next }
	{ k = $1 "/" $2 "/" $3 "/" $4 }
	k == a { A[$5] = $7 } k == b { B[$5] = $7 }
	END {
		for (r in A) if ((r in B) && B[r] > 0) v[n++] = A[r] / B[r]
		if (!n) { print "0 - - -"; exit }
		for (i = 1; i < n; i++) { x = v[i]; for (j = i - 1; j >= 0 && v[j] > x; j--)
			v[j + 1] = v[j]; v[j + 1] = x }
		med = (n % 2) ? v[int(n / 2)] : (v[n / 2 - 1] + v[n / 2]) / 2
		printf "%d %.4f %.4f %.4f\n", n, med, v[0], v[n - 1] }' "$BENCH_SAMPLES"
}

# bench_pct PART CASE IMPL VERB METRIC P...: the P-th percentiles (nearest rank) of the series,
# one line "n p1 p2 ..." ("0 - ..." when it is empty)
bench_pct() {
	local k="$1/$2/$3/$4" m=$5
	shift 5
	awk -F'\t' -v k="$k" -v m="$m" -v ps="$*" '
	$1 "/" $2 "/" $3 "/" $4 == k && $6 == m { v[n++] = $7 + 0 }
	END {
		np = split(ps, p, " ")
		for (i = 1; i < n; i++) { x = v[i]; for (j = i - 1; j >= 0 && v[j] > x; j--)
			v[j + 1] = v[j]; v[j + 1] = x }
		printf "%d", n
		for (i = 1; i <= np; i++) {
			if (!n) { printf " -"; continue }
			r = int(p[i] / 100 * n + 0.999999); if (r < 1) r = 1; if (r > n) r = n
			printf " %g", v[r - 1]
		}
		print "" }' "$BENCH_SAMPLES"
}

# bench_cell PART CASE IMPL VERB METRIC DIVISOR DECIMALS [FIRST_REP LAST_REP]: a report cell,
# "median (min–max)" of the series, each value divided and formatted; "-" when it is empty
bench_cell() {
	local s
	read -r -a s <<<"$(bench_stats "$1" "$2" "$3" "$4" "$5" "${8:-}" "${9:-}")"
	if [ "${s[0]}" = 0 ]; then echo "-"; return; fi
	echo "$(bench_fmt "${s[1]}" "$6" "$7") ($(bench_fmt "${s[2]}" "$6" "$7")–$(bench_fmt "${s[3]}" "$6" "$7"))"
}

# bench_ratio_cell KEY_A KEY_B METRIC: a report cell, "median (min–max)" of the paired ratios
bench_ratio_cell() {
	local s
	read -r -a s <<<"$(bench_ratio "$1" "$2" "$3")"
	if [ "${s[0]}" = 0 ]; then echo "-"; return; fi
	printf '%.3f (%.2f–%.2f)' "${s[1]}" "${s[2]}" "${s[3]}"
}

# bench_div A B: A/B with 3 decimals ("-" when either is missing)
bench_div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-";
	else printf "%.3f\n", a / b }'; }

# bench_sub A B: A − B (2 decimals), "-" when either is "-"
bench_sub() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-";
	else printf "%.2f\n", a - b }'; }

# bench_fmt VALUE DIVISOR DECIMALS: VALUE/DIVISOR formatted ("-" stays "-")
bench_fmt() { awk -v v="$1" -v d="$2" -v p="$3" 'BEGIN { if (v == "-") print "-";
	else printf "%.*f\n", p, v / d }'; }

# ---- targets ---------------------------------------------------------------------------------

# bench_target NAME VALUE OP LIMIT UNIT: records a target line (met/missed/not measured) in
# $BENCH_TMP/targets.tsv; OP is "<=" or ">=".
bench_target() {
	local verdict
	if [ "$2" = - ] || [ -z "$2" ]; then
		verdict="not measured"
	else
		verdict=$(awk -v v="$2" -v o="$3" -v l="$4" 'BEGIN {
			ok = (o == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0); print ok ? "met" : "MISSED" }')
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$verdict" >>"$BENCH_TMP/targets.tsv"
}

# bench_note TEXT: a line for the report's "notes" (skipped parts, failures, load)
bench_note() {
	echo "$*" >>"$BENCH_TMP/notes"
	bench_log "note: $*"
}

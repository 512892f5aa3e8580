# shellcheck shell=bash
# make bench, part "policy": weft-node's NetworkPolicy enforcement (table inet weft-policy). Each
# node is a throwaway netns with its own API test double (tests/kubeapi/kubeapi.py) and weft-node
# (--node-name node-a); objects come from tests/bench/policy.py (`objects`: 10 Namespaces, Pods
# of which POL_LOCAL are on node-a and the rest only API objects on other node names, policies
# selecting by app label with podSelector / namespaceSelector / ipBlock peers, a named port).
#   (a) latency: POL_PODS pods (POL_LOCAL local), POL_POLICIES policies; POL_CHANGES times one
#       policy's port is changed through the admin interface; from the POST's return to (1) the
#       agent's weft_node_policy_resource_version reaching the POST's resourceVersion (/metrics
#       polled every ms) and (2) `nft monitor` in the node netns printing the rule with the new
#       port (the kernel's commit notification); both as p50/p99; the agent's own round time
#       (weft_node_policy_last_round_seconds) beside.
#   (b) datapath: two bridge pods (weft's bridge plugin) each selected by POL_DP_POLICIES
#       policies holding POL_DP_BLOCKS ipBlock peers in total (Ingress and Egress; only the last
#       policy's ipBlock, the pods' /24, matches), against two pods on a node netns whose agent
#       has no policy (dp-none: the same path with no policies) and two unselected pods on the
#       policy node (dp-free: br_netfilter and conntrack on, no chain of theirs). Per round, the
#       paths rotated: one iperf3 stream with both ends on DP_CPU (as the datapath part), the
#       same unpinned (with its CPU per byte from /proc/stat), and short TCP connections per
#       second (tests/bench/connrate.c, both ends on DP_CPU).
#   (c) size: POL_BIG_PODS pods (POL_BIG_LOCAL local), POL_BIG_POLICIES policies: first sync
#       (exec to the metric at the API's resourceVersion, POL_SYNC_REPS agent starts), peak
#       (VmHWM) and steady (VmRSS) RSS, agent CPU (utime + stime, /proc/PID/stat) per pod label
#       change over POL_LABEL_CHANGES changes each waited for through the metric (and per change
#       from the threads' schedstat); then a perf profile of POL_PROF_CHANGES more label changes
#       when perf exists.
# Sourced by run.sh (uses lib.sh; the datapath part's dp_conf, dp_plugin_pod, dp_ipof).

POL_PODS=${POL_PODS:-500}
POL_LOCAL=${POL_LOCAL:-80}
POL_POLICIES=${POL_POLICIES:-200}
POL_CHANGES=${POL_CHANGES:-100}
POL_DP_POLICIES=${POL_DP_POLICIES:-100}
POL_DP_BLOCKS=${POL_DP_BLOCKS:-1000}
POL_BIG_PODS=${POL_BIG_PODS:-5000}
POL_BIG_LOCAL=${POL_BIG_LOCAL:-100}
POL_BIG_POLICIES=${POL_BIG_POLICIES:-1000}
POL_LABEL_CHANGES=${POL_LABEL_CHANGES:-50}
POL_PROF_CHANGES=${POL_PROF_CHANGES:-100}
POL_PROF_HZ=${POL_PROF_HZ:-997}
POL_PROF_KEEP=${POL_PROF_KEEP:-} # a path: the profile's perf.data is copied there
POL_PARTS=${POL_PARTS:-lat,dp,size} # which of (a) (b) (c) run (a partial run misses targets)
POL_PY=$BENCH_HERE/policy.py
declare -A POL_NS POL_ADMIN POL_MPORT POL_PID

# pol_node NAME SUBNET: node netns $BENCH_P-pol-NAME, its API test double, a bridge network
# (weft's bridge, SUBNET) in its CNI conf dir, the Node object node-a
pol_node() {
	local n=$1 d=$BENCH_TMP/pol-$1
	POL_NS[$n]=$(bench_ns "pol-$n")
	mkdir -p "$d/net.d"
	bench_kubeapi "${POL_NS[$n]}" "$d" || return 1
	POL_ADMIN[$n]=$(bench_ka_port "$d" admin)
	POL_MPORT[$n]=$((20000 + RANDOM % 20000))
	dp_conf bridge "pnet-$n" "$2" "$(jq -cn --arg d "$d/ipam" '{bridge: "wpb0", ipam: {dataDir: $d}}')" \
		>"$d/net.d/10-pnet.conf"
	pol_admin "$n" /objects/api/v1/nodes -XPOST -d '{"metadata":{"name":"node-a"},"spec":{"podCIDR":"'"$2"'"}}' >/dev/null
}

pol_admin() { local n=$1; shift; bench_admin "${POL_NS[$n]}" "${POL_ADMIN[$n]}" "$@"; } # NAME PATH [CURL-ARGS]

# pol_load NAME DIR: the objects of DIR (policy.py objects) in three bulk admin calls
pol_load() {
	pol_admin "$1" /objects/api/v1/namespaces -XPOST --data-binary "@$2/ns.json" >/dev/null &&
		pol_admin "$1" /objects/api/v1/pods -XPOST --data-binary "@$2/pods.json" >/dev/null &&
		pol_admin "$1" /objects/apis/networking.k8s.io/v1/networkpolicies -XPOST \
			--data-binary "@$2/pols.json" >/dev/null
}

pol_metric() { # pol_metric NAME METRIC: its value on the agent's /metrics
	ip netns exec "${POL_NS[$1]}" curl -sf "http://127.0.0.1:${POL_MPORT[$1]}/metrics" |
		sed -n "s/^weft_node_$2 //p"
}

pol_rv() { pol_admin "$1" /stats | jq -r .rv; } # the API's resourceVersion now

# pol_wait_rv NAME RV [SECONDS]: until the agent enforces RV (its metric), polled every 20 ms
pol_wait_rv() {
	local t v
	for ((t = 0; t < ${3:-30} * 50; t++)); do
		v=$(pol_metric "$1" policy_resource_version)
		[ -n "$v" ] && [ "${v%.*}" -ge "$2" ] && return 0
		sleep 0.02
	done
	return 1
}

# pol_agent NAME: starts weft-node on node NAME (POL_PID[NAME]); waits until it enforces what the
# API holds; sets POL_SYNC_MS (exec to that)
pol_agent() {
	local n=$1 d=$BENCH_TMP/pol-$1 t0 rv
	rv=$(pol_rv "$n")
	t0=$(date +%s%N)
	ip netns exec "${POL_NS[$n]}" "$WEFT_BIN/weft-node" --kubeconfig "$d/kubeconfig" --node-name node-a \
		--cni-conf-dir "$d/net.d" --metrics-addr "127.0.0.1:${POL_MPORT[$n]}" >>"$d/agent.log" 2>&1 &
	POL_PID[$n]=$!
	bench_bg "${POL_PID[$n]}"
	pol_wait_rv "$n" "$rv" 120 || return 1
	POL_SYNC_MS=$((($(date +%s%N) - t0) / 1000000))
}

pol_agent_stop() { # pol_agent_stop NAME: SIGTERM (the rules stay), waited for
	kill "${POL_PID[$1]}" 2>/dev/null
	wait "${POL_PID[$1]}" 2>/dev/null || true
}

pol_fail() { # pol_fail NAME WHAT: a note with the end of the agent's log
	bench_note "policy: $2 ($(tail -n 2 "$BENCH_TMP/pol-$1/agent.log" 2>/dev/null | tr '\n' ' '))"
}

# (a) ------------------------------------------------------------------------------------------
pol_latency() {
	local d=$BENCH_TMP/pol-lat k post met nft rnd
	bench_log "policy: latency, $POL_PODS pods ($POL_LOCAL local), $POL_POLICIES policies, $POL_CHANGES changes"
	pol_node lat 10.95.0.0/24 || { bench_note "policy: the API test double did not start"; return 0; }
	python3 "$POL_PY" objects "$d" "$POL_PODS" "$POL_LOCAL" "$POL_POLICIES"
	pol_load lat "$d" || { bench_note "policy: loading the objects failed"; return 0; }
	pol_agent lat || { pol_fail lat "weft-node did not enforce $POL_POLICIES policies"; return 0; }
	POL_LAT_SYNC=$POL_SYNC_MS
	POL_LAT_CHAINS=$(pol_metric lat policy_chains)
	POL_LAT_SETS=$(pol_metric lat policy_sets)
	ip netns exec "${POL_NS[lat]}" python3 "$POL_PY" lat "${POL_ADMIN[lat]}" "${POL_MPORT[lat]}" "$d" \
		"$POL_CHANGES" "$d/lat.tsv" || { bench_note "policy: the latency driver failed"; return 0; }
	while read -r k post met nft rnd; do
		bench_sample pol lat "n$POL_PODS" post "$k" ms "$post"
		[ "$met" = - ] || bench_sample pol lat "n$POL_PODS" metric "$k" ms "$met"
		[ "$nft" = - ] || bench_sample pol lat "n$POL_PODS" nft "$k" ms "$nft"
		bench_sample pol lat "n$POL_PODS" round "$k" ms "$rnd"
	done <"$d/lat.tsv"
	k=$(awk '$3 == "-" || $4 == "-"' "$d/lat.tsv" | wc -l)
	[ "$k" = 0 ] || bench_note "policy: $k of $POL_CHANGES changes not seen by one of the two clocks within 10 s"
	pol_agent_stop lat
}

# (b) ------------------------------------------------------------------------------------------
POL_DP_PATHS=(dp-pol dp-free dp-none)
declare -A POL_DP_CLIENT POL_DP_IP

# pol_dp_pod NODE POD LABEL: a bridge pod through weft's plugin, and its Pod object (namespace dp)
pol_dp_pod() {
	local n=$1 pod ip
	pod=$(bench_ns "pol-$1-$2")
	dp_plugin_pod weft bridge "${POL_NS[$n]}" "$pod" "$(cat "$BENCH_TMP/pol-$n/net.d/10-pnet.conf")" || return 1
	ip=$(dp_ipof "$pod")
	pol_admin "$n" /objects/api/v1/namespaces/dp/pods -XPOST -d "$(jq -cn --arg n "$2" --arg ip "$ip" \
		--arg l "$3" '{metadata: {name: $n, labels: {role: $l}}, spec: {nodeName: "node-a",
		containers: [{name: "c"}]}, status: {podIP: $ip, podIPs: [{ip: $ip}]}}')" >/dev/null
	echo "$pod $ip"
}

# pol_dp_pair NODE PATH LABEL: pods PATH-a (client) and PATH-b (server, iperf3 and connrate on it)
pol_dp_pair() {
	local a b ip
	read -r a _ < <(pol_dp_pod "$1" "$2-a" "$3")
	read -r b ip < <(pol_dp_pod "$1" "$2-b" "$3")
	[ -n "${a:-}" ] && [ -n "${ip:-}" ] || return 1
	POL_DP_CLIENT[$2]=$a
	POL_DP_IP[$2]=$ip
	ip netns exec "$b" iperf3 -s -p 5201 >/dev/null 2>&1 &
	bench_bg $!
	ip netns exec "$b" taskset -c "$DP_CPU" "$BENCH_TMP/connrate" -s 7777 >/dev/null 2>&1 &
	bench_bg $!
}

pol_dp_setup() {
	local n
	cc -O2 -Wall -o "$BENCH_TMP/connrate" "$BENCH_HERE/connrate.c" || return 1
	pol_node dp 10.97.0.0/24 || return 1
	pol_node dpn 10.96.0.0/24 || return 1
	for n in dp dpn; do
		pol_admin "$n" /objects/api/v1/namespaces -XPOST -d '{"metadata":{"name":"dp"}}' >/dev/null
		# connrate leaves a connection in TIME_WAIT per attempt: conntrack forgets them after 1 s
		# in these node netns (the table's limit is the machine's)
		ip netns exec "${POL_NS[$n]}" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=1 2>/dev/null || true
	done
	pol_dp_pair dp dp-pol sel || return 1
	pol_dp_pair dp dp-free free || return 1
	pol_dp_pair dpn dp-none sel || return 1
	python3 "$POL_PY" dp-policies "$BENCH_TMP/pol-dp/dppols.json" "$POL_DP_POLICIES" "$POL_DP_BLOCKS" 10.97.0.0/24
	pol_admin dp /objects/apis/networking.k8s.io/v1/networkpolicies -XPOST \
		--data-binary "@$BENCH_TMP/pol-dp/dppols.json" >/dev/null || return 1
	pol_agent dp || { pol_fail dp "weft-node did not enforce the datapath policies"; return 1; }
	pol_agent dpn || { pol_fail dpn "weft-node (no policies) did not sync"; return 1; }
	POL_DP_CHAINS=$(pol_metric dp policy_chains)
	POL_DP_SETS=$(pol_metric dp policy_sets)
	POL_DP_RULES=$(ip netns exec "${POL_NS[dp]}" nft list table inet weft-policy | grep -c '@a4-')
	for n in "${POL_DP_PATHS[@]}"; do
		ip netns exec "${POL_DP_CLIENT[$n]}" ping -c 2 -i 0.2 -W 1 "${POL_DP_IP[$n]}" >/dev/null 2>&1 ||
			{ bench_note "policy: $n: pod a cannot reach pod b"; return 1; }
	done
	# the dispatch maps send dp-pol's pods to their chains, and only theirs
	POL_DP_MAPPED=$(ip netns exec "${POL_NS[dp]}" nft list map inet weft-policy in4 |
		grep -oE '10\.97\.0\.[0-9]+ : jump' | wc -l)
}

pol_dp_measure() { # pol_dp_measure PATH ROUND SECS
	local p=$1 r=$2 secs=$3 c=${POL_DP_CLIENT[$1]} ip=${POL_DP_IP[$1]} cps
	bench_iperf pol "$p" path tcp "$r" "$c" "$ip" "$secs" -A "$DP_CPU,$DP_CPU" ||
		bench_note "policy: $p round $r: iperf3 (pinned) failed"
	bench_iperf pol "$p" path tcp-free "$r" "$c" "$ip" "$secs" ||
		bench_note "policy: $p round $r: iperf3 (unpinned) failed"
	cps=$(ip netns exec "$c" taskset -c "$DP_CPU" "$BENCH_TMP/connrate" -c "$ip" 7777 "$secs" | awk '{ print $1 }') || cps=""
	if [ -n "$cps" ]; then bench_sample pol "$p" path conn "$r" cps "$cps"; else bench_note "policy: $p round $r: connrate failed"; fi
}

pol_datapath() {
	local rounds=$1 secs=$2 r k n=${#POL_DP_PATHS[@]}
	bench_log "policy: datapath, $POL_DP_POLICIES policies with $POL_DP_BLOCKS ipBlocks; $rounds rounds of ${secs}s x3"
	pol_dp_setup || { bench_note "policy: datapath set-up failed"; return 0; }
	for ((r = 1; r <= rounds; r++)); do
		for ((k = 0; k < n; k++)); do
			pol_dp_measure "${POL_DP_PATHS[$(((k + r) % n))]}" "$r" "$secs"
		done
	done
	pol_agent_stop dp
	pol_agent_stop dpn
}

# (c) ------------------------------------------------------------------------------------------
pol_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
pol_sched_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }
pol_status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; } # PID VmHWM|VmRSS (KiB)

# pol_label K: pod p-(LOCAL + K) (a remote pod, a peer of its namespace's policies while its tier
# is frontend) switches tier frontend <-> web-K; waits for the agent's metric
pol_label() {
	local k=$1 i tier rv
	i=$((POL_BIG_LOCAL + 3 * k)) # i % 3 == LOCAL % 3: the same tier every time
	tier=frontend
	((k % 2)) && tier=web-$k
	rv=$(pol_admin big /objects/api/v1/pods -XPOST -d "$(jq -cn --argjson i "$i" --arg t "$tier" '{
		metadata: {namespace: "ns-\($i % 10)", name: "p-\($i | tostring | ("0000" + .) | .[-5:])",
			labels: {app: "a-\($i % 50)", tier: $t}},
		spec: {nodeName: "node-\(1 + $i % 49)", containers: [{name: "c", ports: [{name: "web",
			containerPort: 8080, protocol: "TCP"}]}]},
		status: {podIP: "10.128.\($i / 250 | floor).\(1 + $i % 250)",
			podIPs: [{ip: "10.128.\($i / 250 | floor).\(1 + $i % 250)"}]}}')" | jq -r .resourceVersion) || return 1
	pol_wait_rv big "$rv" 30
}

pol_size() {
	local d=$BENCH_TMP/pol-big k c0 c1 s0 s1 hz pid r reps=$1
	bench_log "policy: one agent, $POL_BIG_PODS pods ($POL_BIG_LOCAL local), $POL_BIG_POLICIES policies"
	pol_node big 10.94.0.0/24 || { bench_note "policy: the API test double did not start"; return 0; }
	python3 "$POL_PY" objects "$d" "$POL_BIG_PODS" "$POL_BIG_LOCAL" "$POL_BIG_POLICIES"
	pol_load big "$d" || { bench_note "policy: loading the big objects failed"; return 0; }
	for ((r = 1; r <= reps; r++)); do
		((r == 1)) || pol_agent_stop big
		pol_agent big || { pol_fail big "weft-node did not enforce $POL_BIG_POLICIES policies"; return 0; }
		bench_sample pol big "n$POL_BIG_PODS" sync "$r" ms "$POL_SYNC_MS"
		bench_sample pol big "n$POL_BIG_PODS" hwm-sync "$r" kib "$(pol_status "${POL_PID[big]}" VmHWM)"
	done
	pid=${POL_PID[big]}
	POL_BIG_CHAINS=$(pol_metric big policy_chains)
	POL_BIG_SETS=$(pol_metric big policy_sets)
	POL_BIG_ISOLATED=$(pol_metric big policy_isolated_pods)
	sleep 0.5
	hz=$(getconf CLK_TCK)
	c0=$(pol_ticks "$pid")
	for ((k = 1; k <= POL_LABEL_CHANGES; k++)); do
		s0=$(pol_sched_ns "$pid")
		pol_label "$k" || { pol_fail big "label change $k was not enforced"; return 0; }
		s1=$(pol_sched_ns "$pid")
		bench_sample pol big "n$POL_BIG_PODS" label "$k" cpu_ms "$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')"
		bench_sample pol big "n$POL_BIG_PODS" label "$k" round_ms "$(pol_metric big policy_last_round_seconds | awk '{ printf "%.2f", $1 * 1000 }')"
		bench_sample pol big "n$POL_BIG_PODS" label "$k" rss_kib "$(pol_status "$pid" VmRSS)"
	done
	c1=$(pol_ticks "$pid")
	POL_CPU_MS=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$POL_LABEL_CHANGES" \
		'BEGIN { printf "%.1f", (b - a) * 1000 / hz / n }')
	POL_HWM=$(pol_status "$pid" VmHWM)
	sleep 1
	POL_RSS=$(pol_status "$pid" VmRSS)
	pol_profile "$pid"
	pol_agent_stop big
}

# pol_profile PID: perf record (DWARF call graphs, POL_PROF_HZ) over POL_PROF_CHANGES more label
# changes; the share of the agent's samples under each function (children), the top self symbols.
# (Every pipeline here ends in awk, which reads all its input: no SIGPIPE under pipefail.)
pol_profile() {
	local pid=$1 pp k f=$BENCH_TMP/pol-big/perf.data
	command -v perf >/dev/null || { POL_PROFILE="perf not installed: no profile"; return 0; }
	perf record -q -F "$POL_PROF_HZ" --call-graph dwarf,8192 -p "$pid" -o "$f" >/dev/null 2>&1 &
	pp=$!
	bench_bg "$pp"
	sleep 0.5
	for ((k = POL_LABEL_CHANGES + 1; k <= POL_LABEL_CHANGES + POL_PROF_CHANGES; k++)); do
		pol_label "$k" || break
	done
	kill -INT "$pp" 2>/dev/null
	wait "$pp" 2>/dev/null || true
	[ -z "${POL_PROF_KEEP:-}" ] || cp "$f" "$POL_PROF_KEEP" # the raw profile, for perf report
	# lines "children% self% [.] symbol - -": the trailing "-" columns dropped
	perf report -i "$f" --children --stdio --sort symbol -g none 2>/dev/null |
		awk '$1 ~ /%$/ && n++ < 30 { sub(/([ \t]+-)+[ \t]*$/, ""); $1 = $1; print }' >"$BENCH_TMP/pol-children"
	perf report -i "$f" --no-children --stdio --sort dso,symbol -g none 2>/dev/null |
		awk '$1 ~ /%$/ && n++ < 15 { sub(/([ \t]+-)+[ \t]*$/, ""); $1 = $1; print }' >"$BENCH_TMP/pol-self"
	POL_PROFILE=ok
}

# ---- the part ---------------------------------------------------------------------------------
part_policy() {
	local rounds=$1 secs=$2 t
	POL_LAT_SYNC=- POL_LAT_CHAINS=- POL_LAT_SETS=- POL_DP_CHAINS=- POL_DP_SETS=- POL_DP_RULES=-
	POL_DP_MAPPED=- POL_BIG_CHAINS=- POL_BIG_SETS=- POL_BIG_ISOLATED=- POL_CPU_MS=- POL_HWM=- POL_RSS=-
	POL_PROFILE=""
	[ -x "$WEFT_BIN/weft-node" ] || { bench_note "policy: skipped (no weft-node in $WEFT_BIN)"; return 0; }
	for t in python3 openssl curl nft stdbuf; do
		command -v $t >/dev/null || { bench_note "policy: skipped ($t missing)"; return 0; }
	done
	[ -w /proc/sys/net/bridge/bridge-nf-call-iptables ] ||
		{ bench_note "policy: skipped (no br_netfilter: modprobe br_netfilter)"; return 0; }
	[[ ,$POL_PARTS, == *,lat,* ]] && pol_latency
	[[ ,$POL_PARTS, == *,dp,* ]] && pol_datapath "$rounds" "$secs"
	[[ ,$POL_PARTS, == *,size,* ]] && pol_size "$((rounds < 3 ? rounds : 3))"
	local m n
	read -r _ _ m < <(bench_pct pol lat "n$POL_PODS" metric ms 50 99)
	read -r _ _ n < <(bench_pct pol lat "n$POL_PODS" nft ms 50 99)
	bench_target "policy change enforced p99, $POL_PODS pods $POL_POLICIES policies (agent metric)" "$m" "<=" 200 ms
	bench_target "policy change enforced p99, $POL_PODS pods $POL_POLICIES policies (nft monitor)" "$n" "<=" 200 ms
	bench_target "TCP stream, pods under $POL_DP_POLICIES policies / no policy" \
		"$(inv_med_ratio pol/dp-pol/path/tcp pol/dp-none/path/tcp gbps)" ">=" 0.95 x
	bench_target "short TCP connections/s, pods under $POL_DP_POLICIES policies / no policy" \
		"$(inv_med_ratio pol/dp-pol/path/conn pol/dp-none/path/conn cps)" ">=" 0.9 x
	bench_target "agent peak RSS (VmHWM), $POL_BIG_PODS pods $POL_BIG_POLICIES policies" "$(bench_fmt "$POL_HWM" 1024 1)" "<=" 64 MiB
	bench_target "agent steady RSS (VmRSS), $POL_BIG_PODS pods $POL_BIG_POLICIES policies" "$(bench_fmt "$POL_RSS" 1024 1)" "<=" 64 MiB
	bench_target "agent CPU per pod label change, $POL_BIG_PODS pods $POL_BIG_POLICIES policies" "$POL_CPU_MS" "<=" 10 ms
	policy_report "$rounds" "$secs" >"$BENCH_TMP/md.policy"
}

pol_pcell() { # pol_pcell CASE IMPL VERB METRIC: "p50 / p99 (min–max, n)"
	local s
	read -r -a s <<<"$(bench_pct pol "$1" "$2" "$3" "$4" 0 50 99 100)"
	if [ "${s[0]}" = 0 ]; then echo "-"; return; fi
	printf '%.1f / %.1f (%.1f–%.1f, n=%d)' "${s[2]}" "${s[3]}" "${s[1]}" "${s[4]}" "${s[0]}"
}

policy_report() {
	local rounds=$1 secs=$2 p
	echo "## NetworkPolicy: weft-node's enforcement"
	echo
	echo "(a) One node netns, weft-node against the API test double: $POL_PODS pods ($POL_LOCAL on this"
	echo "node, the rest API objects on other node names), $POL_POLICIES policies, 10 namespaces"
	echo "(tests/bench/policy.py objects; $POL_LAT_CHAINS chains, $POL_LAT_SETS sets; first sync $POL_LAT_SYNC ms). $POL_CHANGES times,"
	echo "one policy's port changed through the admin interface; time from the POST's return to the"
	echo "agent's \`weft_node_policy_resource_version\` reaching its resourceVersion (/metrics polled every"
	echo "ms), and to \`nft monitor\` in the node netns printing the rule with the new port (the"
	echo "kernel's commit notification, independent of the agent's word). 100–200 ms between changes."
	echo
	echo "| clock | p50 / p99 ms (min–max, n) |"
	echo "|---|---|"
	echo "| agent metric at the resourceVersion | $(pol_pcell lat "n$POL_PODS" metric ms) |"
	echo "| nft monitor shows the rule | $(pol_pcell lat "n$POL_PODS" nft ms) |"
	echo "| the agent's round (compile + apply, \`policy_last_round_seconds\`) | $(pol_pcell lat "n$POL_PODS" round ms) |"
	echo "| the admin POST itself | $(pol_pcell lat "n$POL_PODS" post ms) |"
	echo
	echo "(b) Datapath: bridge pods (weft's bridge plugin). dp-pol: both pods selected by $POL_DP_POLICIES"
	echo "policies (Ingress + Egress) holding $POL_DP_BLOCKS ipBlock peers, only the last policy's (the"
	echo "pods' /24) matching ($POL_DP_CHAINS chains, $POL_DP_SETS sets, $POL_DP_RULES set-lookup rules in the table; the"
	echo "dispatch map in4 holds $POL_DP_MAPPED addresses). dp-free: two pods of the same node"
	echo "that no policy selects (br_netfilter and conntrack on, no chain of theirs). dp-none: the same"
	echo "path on a node whose agent has no policy. $rounds rounds, the paths rotated; per path and round"
	echo "an iperf3 stream of ${secs} s with both ends on CPU $DP_CPU, the same unpinned, and ${secs} s of short TCP"
	echo "connections one after another (tests/bench/connrate.c: connect, 1 byte, server closes; both ends"
	echo "on CPU $DP_CPU). CPU per byte: busy time of all CPUs over the stream (/proc/stat) per KiB."
	echo
	echo "| path | TCP Gbit/s (pinned) | ÷ dp-none | TCP Gbit/s (unpinned) | CPU ns/KiB (unpinned, /proc/stat) | CPU ns/KiB (pinned) | connections/s | ÷ dp-none |"
	echo "|---|---|---|---|---|---|---|---|"
	for p in "${POL_DP_PATHS[@]}"; do
		echo "| $p | $(bench_cell pol "$p" path tcp gbps 1 2) | $(bench_ratio_cell "pol/$p/path/tcp" pol/dp-none/path/tcp gbps) |" \
			"$(bench_cell pol "$p" path tcp-free gbps 1 2) | $(bench_cell pol "$p" path tcp-free cpu_ns_kib 1 0) |" \
			"$(bench_cell pol "$p" path tcp cpu_ns_kib 1 0) | $(bench_cell pol "$p" path conn cps 1 0) |" \
			"$(bench_ratio_cell "pol/$p/path/conn" pol/dp-none/path/conn cps) |"
	done
	echo
	echo "Pairs (per round): dp-pol/dp-free TCP $(bench_ratio_cell pol/dp-pol/path/tcp pol/dp-free/path/tcp gbps)," \
		"connections $(bench_ratio_cell pol/dp-pol/path/conn pol/dp-free/path/conn cps);" \
		"dp-free/dp-none TCP $(bench_ratio_cell pol/dp-free/path/tcp pol/dp-none/path/tcp gbps)," \
		"connections $(bench_ratio_cell pol/dp-free/path/conn pol/dp-none/path/conn cps);" \
		"CPU per byte (unpinned) dp-pol/dp-none $(bench_ratio_cell pol/dp-pol/path/tcp-free pol/dp-none/path/tcp-free cpu_ns_kib)."
	echo
	echo "(c) One weft-node, $POL_BIG_PODS pods ($POL_BIG_LOCAL on this node), $POL_BIG_POLICIES policies ($POL_BIG_ISOLATED pods"
	echo "isolated, $POL_BIG_CHAINS chains, $POL_BIG_SETS sets); $POL_LABEL_CHANGES label changes of a remote pod that is a peer"
	echo "of its namespace's policies (tier frontend <-> other), each waited for through the metric."
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| first sync (exec to the metric at the API's resourceVersion; median (min–max) of the starts) | $(bench_cell pol big "n$POL_BIG_PODS" sync ms 1 0) ms |"
	echo "| peak RSS (VmHWM) after the first sync / after the changes | $(bench_cell pol big "n$POL_BIG_PODS" hwm-sync kib 1024 1) / $(bench_fmt "$POL_HWM" 1024 1) MiB |"
	echo "| RSS (VmRSS) after each change / 1 s after the last | $(bench_cell pol big "n$POL_BIG_PODS" label rss_kib 1024 1) / $(bench_fmt "$POL_RSS" 1024 1) MiB |"
	echo "| agent CPU per label change (utime + stime over the $POL_LABEL_CHANGES changes, /proc/PID/stat) | $POL_CPU_MS ms |"
	echo "| the same per change (the threads' schedstat run time, ns resolution) | $(bench_cell pol big "n$POL_BIG_PODS" label cpu_ms 1 1) ms |"
	echo "| the agent's round per change (\`policy_last_round_seconds\`) | $(bench_cell pol big "n$POL_BIG_PODS" label round_ms 1 1) ms |"
	echo
	if [ "$POL_PROFILE" = ok ]; then
		echo "Where the agent's CPU goes over $POL_PROF_CHANGES more label changes (perf record -F $POL_PROF_HZ --call-graph dwarf):"
		echo "share of its samples under each function (children, self), then the top self entries (dso, symbol)."
		echo
		echo '```'
		cat "$BENCH_TMP/pol-children"
		echo "--"
		cat "$BENCH_TMP/pol-self"
		echo '```'
		echo
	elif [ -n "$POL_PROFILE" ]; then
		echo "$POL_PROFILE."
		echo
	fi
}

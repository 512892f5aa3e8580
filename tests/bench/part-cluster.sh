# shellcheck shell=bash
# make bench, part "cluster": weft-node, the node agent. (a) Convergence on 16 nodes: `netlab run
# cluster --nodes 16` (a weft-node per node namespace against the Kubernetes API test double,
# host-gw), whose last line gives p50/p99 of the time from an API change (admin call) to the
# route added / removed on every other node (netlink notifications). (b) One agent against 5000
# Node objects in the test double (tests/kubeapi/kubeapi.py, loaded in one bulk admin call),
# with a host-gw network on a node netns whose underlay /16 (a veth) makes every peer on-link: the
# first sync + reconcile (from exec to /healthz 200, 4999 routes), peak RSS (VmHWM), agent CPU
# per single Node change (utime + stime over CLUSTER_CHANGES InternalIP changes, each waited
# for in the route table), and idle wake-ups (voluntary context switches of all its threads
# over 10 s, watch bookmarks off: the watch's own events are the only wake-ups it should have).
# Sourced by run.sh (uses lib.sh).

CLUSTER_NODES=${CLUSTER_NODES:-16}
CLUSTER_BIG=${CLUSTER_BIG:-5000}
CLUSTER_CHANGES=${CLUSTER_CHANGES:-20}
CLUSTER_IDLE_S=${CLUSTER_IDLE_S:-10}
CLUSTER_PARTS=${CLUSTER_PARTS:-conv,agent} # a partial run leaves the others' targets unmeasured
CL_KUBEAPI=$BENCH_HERE/../kubeapi/kubeapi.py

# (a) ------------------------------------------------------------------------------------------
cluster_conv() {
	local out=$BENCH_TMP/cluster-run.out line
	bench_log "cluster: netlab run cluster --nodes $CLUSTER_NODES"
	if ! "$WEFT_BIN/netlab" run cluster --nodes "$CLUSTER_NODES" --plugin host-gw \
		--prefix "$BENCH_P" --cni-path "$WEFT_BIN" --kubeapi "$CL_KUBEAPI" >"$out" 2>&1; then
		bench_note "cluster: netlab run cluster --nodes $CLUSTER_NODES failed: $({ grep -m3 FAIL "$out" || grep -A9 'netlab: node-' "$out"; } | tr '\n' ' ')"
	fi
	"$WEFT_BIN/netlab" down cluster --prefix "$BENCH_P" >/dev/null 2>&1 || true
	line=$(tail -n 1 "$out")
	CL_SAMPLES_LINE=$(grep '^convergence samples:' "$out" | tail -n 1) || true
	read -r CL_ADD50 CL_ADD99 CL_DEL50 CL_DEL99 < <(sed -nE \
		's/^convergence: add p50 ([0-9]+) ms p99 ([0-9]+) ms; delete p50 ([0-9]+) ms p99 ([0-9]+) ms$/\1 \2 \3 \4/p' <<<"$line") || true
	[ -n "${CL_ADD99:-}" ] || { CL_ADD50=- CL_ADD99=- CL_DEL50=- CL_DEL99=-; }
	CL_CHECKS=$(grep -E '^[0-9]+ checks, [0-9]+ failed$' "$out" | tail -n 1) || true
	CL_RESTART=$(sed -nE "s/.*ghost-0's route, after the restart: .* the last after ([0-9.]+) ms/\1/p" "$out")
	CL_RELIST=$(sed -nE "s/.*ghost-0's route removed, after the relist: .* the last after ([0-9.]+) ms/\1/p" "$out")
	local v
	for v in ADD50 ADD99 DEL50 DEL99; do
		local x=CL_$v
		[ "${!x}" = - ] || bench_sample cluster conv "n$CLUSTER_NODES" "$v" 1 ms "${!x}"
	done
}

# (b) ------------------------------------------------------------------------------------------
cl_admin() { bench_admin "$CL_NS" "$CL_ADMIN" "$@"; } # cl_admin PATH [CURL-ARGS]

cl_nodes_json() { # the NodeList: node-a (this node) and N-1 others, on-link on the /16
	python3 - "$1" "$CLUSTER_BIG" <<'PY'
import json, sys
n = int(sys.argv[2])
def node(name, cidr, ip):
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr},
            "status": {"addresses": [{"type": "Hostname", "address": name},
                                     {"type": "InternalIP", "address": ip}]}}
items = [node("node-a", "10.63.255.0/24", "172.16.255.254")]
for i in range(n - 1):
    items.append(node("big-%04d" % i, "10.%d.%d.0/24" % (64 + i // 256, i % 256),
                      "172.16.%d.%d" % (i // 250, 1 + i % 250)))
json.dump({"items": items}, open(sys.argv[1], "w"))
PY
}

cl_setup() {
	local d=$BENCH_TMP/cl
	mkdir -p "$d/net.d"
	CL_NS=$(bench_ns cl-node)
	# a veth pair inside the node (no dummy module needed): ul0 carries the underlay /16
	ip -n "$CL_NS" link add ul0 type veth peer name ul0p || return 1
	ip -n "$CL_NS" addr add 172.16.255.254/16 dev ul0 || return 1
	ip -n "$CL_NS" link set ul0p up
	ip -n "$CL_NS" link set ul0 up
	local t
	bench_kubeapi "$CL_NS" "$d" || return 1
	CL_ADMIN=$(bench_ka_port "$d" admin)
	jq -n --arg d "$d" '{cniVersion: "1.0.0", name: "bnet", type: "host-gw", bridge: "wbr0",
		nodeName: "node-a", stateDir: ($d + "/state"), peersFile: ($d + "/peers.json"),
		clusterCIDR: "10.0.0.0/8",
		ipam: {type: "host-local", subnet: "10.63.255.0/24", dataDir: ($d + "/ipam")}}' \
		>"$d/net.d/10-bnet.conf"
	cl_nodes_json "$d/nodes.json"
	t=$(date +%s%N)
	cl_admin /objects/api/v1/nodes -XPOST --data-binary "@$d/nodes.json" >/dev/null || return 1
	bench_log "cluster: $CLUSTER_BIG Nodes loaded in one admin call in $((($(date +%s%N) - t) / 1000000)) ms"
}

cl_routes() { ip -n "$CL_NS" route show proto 0x57 | wc -l; }
cl_cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$CL_PID/stat"; }
cl_vcsw() { cat /proc/"$CL_PID"/task/*/status | awk '/^voluntary_ctxt_switches/ { s += $2 } END { print s }'; }

cl_agent_start() { # sets CL_PID, CL_SYNC_MS
	local d=$BENCH_TMP/cl mport=$((20000 + RANDOM % 20000)) t0 t
	t0=$(date +%s%N)
	ip netns exec "$CL_NS" "$WEFT_BIN/weft-node" --kubeconfig "$d/kubeconfig" --node-name node-a \
		--cni-conf-dir "$d/net.d" --metrics-addr "127.0.0.1:$mport" >"$d/agent.log" 2>&1 &
	CL_PID=$!
	bench_bg "$CL_PID"
	for ((t = 0; t < 3000; t++)); do
		ip netns exec "$CL_NS" curl -sf -o /dev/null "http://127.0.0.1:$mport/healthz" && break
		sleep 0.01
	done
	CL_SYNC_MS=$((($(date +%s%N) - t0) / 1000000))
	[ "$(cl_routes)" -eq $((CLUSTER_BIG - 1)) ]
}

cl_change() { # cl_change K: big-K gets a new InternalIP; waits for its route to move
	local k=$1 i cidr ip t
	i=$k
	cidr="10.$((64 + i / 256)).$((i % 256)).0/24"
	ip="172.16.$((200 + k / 250)).$((1 + k % 250))"
	cl_admin /objects/api/v1/nodes -XPOST -d "$(printf '{"metadata":{"name":"big-%04d"},"spec":{"podCIDR":"%s"},"status":{"addresses":[{"type":"InternalIP","address":"%s"}]}}' "$k" "$cidr" "$ip")" >/dev/null
	for ((t = 0; t < 1000; t++)); do
		ip -n "$CL_NS" route show "$cidr" | grep -q "via $ip " && return 0
		sleep 0.01
	done
	return 1
}

cluster_agent() {
	local c0 c1 k hz s0 s1
	bench_log "cluster: one weft-node against $CLUSTER_BIG Nodes"
	if ! cl_setup; then
		bench_note "cluster: the API test double did not start ($(tail -n 2 "$BENCH_TMP/cl/kubeapi.log" 2>/dev/null))"
		return 0
	fi
	if ! cl_agent_start; then
		bench_note "cluster: weft-node did not route $((CLUSTER_BIG - 1)) peers: $(cl_routes) routes ($(tail -n 2 "$BENCH_TMP/cl/agent.log"))"
		return 0
	fi
	CL_HWM_SYNC=$(awk '/^VmHWM/ { print $2 }' "/proc/$CL_PID/status")
	sleep 0.5
	hz=$(getconf CLK_TCK)
	c0=$(cl_cpu_ticks)
	for ((k = 1; k <= CLUSTER_CHANGES; k++)); do
		cl_change "$k" || { bench_note "cluster: change $k was not applied"; return 0; }
	done
	c1=$(cl_cpu_ticks)
	CL_CPU_MS=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v n="$CLUSTER_CHANGES" \
		'BEGIN { printf "%.1f", (b - a) * 1000 / hz / n }')
	CL_HWM=$(awk '/^VmHWM/ { print $2 }' "/proc/$CL_PID/status")
	sleep 1
	s0=$(cl_vcsw)
	sleep "$CLUSTER_IDLE_S"
	s1=$(cl_vcsw)
	CL_WAKE=$(awk -v a="$s0" -v b="$s1" -v t="$CLUSTER_IDLE_S" 'BEGIN { printf "%.1f", (b - a) / t }')
	kill "$CL_PID" 2>/dev/null
	bench_sample cluster agent "n$CLUSTER_BIG" sync 1 ms "$CL_SYNC_MS"
	bench_sample cluster agent "n$CLUSTER_BIG" hwm 1 kib "$CL_HWM"
	bench_sample cluster agent "n$CLUSTER_BIG" change 1 cpu_ms "$CL_CPU_MS"
	bench_sample cluster agent "n$CLUSTER_BIG" idle 1 wakeups_per_s "$CL_WAKE"
}

part_cluster() {
	CL_ADD50=- CL_ADD99=- CL_DEL50=- CL_DEL99=- CL_SYNC_MS=- CL_HWM=- CL_HWM_SYNC=- CL_CPU_MS=- CL_WAKE=-
	CL_SAMPLES_LINE="" CL_CHECKS="" CL_RESTART="" CL_RELIST=""
	if [ ! -x "$WEFT_BIN/weft-node" ] || [ ! -x "$WEFT_BIN/netlab" ]; then
		bench_note "cluster: skipped (no weft-node or netlab in $WEFT_BIN)"
		return 0
	fi
	for t in python3 openssl curl; do
		command -v $t >/dev/null || { bench_note "cluster: skipped ($t missing)"; return 0; }
	done
	case ",$CLUSTER_PARTS," in *,conv,*) cluster_conv ;; esac
	case ",$CLUSTER_PARTS," in *,agent,*) cluster_agent ;; esac
	bench_target "cluster add convergence p99 ($CLUSTER_NODES nodes)" "$CL_ADD99" "<=" 500 ms
	bench_target "cluster delete convergence p99 ($CLUSTER_NODES nodes)" "$CL_DEL99" "<=" 500 ms
	bench_target "agent first sync + reconcile, $CLUSTER_BIG Nodes" "$CL_SYNC_MS" "<=" 1000 ms
	bench_target "agent peak RSS (VmHWM), $CLUSTER_BIG Nodes" "$(bench_fmt "$CL_HWM" 1024 1)" "<=" 24 MiB
	bench_target "agent CPU per Node change, $CLUSTER_BIG Nodes" "$CL_CPU_MS" "<=" 5 ms
	bench_target "agent idle wake-ups beyond the watch" "$CL_WAKE" "<=" 0 /s
	cluster_report >"$BENCH_TMP/md.cluster"
}

cluster_report() {
	echo "## Cluster: weft-node convergence and one agent at $CLUSTER_BIG Nodes"
	echo
	echo "(a) \`netlab run cluster --nodes $CLUSTER_NODES --plugin host-gw\`: a weft-node per node"
	echo "namespace watching the Kubernetes API test double (tests/kubeapi/kubeapi.py); time from the"
	echo "API change (admin call) to the route added / removed on each other node (netlink"
	echo "notification). ${CL_SAMPLES_LINE#convergence samples: }${CL_CHECKS:+; verify: $CL_CHECKS}."
	echo
	echo "| change | p50 ms | p99 ms |"
	echo "|---|---|---|"
	echo "| Node added | $CL_ADD50 | $CL_ADD99 |"
	echo "| Node deleted | $CL_DEL50 | $CL_DEL99 |"
	echo
	echo "Through an outage (not in the percentiles): a Node added while the API server was down"
	echo "(restart, 1.5 s) was routed everywhere ${CL_RESTART:--} ms after its admin call (the rest of the"
	echo "outage plus the agents' reconnect backoff); one deleted during an expired watch (410, relist)"
	echo "was unrouted everywhere after ${CL_RELIST:--} ms."
	echo
	echo "(b) one weft-node, host-gw network, $CLUSTER_BIG Node objects (loaded in one bulk admin call),"
	echo "every peer on-link (an underlay /16 on a veth):"
	echo
	echo "| figure | value |"
	echo "|---|---|"
	echo "| first sync + reconcile (exec to /healthz 200, $((CLUSTER_BIG - 1)) routes) | $CL_SYNC_MS ms |"
	echo "| peak RSS (VmHWM) after the first sync / after the changes | $(bench_fmt "$CL_HWM_SYNC" 1024 1) / $(bench_fmt "$CL_HWM" 1024 1) MiB |"
	echo "| agent CPU per Node change (utime + stime over $CLUSTER_CHANGES InternalIP changes, each applied before the next) | $CL_CPU_MS ms |"
	echo "| idle wake-ups (voluntary context switches of all threads over ${CLUSTER_IDLE_S} s, bookmarks off) | $CL_WAKE /s |"
	echo
}

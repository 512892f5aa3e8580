#!/usr/bin/env bats
# weft-node against the Kubernetes API test double (tests/kubeapi/kubeapi.py), on node A of two
# throwaway "nodes" (multinode.bash): Node objects in the API become routes / FDB entries on
# the node at once, with no pod ADD, and every failure mode of the API leaves them in place.

load helpers
load multinode
load agent

setup() {
	weft_setup
	mn_setup
	ka_setup
	mn_conf host-gw a >"$DATA/net.d/10-mnet.conf"
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || kill -9 "$AGENT_PID" 2>/dev/null || true
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN"
	fi
}

ROUTE_B="10.244.2.0/24 via 192.168.77.2 dev ul0"
ROUTE_C="10.244.3.0/24 via 192.168.77.3 dev ul0"

start_ab() { # nodes a and b, the agent, b routed
	ka_node node-a 1
	ka_node node-b 2
	ka_agent "$@"
	wait_until 10 routes_are "$HOST" "$ROUTE_B" || fail "no route to b: $(agent_log)"
}

@test "agent: a node added to the API is routed at once without a pod ADD; deleted, unrouted" {
	start_ab
	jq -e 'length == 2 and .[0].name == "node-a" and .[1].nodeIP == "192.168.77.2"' \
		"$DATA/peers.json"
	# node B's plugin reads the peersFile the agent wrote; node A reaches B's pod with no pod
	# of its own
	run on_node "$NB" run_plugin ADD host-gw "$(mn_conf host-gw b)" podb eth0 "/run/netns/$PB"
	[ "$status" -eq 0 ] || fail "ADD on b: $output $(plugin_stderr)"
	ipb=$(pod_ip "$output")
	ip netns exec "$HOST" ping -c1 -W2 "$ipb"
	# a pod ADD on A works beside the agent and finds the node state current
	digest=$(cat "$DATA/state-a/mnet/digest")
	run run_plugin ADD host-gw "$(mn_conf host-gw a)" ctr1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ] || fail "ADD on a: $output $(plugin_stderr)"
	[ "$(cat "$DATA/state-a/mnet/digest")" = "$digest" ]
	ip netns exec "$CTR" ping -c1 -W2 "$ipb"
	ka_node node-c 3
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "c: $(routes "$HOST")"
	ka_admin /objects/api/v1/nodes/node-c -XDELETE
	wait_until 5 routes_are "$HOST" "$ROUTE_B" || fail "c stays: $(routes "$HOST")"
	grep -q "node node-c added: podCIDR 10.244.3.0/24 via 192.168.77.3" "$DATA/agent.log"
	grep -q "node node-c removed" "$DATA/agent.log"
	jq -e 'length == 2' "$DATA/peers.json"
}

@test "agent: an InternalIP change moves the route; the peer set is written only when it changes" {
	start_ab
	ka_node node-b 2 22
	wait_until 5 routes_are "$HOST" "10.244.2.0/24 via 192.168.77.22 dev ul0" ||
		fail "$(routes "$HOST") $(agent_log)"
	grep -q "node node-b changed: podCIDR 10.244.2.0/24 via 192.168.77.22" "$DATA/agent.log"
	n=$(grep -c "wrote $DATA/peers.json" "$DATA/agent.log")
	# the same node again (a new resourceVersion, same fields): nothing rewritten
	ka_node node-b 2 22
	sleep 0.5
	[ "$(grep -c "wrote $DATA/peers.json" "$DATA/agent.log")" -eq "$n" ]
}

@test "agent: 410 Gone after an outage relists, and the relist is diffed against the cache" {
	start_ab
	ka_admin "/restart?down_ms=1500" -XPOST >/dev/null &
	rp=$!
	sleep 0.3
	ka_node node-c 3
	ka_admin /objects/api/v1/nodes/node-b -XDELETE
	wait "$rp"
	ka_admin /compact -XPOST >/dev/null
	ka_admin /drop -XPOST >/dev/null
	wait_until 10 routes_are "$HOST" "$ROUTE_C" || fail "$(routes "$HOST") $(agent_log)"
	grep -q "node node-b removed" "$DATA/agent.log"
}

@test "agent: while the API is away nothing is flushed; after a restart it catches up" {
	start_ab
	ka_admin "/restart?down_ms=2500" -XPOST >/dev/null &
	rp=$!
	sleep 1.5
	routes_are "$HOST" "$ROUTE_B"
	[ "$(ip netns exec "$HOST" curl -s "http://127.0.0.1:$MPORT/healthz")" = ok ]
	wait "$rp"
	ka_node node-c 3
	wait_until 10 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "$(agent_log)"
	grep -q "connection lost" "$DATA/agent.log"
	[ "$(metric watch_restarts_total)" -ge 1 ]
}

@test "agent: a refused token is logged clearly (never printed), retried slowly by one probe for every informer, nothing flushed" {
	start_ab # the Nodes informer and the three NetworkPolicy ones share the client's gate
	ka_admin /config -XPOST -d '{"token":"rotated-elsewhere"}' >/dev/null
	ka_admin /drop -XPOST >/dev/null
	wait_until 5 grep -q "does not accept this client's credentials" "$DATA/agent.log" ||
		fail "$(agent_log)"
	! grep -q "$KA_TOKEN" "$DATA/agent.log"
	routes_are "$HOST" "$ROUTE_B"
	[ "$(metric auth_errors_total)" -ge 1 ]
	# slowly: requests in flight when the token changed fail once each, then one probe every
	# 10 s for the whole client
	sleep 1
	local a r
	a=$(metric auth_errors_total)
	r=$(ka_admin /stats | jq .requests)
	sleep 10.5
	[ "$(metric auth_errors_total)" -le $((a + 2)) ]
	[ $(($(ka_admin /stats | jq .requests) - r)) -le 2 ]
	[ "$(grep -c "does not accept this client's credentials" "$DATA/agent.log")" = 1 ]
	ka_admin /config -XPOST -d "{\"token\":\"$KA_TOKEN\"}" >/dev/null
	ka_node node-c 3
	wait_until 15 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "$(agent_log)"
	grep -q "accepts this client's credentials again" "$DATA/agent.log"
}

@test "agent: a rotated token file is read again; client certificates and -data fields work" {
	echo tok-1 >"$DATA/token"
	ka_kubeconfig "$DATA/kubeconfig" "tokenFile: token"
	ka_admin /config -XPOST -d '{"token":"tok-1"}' >/dev/null
	start_ab
	echo tok-2 >"$DATA/token.new" && mv "$DATA/token.new" "$DATA/token"
	ka_admin /config -XPOST -d '{"token":"tok-2"}' >/dev/null
	ka_admin /drop -XPOST >/dev/null
	ka_node node-c 3
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "$(agent_log)"
	grep -q "token file $DATA/token changed" "$DATA/agent.log"
	[ "$(metric auth_errors_total)" -eq 0 ]
	kill "$AGENT_PID"
	wait "$AGENT_PID" || true
	# no token at all: a client certificate, everything inline as base64
	ka_kubeconfig "$DATA/kubeconfig" \
		"client-certificate-data: $(base64 -w0 "$DATA/pki/client.crt")" \
		"client-key-data: $(base64 -w0 "$DATA/pki/client.key")"
	sed -i "s|certificate-authority: pki/ca.crt|certificate-authority-data: $(base64 -w0 "$DATA/pki/ca.crt")|" \
		"$DATA/kubeconfig"
	ka_admin /objects/api/v1/nodes/node-c -XDELETE
	ka_agent
	wait_until 10 routes_are "$HOST" "$ROUTE_B" || fail "$(agent_log)"
}

@test "agent: malformed events relist; Nodes without addresses or pod CIDR wait; bad fields skip" {
	start_ab
	ka_admin "/raw?path=/api/v1/nodes" -XPOST -d 'this is not json' >/dev/null
	ka_node node-c 3
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "$(agent_log)"
	grep -q "malformed watch event (not JSON)" "$DATA/agent.log"
	ka_admin "/raw?path=/api/v1/nodes" -XPOST -d '{"type":"ADDED","object":{"metadata":{}}}' >/dev/null
	ka_admin "/raw?path=/api/v1/nodes" -XPOST -d '{"type":"EXPLODED","object":{"metadata":{"name":"x","resourceVersion":"1"}}}' >/dev/null
	ka_admin /objects/api/v1/nodes -XPOST -d '{"metadata":{"name":"node-e"},"spec":{"podCIDR":"10.244.5.0/24"},"status":{}}' >/dev/null
	ka_admin /objects/api/v1/nodes -XPOST -d '{"metadata":{"name":"node-f"},"spec":{},"status":{"addresses":[{"type":"InternalIP","address":"192.168.77.6"}]}}' >/dev/null
	ka_node node-g 7 7 not-a-cidr
	ka_node node-d 4
	want="$ROUTE_B"$'\n'"$ROUTE_C"$'\n'"10.244.4.0/24 via 192.168.77.4 dev ul0"
	wait_until 5 routes_are "$HOST" "$want" || fail "$(routes "$HOST") $(agent_log)"
	wait_until 5 grep -q 'node node-g skipped: .*invalid podCIDR "not-a-cidr"' "$DATA/agent.log" ||
		fail "$(agent_log)"
	! grep -q "node-e skipped\|node-f skipped" "$DATA/agent.log"
	[ "$(metric malformed_events_total)" -ge 2 ]
	[ "$(metric reconcile_errors_total)" -eq 0 ]
	kill -0 "$AGENT_PID"
}

@test "agent: hijacking nodes are skipped with a line naming the field; the rest are applied" {
	mn_conf host-gw a '{"clusterCIDR":"10.244.0.0/16"}' >"$DATA/net.d/10-mnet.conf"
	ka_node node-a 1
	ka_node node-b 2
	ka_node node-all 9 9 0.0.0.0/0
	ka_node node-ul 10 10 192.168.77.0/24
	ka_node node-me 11 1
	ka_node node-twin1 12 30
	ka_node node-twin2 13 30
	ka_node node-out 14 14 10.99.0.0/24
	ka_node node-over 15 15 10.244.1.128/25
	ka_node node-ok 16 16
	ka_agent
	want="10.244.16.0/24 via 192.168.77.16 dev ul0"$'\n'"$ROUTE_B"
	wait_until 10 routes_are "$HOST" "$want" || fail "$(routes "$HOST") $(agent_log)"
	wait_until 5 grep -q "node node-ok added" "$DATA/agent.log"
	l() { grep -q "node $1 skipped: $2" "$DATA/agent.log" || fail "$1 !~ $2: $(agent_log)"; }
	l node-all "spec.podCIDR 0.0.0.0/0 is /0"
	l node-ul "spec.podCIDR 192.168.77.0/24 overlaps this node's address"
	l node-me "status.addresses InternalIP 192.168.77.1 is an address of this node"
	l node-twin1 "status.addresses InternalIP 192.168.77.30 clashes with node \"node-twin2\""
	l node-twin2 "status.addresses InternalIP 192.168.77.30 clashes with node \"node-twin1\""
	l node-out "network mnet: spec.podCIDR 10.99.0.0/24 is outside clusterCIDR 10.244.0.0/16"
	l node-over "spec.podCIDR 10.244.1.128/25 clashes with node \"node-a\" (this node)"
	jq -e '[.[].name] == ["node-a", "node-b", "node-ok"]' "$DATA/peers.json"
	[ "$(metric skipped_nodes)" -eq 7 ]
	[ "$(metric peers)" -eq 3 ] # node-out is in the cluster's set, scoped out by mnet
}

@test "agent: a 20 MB NodeList of 2000 nodes is listed in pages and routed" {
	ip -n "$HOST" addr add 172.16.255.254/16 dev ul0
	python3 - "$DATA/nodes.json" <<'PY'
import json, sys
pad = "x" * 10000
items = [{"metadata": {"name": "node-a", "annotations": {"pad": pad}},
          "spec": {"podCIDR": "10.244.1.0/24"},
          "status": {"addresses": [{"type": "InternalIP", "address": "192.168.77.1"}]}}]
for i in range(2000):
    items.append({"metadata": {"name": "big-%04d" % i, "annotations": {"pad": pad}},
                  "spec": {"podCIDR": "10.%d.%d.0/24" % (64 + i // 256, i % 256)},
                  "status": {"addresses": [{"type": "InternalIP",
                                            "address": "172.16.%d.%d" % (i // 250, 1 + i % 250)}]}})
json.dump({"items": items}, open(sys.argv[1], "w"))
PY
	[ "$(stat -c %s "$DATA/nodes.json")" -gt 20000000 ]
	ka_admin /objects/api/v1/nodes -XPOST --data-binary "@$DATA/nodes.json" >/dev/null
	ka_agent
	wait_until 60 nroutes_are 2000 ||
		fail "$(ip -n "$HOST" route show proto 0x57 | wc -l) routes $(agent_log)"
	jq -e 'length == 2001' "$DATA/peers.json"
	[ "$(ka_admin /stats | jq .lists)" -ge 5 ] # 2001 nodes in pages of 500
	echo "# agent peak RSS $(grep VmHWM /proc/"$AGENT_PID"/status)" >&3
}

@test "agent: /healthz is 503 until the first sync and reconcile, then 200; /metrics" {
	ka_admin /config -XPOST -d '{"delay_ms": 1500}' >/dev/null
	ka_node node-a 1
	ka_node node-b 2
	ka_agent
	wait_until 5 ip netns exec "$HOST" curl -s -o /dev/null "http://127.0.0.1:$MPORT/healthz"
	[ "$(ip netns exec "$HOST" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/healthz")" = 503 ]
	wait_until 10 ip netns exec "$HOST" curl -sf "http://127.0.0.1:$MPORT/healthz"
	ka_admin /config -XPOST -d '{"delay_ms": 0}' >/dev/null
	routes_are "$HOST" "$ROUTE_B"
	m=$(ip netns exec "$HOST" curl -sf "http://127.0.0.1:$MPORT/metrics")
	for n in peers reconciles_total reconcile_errors_total watch_restarts_total \
		seconds_since_last_sync 'reconcile_duration_seconds_bucket{le="+Inf"}' \
		reconcile_duration_seconds_count; do
		grep -qF "weft_node_$n " <<<"$m" || fail "no $n in $m"
	done
	[ "$(metric peers)" -eq 1 ]
	[ "$(metric networks)" -eq 1 ]
	[ "$(metric ready)" -eq 1 ]
	[ "$(ip netns exec "$HOST" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nope")" = 404 ]
}

@test "agent: a plugin's reconcile beside the agent is seen: the agent reads the state again" {
	start_ab
	ka_node node-c 3
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "c: $(routes "$HOST")"
	# a plugin with another view of the peers (c left out) reconciles behind the agent's back:
	# c's route goes, and records of it are appended to the state the agent keeps in memory
	mn_peers "$DATA/other.json" a b
	run run_plugin ADD host-gw "$(mn_conf host-gw a "{\"peersFile\":\"$DATA/other.json\"}")" \
		ctr1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ] || fail "ADD: $output $(plugin_stderr)"
	routes_are "$HOST" "$ROUTE_B"
	# the next change: the agent finds the state files changed, reads them, and makes c's
	# route again along with d's (a stale copy would have thought c's route still there)
	ka_node node-d 4
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C"$'\n'"10.244.4.0/24 via 192.168.77.4 dev ul0" ||
		fail "$(routes "$HOST") $(agent_log)"
}

@test "agent: SIGTERM leaves the node state; --cleanup removes it; nothing left behind" {
	start_ab
	ka_node node-c 3 # a change after the first round: a record in applied.log
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "c: $(routes "$HOST")"
	[ -s "$DATA/state-a/mnet/applied.log" ]
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	grep -q "exiting; node-level state is left in place" "$DATA/agent.log"
	routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C"
	[ -s "$DATA/peers.json" ] && [ -s "$DATA/state-a/mnet/applied.json" ]
	run ip netns exec "$HOST" "$BIN/weft-node" --cleanup --node-name node-a \
		--cni-conf-dir "$DATA/net.d"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(routes "$HOST")" ]
	[ ! -e "$DATA/peers.json" ] && [ ! -e "$DATA/state-a/mnet/applied.json" ]
	[ ! -e "$DATA/state-a/mnet/digest" ] && [ ! -e "$DATA/state-a/mnet/applied.log" ]
	# Routes left by a lost state: with clusterCIDR, --cleanup sweeps those inside it only.
	ip -n "$HOST" route add 10.244.2.0/24 via "$UL_B" proto 0x57
	ip -n "$HOST" route add 10.99.0.0/16 via "$UL_B" proto 0x57
	mn_conf host-gw a '{"clusterCIDR":"10.244.0.0/16"}' >"$DATA/net.d/10-mnet.conf"
	run ip netns exec "$HOST" "$BIN/weft-node" --cleanup --node-name node-a \
		--cni-conf-dir "$DATA/net.d"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(routes "$HOST")" = "10.99.0.0/16 via $UL_B dev ul0" ] || fail "$(routes "$HOST")"
}

@test "agent: vxlan: a node added gets its neighbour, FDB entry and route; deleted, all gone" {
	rm "$DATA/net.d/10-mnet.conf"
	mn_conf vxlan a | jq -c '{cniVersion, name, plugins: [del(.cniVersion, .name)]}' \
		>"$DATA/net.d/20-vnet.conflist"
	start_vx() {
		ka_node node-a 1
		ka_node node-b 2
		ka_agent
	}
	start_vx
	fdb() { bridge -n "$HOST" fdb show dev weft.1 | grep -c "dst 192.168.77.$1 self permanent"; }
	fdb_is() { [ "$(fdb "$1")" -eq "$2" ]; }
	wait_until 10 fdb_is 2 1 || fail "$(agent_log)"
	ip -n "$HOST" neigh show dev weft.1 | grep -q "10.244.2.0 lladdr .* PERMANENT"
	routes_are "$HOST" "10.244.2.0/24 via 10.244.2.0 dev weft.1"
	ka_node node-c 3
	wait_until 5 fdb_is 3 1 || fail "$(agent_log)"
	ka_admin /objects/api/v1/nodes/node-b -XDELETE
	wait_until 5 fdb_is 2 0 || fail "$(agent_log)"
	! ip -n "$HOST" neigh show dev weft.1 | grep -q "10.244.2.0 "
	routes_are "$HOST" "10.244.3.0/24 via 10.244.3.0 dev weft.1"
	# this node's own InternalIP changes: its device moves to the new local address and MAC
	# (no restart, no pod ADD), and keeps the other node's entries
	local_is() { ip -n "$HOST" -j -d link show weft.1 | jq -e --arg a "$1" '.[0].linkinfo.info_data.local == $a' >/dev/null; }
	mac0=$(ip -n "$HOST" -j link show weft.1 | jq -r '.[0].address')
	ip -n "$HOST" addr add 192.168.77.11/24 dev ul0
	ka_node node-a 1 11
	wait_until 5 local_is 192.168.77.11 || fail "$(agent_log)"
	[ "$(ip -n "$HOST" -j link show weft.1 | jq -r '.[0].address')" != "$mac0" ]
	grep -q 'vxlan device "weft.1": local address 192.168.77.1 -> 192.168.77.11' "$DATA/agent.log"
	wait_until 5 fdb_is 3 1 || fail "$(agent_log)"
	jq -e '.[] | select(.name == "node-a") | .nodeIP == "192.168.77.11"' "$DATA/peers.json"
	kill "$AGENT_PID"
	run ip netns exec "$HOST" "$BIN/weft-node" --cleanup --node-name node-a \
		--cni-conf-dir "$DATA/net.d"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(fdb 3)" -eq 0 ]
	[ -z "$(routes "$HOST")" ]
}

@test "agent: ebpf: the peersFile until a pod pins the datapath; then routes and remote map entries at once; --cleanup" {
	command -v bpftool >/dev/null || skip "bpftool is required"
	PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN"
	econf() { mn_conf ebpf a "{\"pinRoot\":\"$PIN\",\"ipMasq\":true,\"clusterCIDR\":\"10.244.0.0/16\"}"; }
	remote_n() { bpftool -j map dump pinned "$(echo "$PIN"/mnet/remote_v*)" | jq length; }
	remote_is() { [ "$(remote_n)" -eq "$1" ]; }
	econf >"$DATA/net.d/10-mnet.conf"
	# node-x is reached through a gateway: never in this node's set, pinned or not (else the
	# first pod's ADD would refuse the whole peersFile)
	ip -n "$HOST" route add 192.168.77.9/32 via 192.168.77.2
	ka_node node-a 1
	ka_node node-b 2
	ka_node node-x 9
	ka_agent
	wait_until 10 jq -e 'length == 2' "$DATA/peers.json" || fail "no peersFile: $(agent_log)"
	grep -q "node-x.*not on-link" "$DATA/agent.log" || fail "$(agent_log)"
	# no pod of the network here: nothing pinned, the peersFile only (said once)
	grep -q "network mnet: .*no pod here yet, the peersFile only" "$DATA/agent.log"
	[ -z "$(routes "$HOST")" ]
	# the first pod's ADD pins the datapath and applies the peersFile
	run run_plugin ADD ebpf "$(econf)" ctr1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ] || fail "ADD: $output $(plugin_stderr)"
	routes_are "$HOST" "$ROUTE_B"
	remote_is 1
	# from now on the agent: a node added gets its route and remote map entry, no pod ADD
	ka_node node-c 3
	wait_until 5 routes_are "$HOST" "$ROUTE_B"$'\n'"$ROUTE_C" || fail "c: $(routes "$HOST") $(agent_log)"
	wait_until 5 remote_is 2 || fail "remote map: $(remote_n) entries $(agent_log)"
	# the agent reconciles with the plugin's parameters: a pod ADD finds the state current
	digest=$(cat "$DATA/state-a/mnet/digest")
	C2=$(weft_netns_add ctr2)
	run run_plugin ADD ebpf "$(econf)" ctr2 eth0 "/run/netns/$C2"
	[ "$status" -eq 0 ] || fail "ADD 2: $output $(plugin_stderr)"
	[ "$(cat "$DATA/state-a/mnet/digest")" = "$digest" ]
	ka_admin /objects/api/v1/nodes/node-b -XDELETE
	wait_until 5 routes_are "$HOST" "$ROUTE_C" || fail "b stays: $(routes "$HOST")"
	remote_is 1
	kill "$AGENT_PID"
	wait "$AGENT_PID" || true
	run ip netns exec "$HOST" "$BIN/weft-node" --cleanup --node-name node-a \
		--cni-conf-dir "$DATA/net.d"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(routes "$HOST")" ]
	remote_is 0
	[ ! -e "$DATA/peers.json" ] && [ ! -e "$DATA/state-a/mnet/applied.json" ]
}

@test "agent: idle, the agent does not wake up (no polling loop)" {
	ka_admin /config -XPOST -d '{"bookmark_ms": 600000}' >/dev/null
	start_ab
	sleep 0.5
	sw() { cat /proc/"$AGENT_PID"/task/*/status | awk '/voluntary_ctxt_switches/ {s += $2} END {print s}'; }
	a=$(sw)
	sleep 3
	b=$(sw)
	[ $((b - a)) -le 2 ] || fail "$((b - a)) context switches in 3 s"
}

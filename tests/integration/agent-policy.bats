#!/usr/bin/env bats
# weft-node's NetworkPolicy enforcement for bridge pods (nftables, table inet weft-policy),
# against the Kubernetes API test double: three pods of a bridge network in a throwaway node
# netns, Pods/Namespaces/NetworkPolicies posted to the API, real TCP connections probed.
# The truth table over every field of the API is `netlab run policy` (netlab-policy.bats);
# these tests pin the agent's behaviour: what is enforced, when, and what is left behind.

load helpers
load agent

setup() {
	weft_setup
	ka_setup
	command -v python3 >/dev/null || fail "python3 is required"
	jq -cn --arg d "$DATA" '{cniVersion: "1.0.0", name: "pnet", type: "bridge",
		bridge: "wpbr0", isGateway: true,
		ipam: {type: "host-local", subnet: "10.98.0.0/24", dataDir: $d}}' >"$DATA/net.d/10-pnet.conf"
	ka_ns x
	ka_ns y
	pod x a 1
	pod x b 2
	pod y c 3
}

teardown() {
	[ -z "${AGENT_PID:-}" ] || kill -9 "$AGENT_PID" 2>/dev/null || true
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN"
	fi
}

fail() {
	echo "$*" >&2
	return 1
}

ka_ns() { # ka_ns NAME: a Namespace labelled ns=NAME
	ka_admin /objects/api/v1/namespaces -XPOST \
		-d "{\"metadata\":{\"name\":\"$1\",\"labels\":{\"ns\":\"$1\"}}}" >/dev/null
}

# pod NS NAME N: add_pod (below), then the Pod object (labels pod=NAME, named port "web" = 80)
# with the IP the ADD returned, as kubelet reports it.
pod() {
	add_pod "$1" "$2" "$3"
	ka_admin /objects/api/v1/namespaces/"$1"/pods -XPOST \
		-d "$(pod_json "$1" "$2" "$(ip_of "$1.$2")" "pod=$2")" >/dev/null
}

serve() { # serve NETNS: a TCP server on 80 and 81 answering "ok"
	ip netns exec "$1" python3 -c '
import socket, threading, time
def serve(p):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
for p in (80, 81): threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(3600)' >/dev/null 2>&1 &
}

pod_json() { # NS NAME IP LABEL=VALUE
	jq -cn --arg ns "$1" --arg n "$2" --arg ip "$3" --arg k "${4%%=*}" --arg v "${4#*=}" '{
		metadata: {namespace: $ns, name: $n, labels: {($k): $v}},
		spec: {nodeName: "node-a", containers: [{name: "c",
			ports: [{name: "web", containerPort: 80, protocol: "TCP"}]}]},
		status: {podIP: $ip, podIPs: [{ip: $ip}]}}'
}

ip_of() { cat "$DATA/ip.$1"; }

# can FROM TO PORT: a TCP connection from pod FROM (ns.name, or "node") to pod TO succeeds
can() {
	local from=$1 to=$2 port=$3 ns=$HOST
	[ "$from" = node ] || ns=$(cat "$DATA/netns.$from")
	ip netns exec "$ns" python3 -c '
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=0.7)
    sys.exit(0 if s.recv(2) == b"ok" else 1)
except OSError:
    sys.exit(1)' "$(ip_of "$to")" "$port"
}

cannot() { ! can "$@"; }

# apply JSON: posts a NetworkPolicy (namespace from the object) and waits until the agent
# enforces what the API holds now
apply() {
	local ns
	ns=$(jq -r .metadata.namespace <<<"$1")
	ka_admin "/objects/apis/networking.k8s.io/v1/namespaces/$ns/networkpolicies" -XPOST -d "$1" >/dev/null
	enforced
}

enforced() { # the agent's rules reflect everything the API holds now
	local rv
	rv=$(ka_admin /stats | jq -r .rv)
	wait_until 10 rv_at_least "$rv" || fail "policy not enforced within 10 s: $(agent_log)"
}

rv_at_least() {
	local v
	v=$(metric policy_resource_version)
	[ -n "$v" ] && [ "${v%.*}" -ge "$1" ]
}

is_ready() { [ "$(metric ready)" = 1 ]; }

start_agent() {
	ka_node node-a 1 1 10.98.0.0/24
	ka_agent "$@"
	wait_until 10 is_ready || fail "agent not ready: $(agent_log)"
	enforced
}

# add_pod NS NAME N [ARGS]: pod netns, ADD with the runtime's K8S_POD_* args (+ ARGS), a server
# in it; no Pod object is posted or updated (the API does not know its IP). The network:
# $POD_PLUGIN and $POD_CONF (default: the bridge network pnet).
add_pod() {
	local ns=$1 name=$2 n=$3 netns out ip
	netns=$(weft_netns_add "p$n")
	out=$(CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=$ns;K8S_POD_NAME=$name${4:+;$4}" \
		run_plugin ADD "${POD_PLUGIN:-bridge}" "${POD_CONF:-$DATA/net.d/10-pnet.conf}" \
		"ctr$n" eth0 "/run/netns/$netns") ||
		fail "ADD $ns/$name: $out $(plugin_stderr)"
	ip=$(json_get "$out" '.ips[0].address | split("/")[0]')
	echo "$ip" >"$DATA/ip.$ns.$name"
	echo "$netns" >"$DATA/netns.$ns.$name"
	serve "$netns"
	wait_until 5 can node "$ns.$name" 80 || fail "$ns/$name's server did not start"
}

pending() { # pending NS NAME LABEL=VALUE: the Pod bound to node-a, no IP yet
	ka_admin /objects/api/v1/namespaces/"$1"/pods -XPOST \
		-d "$(pod_json "$1" "$2" "" "$3" | jq -c 'del(.status)')" >/dev/null
}

stop_agent() {
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
}

table() { ip netns exec "$HOST" nft list table inet weft-policy; }

deny_ingress_x='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy",
  "metadata":{"namespace":"x","name":"deny-in"},"spec":{"podSelector":{},"policyTypes":["Ingress"]}}'

@test "agent-policy: deny-all ingress isolates x's pods; the node still reaches them; deleting it restores" {
	start_agent
	can y.c x.a 80
	apply "$deny_ingress_x"
	cannot y.c x.a 80
	cannot x.b x.a 81
	cannot y.c x.b 80
	can x.a y.c 80 # y is not selected
	can node x.a 80 # kubelet probes
	[ "$(metric policy_isolated_pods)" = 2 ]
	ip netns exec "$HOST" nft list table inet weft-policy | grep -q "$(ip_of x.a) : jump pi-"
	ka_admin /objects/apis/networking.k8s.io/v1/namespaces/x/networkpolicies/deny-in -XDELETE >/dev/null
	enforced
	can y.c x.a 80
	[ "$(metric policy_chains)" = 0 ]
	! ip netns exec "$HOST" nft list table inet weft-policy | grep -q "jump pi-"
}

@test "agent-policy: allow from a namespace on a named port only; replies pass through conntrack" {
	start_agent
	apply '{"metadata":{"namespace":"x","name":"web-from-y"},"spec":{"podSelector":{"matchLabels":{"pod":"a"}},
		"ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"ns":"y"}}}],"ports":[{"port":"web"}]}]}}'
	can y.c x.a 80
	cannot y.c x.a 81
	cannot x.b x.a 80
	can x.b y.c 80 # x/b is not selected
	# x/b's answer enters x/a, whose ingress is closed to x/b: conntrack lets it in
	can x.a x.b 81
}

@test "agent-policy: egress with ipBlock except; the pod may still answer connections it accepted" {
	start_agent
	local c
	c=$(ip_of y.c)
	apply "$(jq -cn --arg c "$c" '{metadata: {namespace: "x", name: "eg"}, spec: {
		podSelector: {matchLabels: {pod: "a"}}, policyTypes: ["Egress"],
		egress: [{to: [{ipBlock: {cidr: "10.98.0.0/24", except: [($c + "/32")]}}],
			ports: [{protocol: "TCP", port: 80, endPort: 81}]}]}}')"
	can x.a x.b 80
	can x.a x.b 81
	cannot x.a y.c 80
	serve "$HOST"
	echo 10.98.0.1 >"$DATA/ip.node"
	wait_until 5 can node node 80 || fail "the node's server did not start"
	can x.a node 80 # the node it runs on is always reachable
	can y.c x.a 80 # ingress is not isolated; the answer leaves by conntrack
	[ "$(metric policy_sets)" -ge 1 ]
	ip netns exec "$HOST" nft list table inet weft-policy | grep -q "tcp dport 80-81 return"
}

@test "agent-policy: a label change moves a pod out of and back into a policy's selector" {
	start_agent
	apply '{"metadata":{"namespace":"x","name":"only-a"},"spec":{"podSelector":{"matchLabels":{"pod":"a"}},
		"ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"client"}}}]}]}}'
	cannot x.b x.a 80
	ka_admin /objects/api/v1/namespaces/x/pods -XPOST -d "$(pod_json x b "$(ip_of x.b)" role=client)" >/dev/null
	enforced
	can x.b x.a 80
	ka_admin /objects/api/v1/namespaces/x/pods -XPOST -d "$(pod_json x a "$(ip_of x.a)" pod=z)" >/dev/null
	enforced
	can y.c x.a 80 # x/a no longer selected
	[ "$(metric policy_chains)" = 0 ]
}

@test "agent-policy: SIGTERM leaves the rules in force; a new agent adopts them; --cleanup removes the table" {
	start_agent
	apply "$deny_ingress_x"
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
	cannot y.c x.a 80 # still enforced with no agent
	start_agent
	cannot y.c x.a 80
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID" || true
	AGENT_PID=
	ip netns exec "$HOST" "$BIN/weft-node" --kubeconfig "$DATA/kubeconfig" --node-name node-a \
		--cni-conf-dir "$DATA/net.d" --cleanup
	! ip netns exec "$HOST" nft list table inet weft-policy 2>/dev/null
	can y.c x.a 80
}

@test "agent-policy: --network-policy off makes no table and watches no pods; a bad value is refused" {
	run "$BIN/weft-node" --network-policy maybe
	[ "$status" -eq 2 ]
	[[ $output == *"--network-policy"*"on or off"* ]]
	ka_node node-a 1
	ka_agent --network-policy off
	wait_until 10 is_ready || fail "agent not ready: $(agent_log)"
	ka_admin /objects/apis/networking.k8s.io/v1/namespaces/x/networkpolicies -XPOST -d "$deny_ingress_x" >/dev/null
	sleep 0.5
	can y.c x.a 80
	! ip netns exec "$HOST" nft list table inet weft-policy 2>/dev/null
	[ -z "$(metric policy_resource_version)" ]
}

@test "agent-policy: --policy-default deny cuts off a pod the agent has not seen until it has" {
	run "$BIN/weft-node" --policy-default maybe
	[ "$status" -eq 2 ]
	[[ $output == *"--policy-default"*"allow or deny"* ]]
	start_agent --policy-default deny
	can y.c x.a 80 # known pods, no policy: open
	ip netns exec "$HOST" nft list table inet weft-policy | grep -q "ip daddr != @known4"
	# a pod added while the agent does not know it (its ADD ran, its Pod is not in the API)
	netns=$(weft_netns_add p4)
	out=$(run_plugin ADD bridge "$DATA/net.d/10-pnet.conf" ctr4 eth0 "/run/netns/$netns") ||
		fail "ADD: $out $(plugin_stderr)"
	ip=$(json_get "$out" '.ips[0].address | split("/")[0]')
	echo "$ip" >"$DATA/ip.x.d"
	echo "$netns" >"$DATA/netns.x.d"
	serve "$netns"
	cannot x.a x.d 80
	cannot x.d x.a 80
	ka_admin /objects/api/v1/namespaces/x/pods -XPOST -d "$(pod_json x d "$ip" pod=d)" >/dev/null
	enforced
	can x.a x.d 80
	can x.d x.a 80
	# a pod bound to the node that no policy selects: known from its ADD on, agent or not
	stop_agent
	start_agent --policy-default deny
	pending y g pod=g
	enforced
	stop_agent
	add_pod y g 8
	can x.a y.g 80
	can y.g x.a 80
	# an unknown pod that takes a known one's address after it left is cut off
	run_plugin DEL bridge "$DATA/net.d/10-pnet.conf" ctr8 eth0 "/run/netns/$(cat "$DATA/netns.y.g")"
	add_pod y h 9 "IP=$(ip_of y.g)"
	cannot x.a y.h 80
}

@test "agent-policy: dual-stack pods: IPv6 peers are enforced as IPv4 ones, by pod and by ipBlock" {
	jq -cn --arg d "$DATA/v6" '{cniVersion: "1.0.0", name: "pnet6", type: "bridge",
		bridge: "wpbr6", isGateway: true,
		ipam: {type: "host-local", dataDir: $d,
			ranges: [[{subnet: "10.97.0.0/24"}], [{subnet: "fd00:97::/64"}]]}}' >"$DATA/net.d/20-pnet6.conf"
	local n ns name out v4 v6 netns
	for n in 5 6 7; do
		case $n in 5) ns=z name=a ;; 6) ns=z name=b ;; 7) ns=y name=e ;; esac
		netns=$(weft_netns_add "p$n")
		out=$(run_plugin ADD bridge "$DATA/net.d/20-pnet6.conf" "ctr$n" eth0 "/run/netns/$netns") ||
			fail "ADD: $out $(plugin_stderr)"
		v4=$(json_get "$out" '[.ips[].address | select(contains(".")) | split("/")[0]][0]')
		v6=$(json_get "$out" '[.ips[].address | select(contains(":")) | split("/")[0]][0]')
		echo "$v6" >"$DATA/ip.$ns.$name"
		echo "$netns" >"$DATA/netns.$ns.$name"
		ip netns exec "$netns" python3 -c '
import socket, threading, time
def serve(p):
    s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", p)); s.listen(64)
    while True:
        c, _ = s.accept(); c.sendall(b"ok"); c.close()
for p in (80, 81): threading.Thread(target=serve, args=(p,), daemon=True).start()
time.sleep(3600)' >/dev/null 2>&1 &
		ka_admin /objects/api/v1/namespaces/$ns/pods -XPOST -d "$(jq -cn --arg ns "$ns" \
			--arg n "$name" --arg a "$v4" --arg b "$v6" '{metadata: {namespace: $ns, name: $n,
			labels: {pod: $n}}, spec: {nodeName: "node-a"}, status: {podIP: $a,
			podIPs: [{ip: $a}, {ip: $b}]}}')" >/dev/null
	done
	ka_ns z
	wait_until 5 can z.b z.a 80 || fail "no IPv6 path"
	start_agent
	apply "$(jq -cn --arg e "$(cat "$DATA/ip.y.e")/128" '{metadata: {namespace: "z", name: "v6"},
		spec: {podSelector: {matchLabels: {pod: "a"}}, ingress: [
			{from: [{podSelector: {matchLabels: {pod: "b"}}}], ports: [{port: 80}]},
			{from: [{ipBlock: {cidr: $e}}], ports: [{port: 81}]}]}}')"
	can z.b z.a 80
	cannot z.b z.a 81
	can y.e z.a 81
	cannot y.e z.a 80
	ip netns exec "$HOST" nft list table inet weft-policy | grep -q "ip6 saddr @s6-"
}

@test "agent-policy: a pod starts with the policy compiled for it, agent running or not; a reused address is cleared" {
	start_agent
	apply "$deny_ingress_x"
	pending x d pod=d
	enforced
	# its ADD points the new address at the chains compiled while it was pending
	add_pod x d 4
	cannot y.c x.d 80 # no Pod update: the plugin did it, not the agent
	can x.d y.c 80
	table | grep -q "$(ip_of x.d) : jump pi-"
	[ "$(metric policy_chains)" = 3 ]
	# kubelet reports the address: the agent meets the plugin's entry and keeps it as it is
	ka_admin /objects/api/v1/namespaces/x/pods -XPOST -d "$(pod_json x d "$(ip_of x.d)" pod=d)" >/dev/null
	enforced
	cannot y.c x.d 80
	! agent_log | grep -q "replaced whole"
	[ "$(metric policy_errors_total)" = 0 ]
	# with the agent away, the same pod's sandbox is replaced: still isolated from the start
	stop_agent
	local old
	old=$(ip_of x.d)
	run_plugin DEL bridge "$DATA/net.d/10-pnet.conf" ctr4 eth0 "/run/netns/$(cat "$DATA/netns.x.d")"
	add_pod x d 5
	[ "$(ip_of x.d)" != "$old" ]
	cannot y.c x.d 80
	table | grep -q "$(ip_of x.d) : jump pi-"
	# a pod the agent never compiled takes the old address: what x/d left is cleared
	add_pod y f 6 "IP=$old"
	[ "$(ip_of y.f)" = "$old" ]
	can y.c y.f 80
	! table | grep -q "$old : jump"
	# kubelet reports the new address; the agent comes back and keeps both right
	ka_admin /objects/api/v1/namespaces/x/pods -XPOST -d "$(pod_json x d "$(ip_of x.d)" pod=d)" >/dev/null
	start_agent
	cannot y.c x.d 80
	can y.c y.f 80
}

@test "agent-policy: an ebpf pod starts with the policy compiled for it; one the agent never saw starts cut off under deny" {
	PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN"
	jq -cn --arg d "$DATA" --arg pin "$PIN" '{cniVersion: "1.0.0", name: "epol", type: "ebpf",
		pinRoot: $pin, ipam: {type: "host-local", subnet: "10.96.0.0/24", dataDir: $d}}' \
		>"$DATA/net.d/20-epol.conf"
	POD_PLUGIN=ebpf POD_CONF=$DATA/net.d/20-epol.conf
	add_pod y e 10 # the first ADD loads the network's datapath
	ka_admin /objects/api/v1/namespaces/y/pods -XPOST -d "$(pod_json y e "$(ip_of y.e)" pod=e)" >/dev/null
	start_agent --policy-default deny
	apply "$deny_ingress_x"
	pending x f pod=f
	enforced
	add_pod x f 11
	cannot y.e x.f 80 # isolated from its first packet, by the ebpf program
	can x.f y.e 80
	can node x.f 80
	# a pod the agent never compiled: cut off both ways; its node still reaches it
	add_pod y g 12
	cannot y.e y.g 80
	cannot y.g y.e 80
	ka_admin /objects/api/v1/namespaces/y/pods -XPOST -d "$(pod_json y g "$(ip_of y.g)" pod=g)" >/dev/null
	enforced
	can y.e y.g 80
	can y.g y.e 80
	# a pod that goes: its entries go
	local before
	before=$(bpftool map dump pinned "$PIN/epol/polpods_v4" -j | jq length)
	ka_admin /objects/api/v1/namespaces/x/pods/f -XDELETE >/dev/null
	enforced
	[ "$(bpftool map dump pinned "$PIN/epol/polpods_v4" -j | jq length)" -eq $((before - 1)) ]
	# --cleanup: every pod's policy and the default out of the maps
	stop_agent
	ip netns exec "$HOST" "$BIN/weft-node" --kubeconfig "$DATA/kubeconfig" --node-name node-a \
		--cni-conf-dir "$DATA/net.d" --cleanup
	[ "$(bpftool map dump pinned "$PIN/epol/polpods_v4" -j | jq length)" -eq 0 ]
	[ "$(bpftool map dump pinned "$PIN/epol/policy_v4" -j | jq length)" -eq 0 ]
	add_pod y h 13
	can y.e y.h 80
}

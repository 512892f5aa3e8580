#!/usr/bin/env bats
# NetworkPolicy in the ebpf datapath (docs/design.md §7, eBPF enforcement): three pods a, b, c
# on one network, policies compiled and written into the maps by tests/policy/polbpf-apply
# (what weft-node does), real TCP and ICMP between the pods and from the node. Every test has
# its own host and pod netns (helpers.bash), dataDir and bpffs pinRoot; teardown removes all
# of it, pass or fail.

load helpers

NET=wft-pol
APPLY=${WEFT_POLBPF_APPLY:-$BIN/../tests/polbpf-apply}

# A TCP server on each port given: answers every message with "echo:<message>", many per
# connection. The client: connect (1.5 s), one message, its echo; with a file argument, then
# waits for that file and sends a second message on the same connection.
SERVER='
import socket, sys, threading
def conn(c):
    c.settimeout(30)
    try:
        while True:
            d = c.recv(64)
            if not d:
                break
            c.sendall(b"echo:" + d)
    except OSError:
        pass
    c.close()
def serve(port):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=conn, args=(c,), daemon=True).start()
def serve_udp(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    while True:
        d, peer = s.recvfrom(64)
        s.sendto(b"echo:" + d, peer)
for p in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(p),), daemon=True).start()
    threading.Thread(target=serve_udp, args=(int(p),), daemon=True).start()
threading.Event().wait()
'''
# UDP: one datagram, its echo within 1.5 s; exit 4 when refused (ICMP port unreachable).
UCLIENT='
import socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.5)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"one")
try:
    sys.exit(0 if s.recv(64) == b"echo:one" else 3)
except ConnectionRefusedError:
    sys.exit(4)
'
CLIENT='
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5)
def say(m):
    s.sendall(m)
    if s.recv(64) != b"echo:" + m:
        sys.exit(3)
say(b"one")
if len(sys.argv) > 3:
    print("connected", flush=True)
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.05)
    say(b"two")
'

setup() {
	weft_setup
	[ -x "$APPLY" ] || skip "no $APPLY (make unit builds it)"
	PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN"
	CONF=$(jq -cn --arg data "$DATA" --arg pin "$PIN" --arg net "$NET" '{
		cniVersion: "1.1.0", name: $net, type: "ebpf", pinRoot: $pin,
		ipam: {type: "host-local", dataDir: $data,
		       ranges: [[{subnet: "10.67.0.0/24"}], [{subnet: "fd67::/64"}]]}}')
	# the node's own address (kubelet probes come from one)
	HOST_IP=192.168.77.1
	ip -n "$HOST" addr add "$HOST_IP/32" dev lo
	ip -n "$HOST" addr add fd77::1/128 dev lo
	A=$CTR
	B=$(weft_netns_add b)
	C=$(weft_netns_add c)
	pod_add a "$A"
	IPA=${REPLY% *} IPA6=${REPLY#* }
	pod_add b "$B"
	IPB=${REPLY% *} IPB6=${REPLY#* }
	pod_add c "$C"
	IPC=${REPLY% *} IPC6=${REPLY#* }
	for ns in "$A" "$B" "$C"; do
		ip netns exec "$ns" python3 -c "$SERVER" 80 81 </dev/null >/dev/null 2>&1 3>&- &
	done
	for ns in "$A" "$B" "$C"; do
		for _ in $(seq 50); do
			[ "$(ip netns exec "$ns" ss -Hltn 'sport = :81' | wc -l)" -ge 1 ] && break
			sleep 0.1
		done
	done
}

teardown() {
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN"
	fi
}

# pod_add CID NETNS: ADD; REPLY = "<IPv4> <IPv6>" of the pod.
pod_add() {
	REPLY=$(run_plugin ADD ebpf "$CONF" "$1" eth0 "/run/netns/$2" |
		jq -r '[.ips[].address | sub("/.*"; "")] | join(" ")')
}

# caches POLICIES: the informer caches (namespace default; pods a, b, c labelled app=<name>,
# serving "http" on TCP 80) with the policies, a JSON array of {name, spec}.
caches() {
	jq -cn --arg a "$IPA" --arg b "$IPB" --arg c "$IPC" --arg a6 "$IPA6" --arg b6 "$IPB6" \
		--arg c6 "$IPC6" --argjson pols "$1" '
	def pod(n; ip; ip6): {metadata: {namespace: "default", name: n, labels: {app: n}},
		spec: {containers: [{ports: [{name: "http", containerPort: 80, protocol: "TCP"}]}]},
		status: {podIP: ip, podIPs: [{ip: ip}, {ip: ip6}]}};
	{namespaces: {default: {metadata: {name: "default",
		labels: {"kubernetes.io/metadata.name": "default"}}}},
	 pods: {"default/a": pod("a"; $a; $a6), "default/b": pod("b"; $b; $b6),
		"default/c": pod("c"; $c; $c6)},
	 policies: ($pols | map({key: ("default/" + .name),
		value: {metadata: {namespace: "default", name: .name}, spec: .spec}}) | from_entries)}'
}

# policy POLICIES: what weft-node does on a change: every pod compiled and applied.
policy() {
	caches "$1" | "$APPLY" --pin-root "$PIN" --network "$NET" default/a default/b default/c
}

# named_pod CID NAME NETNS: ADD as pod default/NAME (the runtime's K8S_POD_* args), the echo
# server on port 82 in it, waited for from the node (which always reaches it); REPLY = its IPv4
named_pod() {
	CNI_ARGS="K8S_POD_NAMESPACE=default;K8S_POD_NAME=$2" pod_add "$1" "$3"
	REPLY=${REPLY% *}
	ip netns exec "$3" python3 -c "$SERVER" 82 </dev/null >/dev/null 2>&1 3>&- &
	wait_until 5 tcp "$HOST" "$REPLY" 82
}

# tcp FROM_NS IP PORT: a connection and one message echoed.
tcp() {
	ip netns exec "$1" python3 -c "$CLIENT" "$2" "$3"
}

udp() {
	ip netns exec "$1" python3 -c "$UCLIENT" "$2" "$3"
}

ping1() {
	ip netns exec "$1" ping -c 1 -W 1 "$2" >/dev/null
}

pol_len() {
	bpftool map dump pinned "$PIN/$NET/$1_v4" -j | jq length
}

denied() {
	ip netns exec "$HOST" "$BIN/ebpf" stats "$NET" --pin-root "$PIN" --json |
		jq -r --arg c "$1" '.[] | select(.containerID == $c) | .deniedPackets'
}

DENY_IN_B='[{"name": "deny-b", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
	"policyTypes": ["Ingress"]}}]'

@test "ebpf policy: deny-all ingress blocks TCP and ping from pods, not from the node; b's own connections still get their replies; removing it restores traffic" {
	tcp "$A" "$IPB" 80
	ping1 "$A" "$IPB"
	policy "$DENY_IN_B"
	[ "$(pol_len policy)" -eq 0 ] # no rule: nothing but the flag
	! tcp "$A" "$IPB" 80
	! ping1 "$A" "$IPB"
	! tcp "$C" "$IPB" 81
	[ "$(denied b)" -eq 0 ]
	[ "$(denied a)" -ge 2 ] # dropped in a's from_pod (fast path to b)
	tcp "$HOST" "$IPB" 80   # the node: kubelet probes
	ping1 "$HOST" "$IPB"
	tcp "$B" "$IPA" 80      # b's connection: the replies enter b
	ping1 "$B" "$IPC"
	tcp "$A" "$IPC" 80      # others unaffected
	policy '[]'
	[ "$(pol_len policy)" -eq 0 ]
	[ "$(pol_len polports)" -eq 0 ]
	tcp "$A" "$IPB" 80
	ping1 "$A" "$IPB"
}

@test "ebpf policy: an ingress rule for one pod and one port lets exactly that through" {
	policy '[{"name": "b-from-a-80", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
			     "ports": [{"protocol": "TCP", "port": "http"}]}]}}]'
	tcp "$A" "$IPB" 80
	! tcp "$A" "$IPB" 81
	! tcp "$C" "$IPB" 80
	! ping1 "$A" "$IPB"
}

@test "ebpf policy: an ipBlock with an except, and a port range" {
	policy "$(jq -cn --arg c "$IPC/32" '[{name: "b-block", spec: {
		podSelector: {matchLabels: {app: "b"}},
		ingress: [{from: [{ipBlock: {cidr: "10.67.0.0/24", except: [$c]}}],
			   ports: [{protocol: "TCP", port: 79, endPort: 80}]}]}}]')"
	tcp "$A" "$IPB" 80
	! tcp "$A" "$IPB" 81
	! tcp "$C" "$IPB" 80
	tcp "$HOST" "$IPB" 81
}

@test "ebpf policy: egress deny, egress allow by pod and port; inbound connections of the pod still answered" {
	policy '[{"name": "a-out", "spec": {"podSelector": {"matchLabels": {"app": "a"}},
		"policyTypes": ["Egress"]}}]'
	! tcp "$A" "$IPB" 80
	! ping1 "$A" "$IPC"
	! tcp "$A" "$IPB" 81
	! ping1 "$A" "$HOST_IP"
	tcp "$B" "$IPA" 80 # inbound: a's replies leave a
	tcp "$HOST" "$IPA" 81
	policy '[{"name": "a-out", "spec": {"podSelector": {"matchLabels": {"app": "a"}},
		"egress": [{"to": [{"podSelector": {"matchLabels": {"app": "b"}}}],
			    "ports": [{"protocol": "TCP", "port": 80}]}], "policyTypes": ["Egress"]}}]'
	tcp "$A" "$IPB" 80
	! tcp "$A" "$IPB" 81
	! tcp "$A" "$IPC" 80
	! ping1 "$A" "$IPB"
}

@test "ebpf policy: replies of an allowed connection pass while the reverse direction is denied" {
	policy '[{"name": "deny-a", "spec": {"podSelector": {"matchLabels": {"app": "a"}},
		"policyTypes": ["Ingress"]}}]'
	tcp "$A" "$IPB" 80
	ping1 "$A" "$IPB"
	! tcp "$B" "$IPA" 80
	! ping1 "$B" "$IPA"
}

@test "ebpf policy: the node reaches a pod isolated both ways; the pod does not reach out" {
	policy '[{"name": "deny-b", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"policyTypes": ["Ingress", "Egress"]}}]'
	tcp "$HOST" "$IPB" 80
	ping1 "$HOST" "$IPB"
	! tcp "$B" "$IPA" 80
	! tcp "$A" "$IPB" 80
}

@test "ebpf policy: a policy change does not cut an established connection" {
	go=$BATS_TEST_TMPDIR/go
	ip netns exec "$A" python3 -c "$CLIENT" "$IPB" 80 "$go" >"$BATS_TEST_TMPDIR/client" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -q connected "$BATS_TEST_TMPDIR/client" && break
		sleep 0.1
	done
	policy "$DENY_IN_B"
	! tcp "$A" "$IPB" 80 # a new connection is denied
	touch "$go"
	wait "$pid" || { cat "$BATS_TEST_TMPDIR/client"; false; } # the old one carries on
}

@test "ebpf policy: DEL leaves the pod's policy (its next sandbox starts with it) and no tracked flow; forgetting the pod removes it" {
	policy '[{"name": "b-both", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}],
		"egress": [{"to": [{"ipBlock": {"cidr": "10.67.0.0/16", "except": ["10.67.1.0/24"]}}],
			    "ports": [{"protocol": "TCP", "port": 80}, {"protocol": "UDP"}]},
			   {"to": [{"podSelector": {"matchLabels": {"app": "c"}}}]}]}}]'
	tcp "$A" "$IPB" 80
	tcp "$B" "$IPC" 80
	ping1 "$A" "$IPB" # echo flows are tracked (TCP needs no entry)
	ping1 "$B" "$IPC"
	local n
	n=$(pol_len policy)
	[ "$n" -ge 3 ]
	[ "$(pol_len polports)" -ge 2 ]
	[ "$(pol_len conntrack)" -ge 2 ]
	[ "$(pol_len polpods)" -eq 3 ]
	run_plugin DEL ebpf "$CONF" b eth0 "/run/netns/$B"
	[ "$(pol_len policy)" -eq "$n" ]
	[ "$(pol_len conntrack)" -eq 0 ]
	# weft-node's gc keeps the pods that are there; forgetting b takes its entries
	run "$APPLY" --pin-root "$PIN" --network "$NET" --gc default/a default/b default/c
	[ "$status" -eq 0 ]
	[ "$output" = 0 ]
	"$APPLY" --pin-root "$PIN" --network "$NET" --forget default/b
	[ "$(pol_len policy)" -eq 0 ]
	[ "$(pol_len polports)" -eq 0 ]
	[ "$(pol_len polpods)" -eq 2 ]
	"$APPLY" --pin-root "$PIN" --network "$NET" --forget default/b # gone already: fine
	run "$APPLY" --pin-root "$PIN" --network "$NET" --gc default/a
	[ "$output" = 1 ]
	[ "$(pol_len polpods)" -eq 1 ]
}

@test "ebpf policy: UDP: replies of an allowed flow pass, the reverse is denied, ICMP errors reach an isolated pod" {
	udp "$A" "$IPB" 80
	policy "$DENY_IN_B"
	! udp "$A" "$IPB" 80
	udp "$B" "$IPA" 80  # tracked: the echo enters b
	udp "$B" "$IPA6" 81
	run udp "$B" "$IPA" 9 # closed: a's port unreachable reaches b
	[ "$status" -eq 4 ]
	[ "$(pol_len conntrack)" -ge 2 ]
}

@test "ebpf policy: the plugin's GC takes a pruned pod's flows along, and leaves its policy to weft-node" {
	policy '[{"name": "b-from-a", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}]}]}}]'
	ping1 "$A" "$IPB"
	local n
	n=$(pol_len policy)
	[ "$n" -ge 1 ]
	[ "$(pol_len conntrack)" -ge 1 ]
	gc=$(printf '%s' "$CONF" | jq -c '.["cni.dev/valid-attachments"] =
		[{containerID: "a", ifname: "eth0"}, {containerID: "c", ifname: "eth0"}]')
	run_plugin GC ebpf "$gc" "" "" ""
	[ "$(pol_len conntrack)" -eq 0 ]
	[ "$(pol_len policy)" -eq "$n" ]
	tcp "$A" "$IPC" 80
}

@test "ebpf policy: a pod's new sandbox starts with the policy compiled for it; with deny as default, an unknown pod starts cut off" {
	policy "$DENY_IN_B"
	! tcp "$A" "$IPB" 80
	# b's sandbox is replaced while nobody writes the maps: isolated from its first packet
	run_plugin DEL ebpf "$CONF" b eth0 "/run/netns/$B"
	named_pod b2 b "$B"
	local ipb=$REPLY
	[ "$ipb" != "$IPB" ]
	! tcp "$A" "$ipb" 82
	tcp "$B" "$IPA" 80 # egress is not isolated
	# a pod compiled before its sandbox exists (bound to the node, no address yet)
	local d ipd
	d=$(weft_netns_add d)
	caches "$DENY_IN_B" | jq -c '.pods["default/d"] = {metadata: {namespace: "default",
		name: "d", labels: {app: "b"}}, status: {}}' |
		"$APPLY" --pin-root "$PIN" --network "$NET" default/d
	named_pod d d "$d"
	ipd=$REPLY
	! tcp "$A" "$ipd" 82
	# --policy-default deny: a pod nobody compiled is cut off both ways, the node still reaches it
	"$APPLY" --pin-root "$PIN" --network "$NET" --default deny
	local e ipe
	e=$(weft_netns_add e)
	named_pod e e "$e"
	ipe=$REPLY
	! tcp "$A" "$ipe" 82
	! tcp "$e" "$IPA" 80
	# allow again: the next unknown pod starts open
	"$APPLY" --pin-root "$PIN" --network "$NET" --default allow
	local f ipf
	f=$(weft_netns_add f)
	named_pod f f "$f"
	ipf=$REPLY
	tcp "$A" "$ipf" 82
	[ "$(pol_len polpods)" -eq 4 ] # a, b, c, d
}

@test "ebpf policy: traffic the stack delivers (from another node) meets the pod's ingress in to_pod" {
	OUT=$(weft_netns_add out) # another node: routes the pod subnet via this one
	ip link add wo0 netns "$HOST" type veth peer name eth0 netns "$OUT"
	ip -n "$HOST" addr add 192.0.2.1/24 dev wo0
	ip -n "$HOST" link set wo0 up
	ip -n "$OUT" addr add 192.0.2.2/24 dev eth0
	ip -n "$OUT" link set eth0 up
	ip -n "$OUT" route add 10.67.0.0/24 via 192.0.2.1
	tcp "$OUT" "$IPB" 81
	policy '[{"name": "b-from-out", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"ipBlock": {"cidr": "192.0.2.0/24"}}],
			     "ports": [{"protocol": "TCP", "port": 80}]}]}}]'
	tcp "$OUT" "$IPB" 80
	! tcp "$OUT" "$IPB" 81
	! ping1 "$OUT" "$IPB"
	! tcp "$A" "$IPB" 80
	[ "$(denied b)" -ge 2 ] # dropped in b's to_pod
	policy '[]'
	tcp "$OUT" "$IPB" 81
	ping1 "$OUT" "$IPB"
}

@test "ebpf policy: IPv6 (dual-stack pods): rules by pod, an IPv4 block never matches IPv6, NDP and the node pass" {
	tcp "$A" "$IPB6" 80
	ping1 "$A" "$IPB6"
	policy '[{"name": "b-from-a", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
			     "ports": [{"protocol": "TCP", "port": 80}]}]}}]'
	tcp "$A" "$IPB6" 80
	! tcp "$A" "$IPB6" 81
	! tcp "$C" "$IPB6" 80
	! ping1 "$A" "$IPB6"
	tcp "$HOST" "$IPB6" 81
	ping1 "$HOST" "$IPB6"
	policy '[{"name": "b-from-v4", "spec": {"podSelector": {"matchLabels": {"app": "b"}},
		"ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}},
		{"name": "c-out", "spec": {"podSelector": {"matchLabels": {"app": "c"}},
		"egress": [{"to": [{"ipBlock": {"cidr": "fd67::/64", "except": ["'"$IPB6"'/128"]}}]}],
		"policyTypes": ["Egress"]}}]'
	tcp "$A" "$IPB" 80
	! tcp "$A" "$IPB6" 80
	tcp "$C" "$IPA6" 80
	! tcp "$C" "$IPA" 80
	# the pods' neighbour discovery (answered by the program or the stack) keeps working
	ip -n "$C" neigh flush dev eth0
	ip -n "$B" neigh flush dev eth0
	tcp "$C" "$IPA6" 81
	ping1 "$B" "$IPA6"
}

#!/usr/bin/env bats
# The CRI path a kubelet drives: containerd 1.6 (Debian's) with a private config in a
# throwaway node netns, its own libcni calling weft with K8S_POD_* CNI_ARGS, capability args,
# the loopback network and retries; weft's plugins chained with the reference portmap and
# bandwidth. The client is tests/cri/cri.js (CRI gRPC, runtime.v1).

load helpers
load ../cri/cri

setup_file() {
	local why
	why=$(cri_missing)
	[ -z "$why" ] || skip "$why"
	export CRI_IMAGE=$BATS_FILE_TMPDIR/images.tar
	cri_image "$CRI_IMAGE"
}

setup() {
	weft_setup
	NET=${WEFT_PREFIX}n
	PIN=
	export NET
}

teardown() {
	cri_stop
	rm -f /var/lib/cni/results/"$NET"-*
	if [ -n "$PIN" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN"
	fi
	weft_teardown
}

fail() {
	echo "$*" >&2
	[ -n "${CRI_DIR:-}" ] && grep 'level=error' "$CRI_DIR/containerd.log" | tail -n 5 >&2
	return 1
}

ipam() { # ipam SUBNET
	jq -cn --arg s "$1" --arg d "$DATA/ipam" '{type: "host-local", ranges: [[{subnet: $s}]], dataDir: $d}'
}

bridge_conf() {
	jq -cn --argjson ipam "$(ipam 10.77.0.0/24)" \
		'{type: "bridge", bridge: "wcbr0", isGateway: true, ipMasq: true, ipam: $ipam}'
}

ebpf_conf() { # needs $PIN (new_pin)
	jq -cn --argjson ipam "$(ipam 10.77.0.0/24)" --arg pin "$PIN" \
		'{type: "ebpf", ipMasq: true, pinRoot: $pin, ipam: $ipam, capabilities: {bandwidth: true}}'
}

# new_pin: a bpffs of the test's own (not in $(...): teardown must see PIN)
new_pin() {
	PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN"
}

# node_ip DEV ADDR: a node address on a veth pair of its own (the kernel may lack dummy)
node_ip() {
	ip -n "$HOST" link add "$1" type veth peer name "$1p"
	ip -n "$HOST" addr add "$2" dev "$1"
	ip -n "$HOST" link set "$1p" up
	ip -n "$HOST" link set "$1" up
}

# vxlan on a single node: its underlay is a device holding the node's InternalIP.
vxlan_conf() {
	node_ip ul0 192.168.77.1/24
	jq -cn '{kind: "NodeList", items: [{metadata: {name: "node-a"},
		spec: {podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"]},
		status: {addresses: [{type: "InternalIP", address: "192.168.77.1"}]}}]}' >"$DATA/peers.json"
	jq -cn --argjson ipam "$(ipam 10.244.1.0/24)" --arg d "$DATA" \
		'{type: "vxlan", vni: 42, bridge: "wcbr0", nodeName: "node-a", isDefaultGateway: true,
		  peersFile: ($d + "/peers.json"), stateDir: ($d + "/state"), ipam: $ipam}'
}

# start_cri MAIN-PLUGIN-JSON [CHAIN]: the conflist (MAIN, then portmap, then the reference
# bandwidth unless MAIN shapes by itself, or CHAIN: a JSON array of plugins), the plugins in
# containerd's bin_dir, containerd running in $HOST.
start_cri() {
	local c p
	c=$(mktemp -d /tmp/wc.XXXXXX)
	mkdir -p "$c/cni-bin" "$c/cni-conf"
	for p in bridge ebpf vxlan host-local; do cp "$BIN/$p" "$c/cni-bin/"; done
	for p in loopback portmap bandwidth; do cp "/usr/lib/cni/$p" "$c/cni-bin/"; done
	jq -n --arg net "$NET" --argjson main "$1" --argjson chain "${2:-null}" '
		($chain // ([{type: "portmap", capabilities: {portMappings: true}}] +
			if $main.capabilities.bandwidth then [] else
			[{type: "bandwidth", capabilities: {bandwidth: true}}] end)) as $rest |
		{cniVersion: "1.0.0", name: $net, plugins: ([$main] + $rest)}' \
		>"$c/cni-conf/10-weft.conflist"
	cp "$CRI_IMAGE" "$c/images.tar"
	cri_start "$c" "$HOST" || fail "containerd did not start"
}

# reservations: the IPs host-local holds for this network, one per line
reservations() {
	ls "$DATA/ipam/$NET" 2>/dev/null | grep -E '^[0-9a-f.:]+$' || true
}

pod_veths() { # host-side pod veths in the node netns (not the node_ip pairs)
	ip -n "$HOST" -j link show type veth | jq -r '.[].ifname | select(test("^(ul0|wcd0)p?$") | not)'
}

# assert_clean: what a removed sandbox must not leave behind
assert_clean() {
	local r
	[ -z "$(reservations)" ] || fail "reservations left: $(reservations)"
	[ -z "$(pod_veths)" ] || fail "veths left: $(pod_veths)"
	! compgen -G "/var/lib/cni/results/$NET-*" >/dev/null || fail "libcni cache left"
	r=$(ip netns exec "$HOST" nft list ruleset)
	! grep -q '10\.77\.0\.\|10\.244\.1\.' <<<"$r" || fail "nft rules left: $r"
	if [ -n "$PIN" ]; then
		[ "$(bpftool map dump pinned "$PIN/$NET/endpoints_v4" -j | jq length)" = 0 ] ||
			fail "endpoint map entries left"
	fi
}

# one_pod: a sandbox with hostPort 18080 -> 80 and 10M both ways, a busybox httpd in it;
# checks the IP, reachability, the hostPort and the shaping; stops and removes it.
one_pod() {
	local id st ip hv
	id=$(cri run web --port 18080:80 --annotation kubernetes.io/ingress-bandwidth=10M \
		--annotation kubernetes.io/egress-bandwidth=10M) || fail "RunPodSandbox failed"
	st=$(cri status "$id")
	ip=$(jq -r .ip <<<"$st")
	[[ "$ip" == "$1"* ]] || fail "sandbox IP $ip not in $1: $st"
	[ "$(reservations)" = "$ip" ] || fail "reservation $(reservations) != $ip"
	[ "$(head -n1 "$DATA/ipam/$NET/$ip" | tr -d '\r')" = "$id" ] || fail "reservation not owned by $id"
	[ -n "$(jq -r .netns <<<"$st")" ] && [[ "$(jq -r .netns <<<"$st")" == "$CRI_DIR"/* ]]
	cri exec-bg "$id" httpd /bin/busybox httpd -f -p 80 -h /var/www >/dev/null || fail "container"
	ip netns exec "$HOST" ping -c1 -W2 "$ip" >/dev/null || fail "no ping to $ip"
	local i out=
	for i in $(seq 30); do
		out=$(ip netns exec "$HOST" curl -s -m 2 "http://$ip/") && break
		sleep 0.1
	done
	[ "$out" = weft ] || fail "httpd in the pod: '$out'"
	out=$(ip netns exec "$HOST" curl -s -m 2 "http://$2:18080/")
	[ "$out" = weft ] || fail "hostPort 18080 on $2: '$out'"
	hv=$(pod_veths)
	[ -n "$hv" ] || fail "no host veth"
	ip netns exec "$HOST" tc qdisc show dev "$hv" | grep -q tbf || fail "no shaping on $hv"
	if [ -n "$PIN" ]; then # ebpf shapes what the pod sends on its own interface
		nsenter --net="$(jq -r .netns <<<"$st")" tc qdisc show dev eth0 | grep -q tbf ||
			fail "no egress shaping in the pod"
	fi
	[ -n "$PIN" ] && { [ "$(bpftool map dump pinned "$PIN/$NET/endpoints_v4" -j | jq length)" = 1 ] ||
		fail "endpoint map"; }
	cri stop "$id" || fail "StopPodSandbox"
	cri rm "$id" || fail "RemovePodSandbox"
	[ "$(cri list)" = "[]" ] || fail "sandboxes left: $(cri list)"
	assert_clean
}

@test "cri: containerd reports itself over CRI runtime.v1" {
	start_cri "$(bridge_conf)"
	run cri version
	[ "$status" -eq 0 ] || fail "$output"
	jq -e '.runtimeName == "containerd" and .runtimeApiVersion == "v1"' <<<"$output"
}

@test "cri: bridge + portmap + bandwidth: IP, reachability, hostPort, shaping, clean removal" {
	start_cri "$(bridge_conf)"
	one_pod 10.77.0. 10.77.0.1
}

@test "cri: ebpf (bandwidth capability) + portmap: IP, reachability, hostPort, shaping, clean removal" {
	new_pin
	start_cri "$(ebpf_conf)"
	node_ip wcd0 192.168.78.1/24
	one_pod 10.77.0. 192.168.78.1
}

@test "cri: ebpf followed by the reference bandwidth plugin: an egress limit fails the sandbox, nothing left" {
	new_pin
	start_cri "$(ebpf_conf | jq -c 'del(.capabilities)')" \
		'[{"type": "bandwidth", "capabilities": {"bandwidth": true}}]'
	run cri run shaped --annotation kubernetes.io/egress-bandwidth=10M
	[ "$status" -ne 0 ] || fail "RunPodSandbox succeeded"
	[[ "$output" == *'plugin type="bandwidth" failed'* ]] || fail "$output"
	[ "$(cri list)" = "[]" ] || [ "$(cri list | jq '[.[] | select(.state == "SANDBOX_READY")] | length')" = 0 ]
	for id in $(cri list | jq -r '.[].id'); do cri rm "$id"; done
	assert_clean
}

@test "cri: vxlan (one node) + portmap + bandwidth: IP, reachability, hostPort, shaping, clean removal" {
	start_cri "$(vxlan_conf)"
	one_pod 10.244.1. 192.168.77.1
}

@test "cri: 20 sandboxes at once get distinct IPs, answer, and are all removed cleanly" {
	start_cri "$(bridge_conf)"
	run cri many 20 --workers 20
	[ "$status" -eq 0 ] || fail "$output"
	pods=$output
	[ "$(jq '[.[].ip] | unique | length' <<<"$pods")" = 20 ] || fail "IPs: $pods"
	[ "$(reservations | wc -l)" = 20 ]
	[ "$(pod_veths | wc -l)" = 20 ]
	for ip in $(jq -r '.[].ip' <<<"$pods"); do
		ip netns exec "$HOST" ping -c1 -W2 "$ip" >/dev/null || fail "no ping to $ip"
	done
	# removed in parallel; only these jobs are waited for (containerd is a job of this shell)
	pids=()
	for id in $(jq -r '.[].id' <<<"$pods"); do
		{ cri stop "$id" && cri rm "$id"; } &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fail "stop/remove failed"; done
	[ "$(cri list)" = "[]" ] || fail "left: $(cri list)"
	assert_clean
}

@test "cri: churn by 4 workers, each reservation owned by its sandbox, nothing left" {
	start_cri "$(bridge_conf)"
	run cri churn 4 6 --ipam-dir "$DATA/ipam/$NET"
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(jq .sandboxes <<<"$output")" = 24 ]
	assert_clean
}

@test "cri: containerd SIGKILLed with pods running: they keep their IPs, Stop/Remove clean up" {
	start_cri "$(bridge_conf)"
	run cri many 3 --prefix keep-
	[ "$status" -eq 0 ] || fail "$output"
	before=$(jq -c 'map({id, ip}) | sort_by(.id)' <<<"$output")
	cri_kill9
	for ip in $(jq -r '.[].ip' <<<"$before"); do
		ip netns exec "$HOST" ping -c1 -W2 "$ip" >/dev/null || fail "$ip down without containerd"
	done
	cri_restart || fail "restart"
	after=$(for id in $(jq -r '.[].id' <<<"$before"); do cri status "$id"; done | jq -sc 'map({id, ip}) | sort_by(.id)')
	[ "$after" = "$before" ] || fail "before $before, after $after"
	[ "$(reservations | wc -l)" = 3 ]
	for id in $(jq -r '.[].id' <<<"$before"); do
		cri stop "$id" || fail "stop $id"
		cri rm "$id" || fail "rm $id"
	done
	assert_clean
}

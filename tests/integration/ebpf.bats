#!/usr/bin/env bats
# ebpf plugin: pods on veth pairs switched by tc programs. Every test has its own host and pod
# netns (helpers.bash), its own dataDir and its own bpffs mounted on a private directory as
# pinRoot; teardown removes all of it, pass or fail.

load helpers

NET=wft-ebpf

setup() {
	weft_setup
	extra_ns ctr2
	CTR2=$REPLY
	PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
	mount -t bpf bpf "$PIN"
	CONF=$(ebpf_conf)
}

teardown() {
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN"
	fi
	# a pin root without a bpffs of its own (the plugin mounts one on $ROOT/pins)
	if [ -n "${ROOT:-}" ]; then
		umount "$ROOT/pins" 2>/dev/null || true
		rm -rf "$ROOT"
	fi
}

# extra_ns NAME: weft_netns_add in this shell (a $(...) subshell would lose its teardown
# tracking); sets REPLY to the full name. Usage: extra_ns x; X=$REPLY
extra_ns() {
	weft_netns_add "$1" >/dev/null || return 1
	REPLY=$WEFT_PREFIX-$1
}

# ebpf_conf [jq args... filter]: the network config, optionally edited.
ebpf_conf() {
	[ $# -gt 0 ] || set -- .
	jq -cn --arg data "$DATA" --arg pin "$PIN" --arg net "$NET" '{
		cniVersion: "1.1.0", name: $net, type: "ebpf", ipMasq: true, pinRoot: $pin,
		ipam: {type: "host-local", dataDir: $data, ranges: [[{subnet: "10.66.0.0/24"}]]}
	}' | jq -c "$@"
}

# add CID NETNS: ADD; prints the result.
add() {
	run_plugin ADD ebpf "$CONF" "$1" eth0 "/run/netns/$2"
}

stats_json() {
	ip netns exec "$HOST" "$BIN/ebpf" stats "$NET" --pin-root "${STATS_PIN:-$PIN}" --json
}

# counter CID FIELD: one counter (or field) of one pod from `ebpf stats --json`.
counter() {
	stats_json | jq -r --arg c "$1" --arg f "$2" '.[] | select(.containerID == $c) | .[$f]'
}

host_forwarded() {
	ip netns exec "$HOST" awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ForwDatagrams") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# Masquerade rules of $NET (one per pod subnet).
masq_rules() {
	ip netns exec "$HOST" nft -j list ruleset 2>/dev/null |
		jq --arg n "net: $NET" '[.nftables[] | select(.rule) | .rule | select(.table == "weft")
			| select((.comment // "") | test("^[0-9a-f]{16}, subnet: ") and endswith($n))] | length'
}

@test "ebpf: ADD gives the pod a /32 behind the link-local router and attaches the programs" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx '10.66.0.2/32'
	json_get "$output" '.ips[0].gateway' | grep -qx '169.254.1.1'
	json_get "$output" '.routes[0].dst + " " + .routes[0].gw' | grep -qx '0.0.0.0/0 169.254.1.1'
	hv=$(json_get "$output" '.interfaces[0].name')
	hmac=$(json_get "$output" '.interfaces[0].mac')
	pmac=$(json_get "$output" '.interfaces[1].mac')
	[ "$(json_get "$output" '.interfaces[1].sandbox')" = "/run/netns/$CTR" ]

	ip -n "$CTR" -j addr show eth0 | jq -e '.[0].addr_info[] | select(.local == "10.66.0.2" and .prefixlen == 32)'
	ip -n "$CTR" -j link show eth0 | jq -e --arg m "$pmac" '.[0].address == $m'
	ip -n "$CTR" -j route show default | jq -e '.[0].gateway == "169.254.1.1" and (.[0].flags | index("onlink"))'
	ip -n "$HOST" -j link show "$hv" | jq -e --arg m "$hmac" '.[0].address == $m'
	ip -n "$HOST" -j route show 10.66.0.2 | jq -e --arg d "$hv" '.[0].dev == $d'
	ip -n "$HOST" -j neigh show 10.66.0.2 | jq -e --arg m "$pmac" '.[0].lladdr == $m and (.[0].state | index("PERMANENT"))'
	[ "$(ip netns exec "$HOST" sysctl -n "net.ipv4.conf.$hv.rp_filter")" = 0 ]
	[ "$(ip netns exec "$HOST" sysctl -n net.ipv4.ip_forward)" = 1 ]
	ip netns exec "$HOST" bpftool net -j | jq -e --arg d "$hv" \
		'[.[0].tc[] | select(.devname == $d) | .kind] | sort == ["clsact/egress", "clsact/ingress"]'
	for p in endpoints_v4 links_v4 stats_v4 meta_v4 remote_v4 policy_v4 polports_v4 conntrack_v4 polpods_v4 \
		from_pod_v4_* to_pod_v4_*; do
		compgen -G "$PIN/$NET/$p" >/dev/null
	done
	[ "$(counter c1 ip)" = 10.66.0.2 ]
}

@test "ebpf: ping between two pods takes the program's path (counters move, host never forwards, no bridge)" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	[ "$(counter c1 fwdPackets)" -eq 0 ]
	fwd_before=$(host_forwarded)

	ip netns exec "$CTR" ping -c 3 -i 0.2 -W 2 10.66.0.3
	ip netns exec "$CTR2" ping -c 2 -i 0.2 -W 2 10.66.0.2

	[ "$(counter c1 fwdPackets)" -ge 5 ] # 3 requests + 2 replies
	[ "$(counter c2 fwdPackets)" -ge 5 ]
	[ "$(counter c2 rxPackets)" -ge 5 ]
	[ "$(counter c1 txBytes)" -gt 0 ]
	[ "$(host_forwarded)" -eq "$fwd_before" ] # bpf_redirect_peer: the host stack saw none
	[ "$(ip -n "$HOST" -j link show type bridge | jq length)" -eq 0 ]
	# TTL decremented once, like a router hop.
	ip netns exec "$CTR" ping -c 1 -W 2 10.66.0.3 | grep -q 'ttl=63'
}

@test "ebpf: the bandwidth capability: tbf on both veth ends, pod-to-pod traffic passes the shaper" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	shaped=$(ebpf_conf '.runtimeConfig.bandwidth = {ingressRate: 8000000, ingressBurst: 4000000,
		egressRate: 16000000, egressBurst: 4000000}')
	run run_plugin ADD ebpf "$shaped" c2 eth0 "/run/netns/$CTR2"
	[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
	hv=$(counter c2 hostVeth)
	tc -n "$HOST" -j qdisc show dev "$hv" | jq -e '.[0].kind == "tbf" and .[0].options.rate == 1000000'
	tc -n "$CTR2" -j qdisc show dev eth0 | jq -e '.[0].kind == "tbf" and .[0].options.rate == 2000000'
	qpkts() { tc -n "$HOST" -j -s qdisc show dev "$hv" | jq '.[0].packets'; }
	ip netns exec "$CTR" ping -c 1 -W 2 10.66.0.3 # neighbours settled
	before=$(qpkts)
	ip netns exec "$CTR" ping -c 10 -i 0.05 -W 2 10.66.0.3
	# to the shaped pod through its host veth's egress (the qdisc counts each request), not
	# straight into its netns
	[ "$(($(qpkts) - before))" -ge 10 ] || { echo "qdisc saw $(($(qpkts) - before)) of 10"; false; }
	[ "$(counter c2 rxPackets)" -ge 10 ]
	# an unshaped pod still gets the peer redirect: c1's host veth qdisc sees no echo replies
	[ "$(tc -n "$HOST" -j qdisc show dev "$(counter c1 hostVeth)" | jq -r '.[0].kind')" != tbf ]
	run run_plugin ADD ebpf "$(ebpf_conf '.runtimeConfig.bandwidth = {ingressBurst: 100}')" c3 eth0 "/run/netns/$CTR2"
	[ "$status" -ne 0 ] && [ "$(json_get "$output" .code)" = 7 ]
	[[ "$(json_get "$output" .msg)" == *'"ingressBurst" is set but "ingressRate" is not'* ]]
}

@test "ebpf: the pod's ARP for the router is answered with the host veth's MAC" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hmac=$(json_get "$output" '.interfaces[0].mac')
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	[ "$(counter c1 arpReplies)" -eq 0 ]
	ip netns exec "$CTR" ping -c 1 -W 2 10.66.0.3
	ip -n "$CTR" -j neigh show 169.254.1.1 dev eth0 | jq -e --arg m "$hmac" '.[0].lladdr == $m'
	[ "$(counter c1 arpReplies)" -ge 1 ]
}

@test "ebpf: DEL removes the endpoint, the host veth, the IP file and the masquerade rule; DEL twice" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hv=$(json_get "$output" '.interfaces[0].name')
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	[ -f "$DATA/$NET/10.66.0.2" ]
	# masquerade is per network: one rule for the pods' subnet
	[ "$(masq_rules)" = 1 ]
	ip netns exec "$HOST" nft list chain inet weft "masq-$NET" | grep -q 'saddr 10.66.0.0/24'

	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$(counter c1 ip)" ]
	[ "$(counter c2 ip)" = 10.66.0.3 ] # the other pod is untouched
	! ip -n "$HOST" link show "$hv" 2>/dev/null
	! ip -n "$CTR" link show eth0 2>/dev/null
	[ ! -e "$DATA/$NET/10.66.0.2" ]
	[ "$(masq_rules)" = 1 ] # c2 still needs it
	compgen -G "$PIN/$NET/from_pod_v4_*" >/dev/null # shared: never removed by a pod's DEL
	run run_plugin DEL ebpf "$CONF" c2 eth0 "/run/netns/$CTR2"
	[ "$status" -eq 0 ]
	[ "$(masq_rules)" = 0 ] # the network's last pod takes it along

	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	run run_plugin DEL ebpf "$CONF" never-added eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
}

@test "ebpf: DEL without netns (and after the netns is gone) still removes everything" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hv1=$(json_get "$output" '.interfaces[0].name')
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	hv2=$(json_get "$output" '.interfaces[0].name')

	run run_plugin DEL ebpf "$CONF" c1 eth0 ""
	[ "$status" -eq 0 ]
	[ -z "$(counter c1 ip)" ]
	! ip -n "$HOST" link show "$hv1" 2>/dev/null
	[ ! -e "$DATA/$NET/10.66.0.2" ]
	[ "$(masq_rules)" = 1 ] # c2's

	# The runtime removed the netns first: the veth went with it, the rest is DEL's job.
	ip netns del "$CTR2"
	run run_plugin DEL ebpf "$CONF" c2 eth0 "/run/netns/$CTR2"
	[ "$status" -eq 0 ]
	[ -z "$(counter c2 ip)" ]
	! ip -n "$HOST" link show "$hv2" 2>/dev/null
	[ ! -e "$DATA/$NET/10.66.0.3" ]
	[ "$(stats_json | jq length)" -eq 0 ]
	[ "$(masq_rules)" = 0 ]
}

@test "ebpf: CHECK passes after ADD and fails when the tc program or the endpoint is gone" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hv=$(json_get "$output" '.interfaces[0].name')
	conf=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	conf2=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')

	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run run_plugin CHECK ebpf "$conf2" c2 eth0 "/run/netns/$CTR2"
	[ "$status" -eq 0 ]

	tc -n "$HOST" filter del dev "$hv" ingress
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 1 ]
	json_get "$output" '.msg' | grep -q 'ingress'

	bpftool map delete pinned "$PIN/$NET/endpoints_v4" key 0 0 0 0 0 0 0 0 0 0 255 255 10 66 0 3
	run run_plugin CHECK ebpf "$conf2" c2 eth0 "/run/netns/$CTR2"
	[ "$status" -eq 1 ]
	json_get "$output" '.msg' | grep -q 'no endpoint'

	run run_plugin CHECK ebpf "$CONF" c3
	[ "$status" -eq 1 ]
}

@test "ebpf: GC prunes endpoints, host veths and rules of attachments that are not valid" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	hv2=$(json_get "$output" '.interfaces[0].name')
	gc=$(printf '%s' "$CONF" | jq -c '.["cni.dev/valid-attachments"] = [{containerID: "c1", ifname: "eth0"}]')

	run run_plugin GC ebpf "$gc" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(counter c1 ip)" = 10.66.0.2 ]
	[ -z "$(counter c2 ip)" ]
	! ip -n "$HOST" link show "$hv2" 2>/dev/null
	[ -f "$DATA/$NET/10.66.0.2" ]
	[ ! -e "$DATA/$NET/10.66.0.3" ]
	[ "$(masq_rules)" = 1 ] # c1 is valid: the network keeps its masquerade
	ip netns exec "$CTR" ping -c 1 -W 2 169.254.1.1 >/dev/null || true # pod 1 still served
	[ "$(counter c1 arpReplies)" -ge 1 ]
}

@test "ebpf: masquerade to an outside netns that only knows the host (strict rp_filter on 'all' too)" {
	extra_ns out
	OUT=$REPLY
	ip link add wo0 netns "$HOST" type veth peer name eth0 netns "$OUT"
	ip -n "$HOST" addr add 192.0.2.1/24 dev wo0
	ip -n "$HOST" link set wo0 up
	ip -n "$OUT" addr add 192.0.2.2/24 dev eth0
	ip -n "$OUT" link set eth0 up
	ip netns exec "$HOST" sysctl -qw net.ipv4.conf.all.rp_filter=1

	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	fwd_before=$(host_forwarded)
	ip netns exec "$CTR" ping -c 2 -i 0.2 -W 2 192.0.2.2
	[ "$(host_forwarded)" -ge $((fwd_before + 4)) ] # the stack forwarded both ways
	# It went through the stack (not the program) and was masqueraded.
	ip netns exec "$HOST" nft -j list chain inet weft "masq-$NET" |
		jq -e '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add >= 1'
	[ "$(counter c1 fwdPackets)" -eq 0 ]
	[ "$(counter c1 rxPackets)" -ge 2 ]
	# Without masquerade the outside cannot answer: it has no route to the pods.
	run run_plugin DEL ebpf "$CONF" c1
	[ "$status" -eq 0 ]
	CONF=$(ebpf_conf '.ipMasq = false')
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	! ip netns exec "$CTR" ping -c 1 -W 1 192.0.2.2
}

@test "ebpf: kill -9 at random moments during ADD leaves nothing after DEL" {
	printf '%s' "$CONF" >"$DATA/conf.json"
	for i in $(seq 1 20); do
		ip netns exec "$HOST" env CNI_COMMAND=ADD CNI_CONTAINERID="k$i" CNI_IFNAME=eth0 \
			CNI_NETNS="/run/netns/$CTR" CNI_PATH="$BIN" "$BIN/ebpf" \
			<"$DATA/conf.json" >/dev/null 2>&1 &
		pid=$!
		sleep "$(printf '0.%03d' $((RANDOM % 30)))"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		run run_plugin DEL ebpf "$CONF" "k$i" eth0 "/run/netns/$CTR"
		[ "$status" -eq 0 ]
		! ip -n "$CTR" link show eth0 2>/dev/null
	done
	[ "$(ip -n "$HOST" -j link show type veth | jq length)" -eq 0 ]
	[ "$(ls "$DATA/$NET" 2>/dev/null | grep -c '^10\.')" -eq 0 ]
	[ "$(masq_rules)" = 0 ]
	# The datapath is usable afterwards and holds this one pod only.
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	stats_json | jq -e 'length == 1 and .[0].containerID == "c1"'
}

@test "ebpf: concurrent ADDs share one loaded program" {
	for i in 1 2 3 4 5 6; do
		extra_ns "p$i"
		ns=$REPLY
		run_plugin ADD ebpf "$CONF" "p$i" eth0 "/run/netns/$ns" >"$DATA/res$i" &
	done
	wait
	for i in 1 2 3 4 5 6; do
		jq -e '.ips[0].address' "$DATA/res$i"
	done
	ip netns exec "$HOST" bpftool net -j |
		jq -e '[.[0].tc[] | select(.kind == "clsact/ingress") | .id] | (length == 6) and (unique | length == 1)'
	id=$(bpftool prog show pinned "$PIN/$NET"/from_pod_v4_* -j | jq .id)
	ip netns exec "$HOST" bpftool net -j | jq -e --argjson id "$id" '.[0].tc[0].id == $id'
}

@test "ebpf: an upgraded plugin attaches its own programs on the same maps; old pods keep theirs" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	conf=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')
	# Pretend c1's programs came from another build: its pins carry another object hash.
	for p in from_pod to_pod; do
		mv "$PIN/$NET/${p}"_v4_* "$PIN/$NET/${p}_v4_00000000"
	done
	old=$(bpftool prog show pinned "$PIN/$NET/from_pod_v4_00000000" -j | jq .id)
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	new=$(ip netns exec "$HOST" bpftool net -j |
		jq --argjson old "$old" '[.[0].tc[] | select(.kind == "clsact/ingress") | .id | select(. != $old)][0]')
	[ "$new" != null ]
	[ "$(ls "$PIN/$NET" | grep -c '^from_pod_v4_')" -eq 2 ]
	# Both programs share the maps: the fast path works both ways, CHECK accepts the old one.
	ip netns exec "$CTR" ping -c 2 -i 0.2 -W 2 10.66.0.3
	ip netns exec "$CTR2" ping -c 2 -i 0.2 -W 2 10.66.0.2
	[ "$(counter c1 fwdPackets)" -ge 4 ]
	[ "$(counter c2 fwdPackets)" -ge 4 ]
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 0 ]
}

@test "ebpf: STATUS is ready with a usable pin root and code 50 when BPF is unusable" {
	run run_plugin STATUS ebpf "$CONF" "" "" ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]

	run run_plugin STATUS ebpf "$(ebpf_conf '.pinRoot = "/proc/weft-no-bpffs-here"')" "" "" ""
	[ "$status" -eq 1 ]
	json_get "$output" '.code' | grep -qx 50
	json_get "$output" '.msg' | grep -q 'eBPF datapath unavailable'

	# No CAP_BPF / CAP_SYS_ADMIN: the program cannot be loaded.
	conf=$(ebpf_conf '.name = "wft-ebpf-nocap"')
	run ip netns exec "$HOST" capsh --drop=cap_bpf,cap_sys_admin,cap_perfmon -- -c \
		"printf '%s' '$conf' | CNI_COMMAND=STATUS CNI_PATH=$BIN $BIN/ebpf 2>/dev/null"
	[ "$status" -eq 1 ]
	json_get "$output" '.code' | grep -qx 50
}

@test "ebpf: the host veth carries the attachment's alias; DEL and GC leave a foreign link of that name alone" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hv=$(json_get "$output" '.interfaces[0].name')
	ip -n "$HOST" -j link show "$hv" | jq -e --arg n "weft $NET " '.[0].ifalias | startswith($n) and (length == ($n | length) + 16)'
	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	# something else now has the name: DEL (and GC) must not take it for the pod's
	ip -n "$HOST" link add "$hv" type bridge
	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	ip -n "$HOST" link show "$hv"
	ip -n "$HOST" link del "$hv"
	ip -n "$HOST" link add "$hv" type veth peer name fpeer
	ip -n "$HOST" link set "$hv" alias "weft $NET 0123456789abcdef"
	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	ip -n "$HOST" link show "$hv"
	ip -n "$HOST" link del "$hv"
}

@test "ebpf: ADD failing on an existing pod interface leaves no veth and no IP behind" {
	ip -n "$CTR" link add eth0 type veth peer name eth0p
	run add c1 "$CTR"
	[ "$status" -eq 1 ]
	json_get "$output" '.msg' | grep -q 'already exists'
	[ "$(ip -n "$HOST" -j link show type veth | jq length)" -eq 0 ]
	[ "$(ls "$DATA/$NET" 2>/dev/null | grep -c '^10\.')" -eq 0 ]
	[ "$(stats_json | jq length)" -eq 0 ]
}

dual_conf() {
	ebpf_conf '.ipam.ranges = [[{subnet: "10.66.0.0/24"}], [{subnet: "fd00:66::/64"}]]'
}

@test "ebpf: dual-stack pods: /128 behind fe80::1, NDP answered by the program, IPv6 on the fast path" {
	CONF=$(dual_conf)
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hmac=$(json_get "$output" '.interfaces[0].mac')
	json_get "$output" '[.ips[] | .address + " " + .gateway] | join(",")' |
		grep -qx '10.66.0.2/32 169.254.1.1,fd00:66::2/128 fe80::1'
	json_get "$output" '[.routes[] | .dst + " " + .gw] | sort | join(",")' |
		grep -qx '0.0.0.0/0 169.254.1.1,::/0 fe80::1'
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	ip -n "$CTR" -j -6 addr show eth0 | jq -e '.[0].addr_info[] | select(.local == "fd00:66::2" and .prefixlen == 128)'
	ip -n "$CTR" -j -6 route show default | jq -e '.[0].gateway == "fe80::1"'
	ip -n "$HOST" -j -6 route show fd00:66::2 | jq -e '.[0].dev | startswith("veth")'
	[ "$(ip netns exec "$HOST" sysctl -n net.ipv6.conf.all.forwarding)" = 1 ]
	stats_json | jq -e '.[] | select(.containerID == "c1") | .ips == ["10.66.0.2", "fd00:66::2"]'
	fwd_before=$(ip netns exec "$HOST" awk '$1 == "Ip6OutForwDatagrams" { print $2 }' /proc/net/snmp6)

	out=$(ip netns exec "$CTR" ping -6 -c 3 -i 0.2 -W 2 fd00:66::3)
	[ "$(grep -c 'ttl=63' <<<"$out")" -eq 3 ] # hop limit decremented once, like a router
	# The router's NDP was answered by the program with the host veth's MAC (no proxy_ndp).
	ip -n "$CTR" -j -6 neigh show fe80::1 dev eth0 |
		jq -e --arg m "$hmac" '.[0].lladdr == $m and (.[0] | has("router"))'
	[ "$(counter c1 ndReplies)" -ge 1 ]
	[ "$(counter c1 fwdPackets)" -ge 3 ]
	[ "$(counter c2 fwdPackets)" -ge 3 ]
	[ "$(ip netns exec "$HOST" sysctl -n net.ipv6.conf.all.proxy_ndp)" = 0 ]
	fwd_after=$(ip netns exec "$HOST" awk '$1 == "Ip6OutForwDatagrams" { print $2 }' /proc/net/snmp6)
	[ "$fwd_after" -eq "$fwd_before" ] # bpf_redirect_peer: the host stack forwarded none
	ip netns exec "$CTR" ping -c 1 -W 2 10.66.0.3 # IPv4 alongside

	run run_plugin DEL ebpf "$CONF" c1 eth0 "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ -z "$(counter c1 ip)" ]
	[ ! -e "$DATA/$NET/fd00:66::2" ]
	[ ! -e "$DATA/$NET/10.66.0.2" ]
	! ip -n "$HOST" -6 route show | grep -q 'fd00:66::2'
	[ "$(masq_rules)" = 2 ] # c2 (both families) still there
	! ip netns exec "$CTR2" ping -6 -c 1 -W 1 fd00:66::2
}

@test "ebpf: CHECK of a dual-stack pod checks both families" {
	CONF=$(dual_conf)
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	conf=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 0 ]
	ip -n "$CTR" -6 route del default
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 1 ]
	json_get "$output" '.msg' | grep -q 'route to ::/0 missing'
}

@test "ebpf: IPv6 masquerade to an outside netns that only knows the host" {
	extra_ns out
	OUT=$REPLY
	ip link add wo0 netns "$HOST" type veth peer name eth0 netns "$OUT"
	ip -n "$HOST" addr add 2001:db8:77::1/64 dev wo0 nodad
	ip -n "$HOST" link set wo0 up
	ip -n "$OUT" addr add 2001:db8:77::2/64 dev eth0 nodad
	ip -n "$OUT" link set eth0 up
	CONF=$(ebpf_conf '.ipam.ranges = [[{subnet: "fd00:66::/64"}]]')
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	ip netns exec "$CTR" ping -6 -c 2 -i 0.2 -W 2 2001:db8:77::2
	ip netns exec "$HOST" nft -j list chain inet weft "masq-$NET" |
		jq -e '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add >= 1'
	[ "$(counter c1 rxPackets)" -ge 2 ]
}

@test "ebpf: two addresses of one family from IPAM are refused and rolled back" {
	CONF=$(ebpf_conf '.ipam.ranges = [[{subnet: "10.66.0.0/24"}], [{subnet: "10.67.0.0/24"}]]')
	run add c1 "$CTR"
	[ "$status" -eq 1 ]
	json_get "$output" '.code' | grep -qx 7
	json_get "$output" '.msg' | grep -q 'one address per family'
	[ "$(ip -n "$HOST" -j link show type veth | jq length)" -eq 0 ]
	[ "$(ls "$DATA/$NET" 2>/dev/null | grep -c '^10\.')" -eq 0 ]
	[ "$(stats_json | jq length)" -eq 0 ]
}

@test "ebpf: bigTCP raises the IPv4 GSO size of both veth ends; CHECK notices when it is lowered" {
	CONF=$(ebpf_conf '.bigTCP = true')
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	hv=$(json_get "$output" '.interfaces[0].name')
	conf=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 0 ]
	ip netns exec "$CTR" ping -c 1 -W 2 10.66.0.3
	# iproute2 6.1 cannot show or set gso_ipv4_max_size, but lowering the legacy size below
	# 64 KiB caps the IPv4 one too (kernel rule): CHECK reads it over netlink and notices.
	ip -n "$CTR" link set eth0 gso_max_size 32768
	run run_plugin CHECK ebpf "$conf" c1
	[ "$status" -eq 1 ]
	json_get "$output" '.msg' | grep -q 'gso_ipv4_max_size 32768, want 196608'
	# Without bigTCP the default sizes are kept and CHECK does not look at them.
	CONF=$(ebpf_conf)
	extra_ns c3
	run add c3 "$REPLY"
	[ "$status" -eq 0 ]
	ip -n "$REPLY" -d -j link show eth0 | jq -e '.[0].gso_max_size == 65536'
	ip -n "$HOST" -d -j link show "$hv" | jq -e '.[0].gso_max_size == 65536' # IPv6 left alone
}

@test "ebpf: pinned programs and maps are gone after cleanup" {
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	prog=$(bpftool prog show pinned "$PIN/$NET"/from_pod_v4_* -j | jq .id)
	map=$(bpftool map show pinned "$PIN/$NET/endpoints_v4" -j | jq .id)
	run run_plugin DEL ebpf "$CONF" c1
	[ "$status" -eq 0 ]
	umount "$PIN"
	# Freed asynchronously (RCU) once the last reference (pin, filter, fd) is gone.
	for _ in $(seq 1 50); do
		bpftool prog show id "$prog" >/dev/null 2>&1 ||
			bpftool map show id "$map" >/dev/null 2>&1 || break
		sleep 0.1
	done
	! bpftool prog show id "$prog"
	! bpftool map show id "$map"
}

@test "ebpf: stats command: usage errors and an unknown network" {
	run "$BIN/ebpf" stats
	[ "$status" -eq 2 ]
	run ip netns exec "$HOST" "$BIN/ebpf" stats nonet --pin-root "$PIN"
	[ "$status" -eq 1 ]
	[[ "$output" == *"nonet"* ]]
	run add c1 "$CTR"
	[ "$status" -eq 0 ]
	run ip netns exec "$HOST" "$BIN/ebpf" stats "$NET" --pin-root "$PIN"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == IP* ]]
	[[ "${lines[1]}" == 10.66.0.2* ]]
}

@test "ebpf: a bpffs is mounted on a pinRoot that has none" {
	root=$(mktemp -d /tmp/weft-root.XXXXXX)
	CONF=$(ebpf_conf --arg r "$root/pins" '.pinRoot = $r')
	printf '%s' "$CONF" >"$DATA/conf.json"
	# nsenter keeps the mount namespace (ip netns exec would remount /sys and hide nothing
	# here, but its private mount namespace would take the new bpffs with it on exit).
	run nsenter --net="/run/netns/$HOST" env CNI_COMMAND=ADD CNI_CONTAINERID=c1 \
		CNI_IFNAME=eth0 CNI_NETNS="/run/netns/$CTR" CNI_PATH="$BIN" "$BIN/ebpf" <"$DATA/conf.json"
	fstype=$(stat -f -c %T "$root/pins" 2>/dev/null || true)
	pinned=$(ls "$root/pins/$NET" 2>/dev/null | tr '\n' ' ')
	umount "$root/pins" 2>/dev/null || true
	rm -rf "$root"
	[ "$status" -eq 0 ]
	[ "$fstype" = bpf_fs ]
	[[ "$pinned" =~ ^conntrack_v4\ endpoints_v4\ from_pod_v4_[0-9a-f]{8}\ links_v4\ meta_v4\ policy_v4\ polpods_v4\ polports_v4\ remote_v4\ stats_v4\ to_pod_v4_[0-9a-f]{8}\ $ ]]
}

# ep_count DIR: entries of the endpoint map pinned in DIR.
ep_count() {
	bpftool map dump pinned "$1/endpoints_v4" -j | jq length
}

# ingress_maps HOSTVETH: ids of the maps the ingress program of a host veth uses.
ingress_maps() {
	local id
	id=$(ip netns exec "$HOST" bpftool net -j |
		jq --arg d "$1" '.[0].tc[] | select(.devname == $d and .kind == "clsact/ingress") | .id')
	bpftool prog show id "$id" -j | jq -c .map_ids
}

@test "ebpf: ip netns exec, no bpffs at pinRoot: pinned in the runtime's mount namespace, shared by every call" {
	ROOT=$(mktemp -d /tmp/weft-root.XXXXXX)
	pins=$ROOT/pins
	CONF=$(ebpf_conf --arg r "$pins" '.pinRoot = $r')
	STATS_PIN=$pins
	run add c1 "$CTR"
	[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
	hv1=$(json_get "$output" '.interfaces[0].name')
	conf1=$(printf '%s' "$CONF" | jq -c --argjson p "$output" '.prevResult = $p')
	# on a bpffs of this shell's mount namespace (the runtime's), not the call's private one
	[ "$(stat -f -c %T "$pins")" = bpf_fs ]
	map=$(bpftool map show pinned "$pins/$NET/endpoints_v4" -j | jq .id)
	run add c2 "$CTR2"
	[ "$status" -eq 0 ]
	hv2=$(json_get "$output" '.interfaces[0].name')
	# one datapath: the second call found the first one's maps and programs
	[ "$(bpftool map show pinned "$pins/$NET/endpoints_v4" -j | jq .id)" = "$map" ]
	[ "$(ep_count "$pins/$NET")" -eq 2 ]
	[ "$(ls "$pins/$NET" | grep -c '^from_pod_v4_')" -eq 1 ]
	ingress_maps "$hv1" | jq -e --argjson m "$map" 'any(.[]; . == $m)'
	[ "$(ingress_maps "$hv1")" = "$(ingress_maps "$hv2")" ]
	# pod to pod through the program (bpf_redirect_peer), not the host stack
	fwd_before=$(host_forwarded)
	ip netns exec "$CTR" ping -c 3 -i 0.2 -W 2 10.66.0.3
	[ "$(counter c1 fwdPackets)" -ge 3 ]
	[ "$(counter c2 rxPackets)" -ge 3 ]
	[ "$(host_forwarded)" -eq "$fwd_before" ]
	# CHECK, DEL and GC (each a call in a private mount namespace of its own) find the pins
	run run_plugin CHECK ebpf "$conf1" c1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run run_plugin DEL ebpf "$CONF" c1
	[ "$status" -eq 0 ]
	[ "$(ep_count "$pins/$NET")" -eq 1 ]
	! ip -n "$HOST" link show "$hv1" 2>/dev/null
	run run_plugin GC ebpf "$(printf '%s' "$CONF" | jq -c '.["cni.dev/valid-attachments"] = []')" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(ep_count "$pins/$NET")" -eq 0 ]
	! ip -n "$HOST" link show "$hv2" 2>/dev/null
	[ "$(masq_rules)" = 0 ]
}

@test "ebpf: ip netns exec with the default pinRoot pins on the runtime's /sys/fs/bpf (a throwaway mount namespace here)" {
	before=$(stat -f -c %T /sys/fs/bpf)
	ino=$(ip netns exec "$HOST" stat -L -c %i /proc/self/ns/net)
	CONF=$(ebpf_conf 'del(.pinRoot)')
	export CONF NET CTR2 ino BATS_TEST_TMPDIR WEFT_ROOT
	export -f add run_plugin conf_with_data
	# The "runtime" is a shell in a mount namespace of its own, gone with it: the machine's
	# /sys/fs/bpf is never touched. Each call under it unshares another (ip netns exec).
	run unshare -m --propagation private bash -euc '
		add c1 "$CTR" >/dev/null
		add c2 "$CTR2" >/dev/null
		pins=/sys/fs/bpf/weft/$ino/$NET
		[ "$(stat -f -c %T /sys/fs/bpf)" = bpf_fs ]
		echo "eps $(bpftool map dump pinned "$pins/endpoints_v4" -j | jq length)"
		run_plugin DEL ebpf "$CONF" c1
		echo "after $(bpftool map dump pinned "$pins/endpoints_v4" -j | jq length)"'
	[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
	[[ "$output" == *"eps 2"*"after 1"* ]]
	[ "$(stat -f -c %T /sys/fs/bpf)" = "$before" ] # the machine's /sys/fs/bpf untouched
	[ ! -e /sys/fs/bpf/weft ] || [ "$before" = bpf_fs ]
}

@test "ebpf: ip netns exec, and the runtime's mount namespace cannot have a bpffs at pinRoot: ADD fails naming pinRoot, nothing made" {
	CONF=$(ebpf_conf '.pinRoot = "/proc/weft-no-bpffs-here/pins"')
	run add c1 "$CTR"
	[ "$status" -ne 0 ]
	[ "$(json_get "$output" .code)" = 103 ]
	[[ "$(json_get "$output" .msg)" == "pinRoot '/proc/weft-no-bpffs-here/pins' has no bpffs that outlives this process, and mounting one in the runtime's mount namespace (process "*") failed: "* ]]
	[[ "$(json_get "$output" .details)" == *"every pod would get maps of its own; fix: mount a bpffs at the pinRoot (or on /sys/fs/bpf) in the host's mount namespace"*"set pinRoot to a directory on a bpffs that outlives the call"* ]]
	[ -z "$(ip -n "$HOST" -j link show type veth | jq -r '.[].ifname')" ]
	[ -z "$(find "$DATA" -name '10.*')" ]
	[ "$(masq_rules)" = 0 ]
	run run_plugin DEL ebpf "$CONF" c1
	[ "$status" -eq 0 ]
}

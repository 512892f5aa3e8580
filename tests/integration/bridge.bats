#!/usr/bin/env bats
# The bridge plugin against real kernel objects. Every test has its own throwaway "host" and
# pod netns (helpers.bash), its own dataDir, and removes all of it in teardown.
# Numbers in test names refer to docs/cni-contract.md §7.

load helpers

setup() {
	weft_setup
	command -v ping >/dev/null || fail "ping (iputils-ping) is required"
}

teardown() {
	weft_teardown
}

fail() {
	echo "$*" >&2
	return 1
}

# conf [VERSION] [JQ-OBJECT-MERGED-IN]: a bridge + host-local config in $DATA.
conf() {
	jq -cn --arg d "$DATA" --arg v "${1:-1.0.0}" --argjson x "${2:-{\}}" '{
		cniVersion: $v, name: "wnet", type: "bridge", bridge: "wbr0", isGateway: true,
		ipam: {type: "host-local", subnet: "10.99.0.0/24", dataDir: $d}} * $x'
}

# with_prev CONF RESULT: CONF plus prevResult.
with_prev() {
	jq -c --argjson p "$2" '. + {prevResult: $p}' <<<"$1"
}

ip_files() {
	find "$DATA/wnet" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' \
		! -name '.*' 2>/dev/null | wc -l
}

# Masquerade rules of network wnet: one per pod subnet, shared by its pods.
masq_rules() {
	ip netns exec "$HOST" nft -j list ruleset 2>/dev/null |
		jq '[.nftables[] | select(.rule) | .rule | select(.table == "weft")
			| select((.comment // "") | test("^[0-9a-f]{16}, subnet: .*, net: wnet$"))] | length'
}

# Rules in weft's nft tables for a container ID (macspoofchk; no masquerade rule is per pod).
nft_rules() {
	ip netns exec "$HOST" nft -j list ruleset 2>/dev/null |
		jq --arg id "id: $1" '[.nftables[] | select(.rule) | .rule
			| select(.table == "weft") | select((.comment // "") | contains($id))] | length'
}

host_ports() {
	ip -n "$HOST" -j link show master wbr0 | jq length
}

ctr_ns() { # ctr_ns NAME: an extra pod netns
	weft_netns_add "$1"
}

add_ok() { # add_ok CONF [CID] [NETNS]: ADD must succeed; the result is in $output
	run run_plugin ADD bridge "$1" "${2:-ctr1}" eth0 "${3:-/run/netns/$CTR}"
	[ "$status" -eq 0 ] || fail "ADD failed: $output $(plugin_stderr)"
}

expect_code() { # expect_code N
	[ "$status" -ne 0 ] || fail "expected failure, got success: $output"
	[ "$(json_get "$output" .code)" = "$1" ] || fail "expected code $1: $output"
	[ -n "$(json_get "$output" .msg)" ]
}

# ---- result shape ---------------------------------------------------------------------------

@test "bridge 16: result shape for 0.3.0 .. 1.1.0" {
	for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		add_ok "$(conf $v)" "c-$v"
		[ "$(json_get "$output" .cniVersion)" = "$v" ]
		json_get "$output" '.interfaces | length' | grep -qx 3
		[ "$(json_get "$output" '.interfaces[0].name')" = wbr0 ]
		[ "$(json_get "$output" '.interfaces[1].name')" = "$(ip -n "$HOST" -j link show master wbr0 |
			jq -r --arg m "$(json_get "$output" '.interfaces[1].mac')" '.[] | select(.address == $m) | .ifname')" ]
		[ "$(json_get "$output" '.interfaces[2].sandbox')" = "/run/netns/$CTR" ]
		[ "$(json_get "$output" '.interfaces[2].name')" = eth0 ]
		[ "$(json_get "$output" '.ips[0].interface')" = 2 ]
		[[ "$(json_get "$output" '.ips[0].address')" =~ ^10\.99\.0\.[0-9]+/24$ ]]
		if [[ $v == 0.* ]]; then
			[ "$(json_get "$output" '.ips[0].version')" = 4 ]
		else
			[ "$(json_get "$output" '.ips[0] | has("version")')" = false ]
		fi
		run run_plugin DEL bridge "$(conf $v)" "c-$v"
		[ "$status" -eq 0 ]
	done
}

@test "bridge 17: 0.1.0/0.2.0 results; L2-only at 0.2.0 is refused before touching anything" {
	add_ok "$(conf 0.2.0)"
	[ "$(json_get "$output" .ip4.ip)" = 10.99.0.2/24 ]
	[ "$(json_get "$output" .ip4.gateway)" = 10.99.0.1 ]
	[ "$(json_get "$output" 'has("interfaces")')" = false ]
	run run_plugin ADD bridge "$(conf 0.2.0 '{"ipam":null}' | jq -c 'del(.ipam)')" ctr2 eth1
	expect_code 100
	[[ "$output" == *"no valid IP addresses"* ]]
	ip -n "$CTR" link show eth1 && fail "eth1 must not exist"
	[ "$(host_ports)" = 1 ]
}

@test "bridge 19: isDefaultGateway adds the default route" {
	# forwarding is read over netlink (RTM_GETNETCONF) and turned on when it is off
	ip netns exec "$HOST" sysctl -qw net.ipv4.ip_forward=0
	add_ok "$(conf 1.0.0 '{"isDefaultGateway":true}')"
	json_get "$output" '.routes[] | select(.dst == "0.0.0.0/0") | .gw' | grep -qx 10.99.0.1
	ip -n "$CTR" -j route show default | jq -e '.[0].gateway == "10.99.0.1" and .[0].dev == "eth0"'
	ip -n "$HOST" -j addr show dev wbr0 | jq -e '[.[0].addr_info[] | select(.local == "10.99.0.1" and .prefixlen == 24)] | length == 1'
	[ "$(ip netns exec "$HOST" cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
	# already on: left on
	add_ok "$(conf 1.0.0 '{"isDefaultGateway":true}')" ctr2 "/run/netns/$(ctr_ns p2)"
	[ "$(ip netns exec "$HOST" cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
}

@test "bridge 21: conf dns replaces IPAM's; IPAM resolvConf is used otherwise" {
	printf 'nameserver 10.1.1.1\nsearch example.org\n' >"$DATA/resolv.conf"
	add_ok "$(conf 1.0.0 "{\"ipam\":{\"resolvConf\":\"$DATA/resolv.conf\"}}")"
	[ "$(json_get "$output" '.dns.nameservers[0]')" = 10.1.1.1 ]
	add_ok "$(conf 1.0.0 "{\"dns\":{\"nameservers\":[\"9.9.9.9\"],\"domain\":\"x.y\"},\"ipam\":{\"resolvConf\":\"$DATA/resolv.conf\"}}")" ctr2 "/run/netns/$(ctr_ns p2)"
	[ "$(json_get "$output" '.dns.nameservers | join(",")')" = 9.9.9.9 ]
	[ "$(json_get "$output" '.dns.domain')" = x.y ]
}

# ---- ADD semantics --------------------------------------------------------------------------

@test "bridge 23: ifname already in the pod: error, no host veth, no IP, no rule" {
	ip -n "$CTR" link add eth0 type bridge # a foreign, non-veth link
	c=$(conf 1.0.0 '{"ipMasq":true}')
	run run_plugin ADD bridge "$c"
	expect_code 101
	[[ "$(json_get "$output" .msg)" == *'"eth0" already exists'* ]]
	[ "$(host_ports)" = 0 ]
	[ "$(ip -n "$HOST" -j link show type veth | jq length)" = 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
	# The runtime's DEL afterwards succeeds and leaves the foreign link alone.
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	ip -n "$CTR" link show eth0
}

@test "bridge 24: nonexistent CNI_NETNS fails before creating anything" {
	run run_plugin ADD bridge "$(conf)" ctr1 eth0 /run/netns/does-not-exist-$$
	expect_code 106
	[ "$(ip_files)" = 0 ]
	ip -n "$HOST" link show wbr0 && fail "no bridge expected"
	true
}

@test "bridge 25: failure after IPAM ADD releases the IP and removes the veth and rule" {
	# The bridge carries another IPv4 address and forceAddress is off: the gateway step, which
	# runs after IPAM (masquerade comes after it), fails.
	ip -n "$HOST" link add wbr0 type bridge
	ip -n "$HOST" addr add 192.168.77.1/24 dev wbr0
	run run_plugin ADD bridge "$(conf 1.0.0 '{"ipMasq":true}')"
	expect_code 7
	[[ "$(json_get "$output" .msg)" == *'"wbr0" already has an IP address different from 10.99.0.1/24'* ]]
	[ "$(ip_files)" = 0 ]
	[ "$(host_ports)" = 0 ]
	[ "$(masq_rules)" = 0 ] # the network's only pod: its rule went with the rollback
	ip -n "$CTR" link show eth0 && fail "pod veth must be gone"
	# forceAddress replaces the foreign address.
	add_ok "$(conf 1.0.0 '{"forceAddress":true}')"
	ip -n "$HOST" -j addr show dev wbr0 | jq -e '[.[0].addr_info[] | select(.family == "inet") | .local] == ["10.99.0.1"]'
}

@test "bridge 26: 64 concurrent ADDs on a fresh host: one bridge, one gateway address, unique IPs" {
	c=$(conf 1.0.0 '{"ipMasq":true,"ipam":{"subnet":"10.99.0.0/16"}}')
	pids=()
	for i in $(seq 1 64); do
		ns=$(ctr_ns "p$i")
		(run_plugin ADD bridge "$c" "cid$i" eth0 "/run/netns/$ns" >"$DATA/out.$i") &
		pids+=($!)
	done
	for i in $(seq 0 63); do
		wait "${pids[$i]}" || fail "ADD $((i + 1)) failed: $(cat "$DATA/out.$((i + 1))") $(plugin_stderr)"
	done
	[ "$(ip -n "$HOST" -j link show type bridge | jq length)" = 1 ]
	[ "$(ip -n "$HOST" -j addr show dev wbr0 | jq '[.[0].addr_info[] | select(.family == "inet")] | length')" = 1 ]
	[ "$(host_ports)" = 64 ]
	[ "$(cat "$DATA"/out.* | jq -r '.ips[0].address' | sort -u | wc -l)" = 64 ]
	[ "$(ip_files)" = 64 ]
	# one masquerade rule for the 64 pods: concurrent first ADDs never duplicate it
	[ "$(masq_rules)" = 1 ]
	for i in 1 32 64; do [ "$(nft_rules "cid$i")" = 0 ]; done
}

@test "bridge 27: IP exhausted: the failed ADD leaves nothing" {
	c=$(conf 1.0.0 '{"ipMasq":true,"ipam":{"subnet":"10.99.0.0/30"}}')
	add_ok "$c"
	run run_plugin ADD bridge "$c" ctr2 eth0 "/run/netns/$(ctr_ns p2)"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no IP addresses available"* ]]
	[ "$(host_ports)" = 1 ]
	[ "$(ip_files)" = 1 ]
	[ "$(masq_rules)" = 1 ] # ctr1's
}

# ---- kernel state and traffic ---------------------------------------------------------------

@test "bridge: two pods ping each other and the gateway" {
	c=$(conf 1.0.0 '{"isDefaultGateway":true}')
	add_ok "$c"
	ip1=$(json_get "$output" '.ips[0].address' | cut -d/ -f1)
	p2=$(ctr_ns p2)
	add_ok "$c" ctr2 "/run/netns/$p2"
	ip2=$(json_get "$output" '.ips[0].address' | cut -d/ -f1)
	ip netns exec "$CTR" ping -c1 -W2 "$ip2"
	ip netns exec "$p2" ping -c1 -W2 "$ip1"
	ip netns exec "$CTR" ping -c1 -W2 10.99.0.1
	# No DAD wait and an announcement: the host already knows the pods' MACs.
	ip -n "$HOST" neigh show dev wbr0 | grep -q "$ip1"
}

@test "bridge: a reused IP is announced: the host's stale neighbour entry follows the new pod; a fresh one is not" {
	c=$(conf 1.0.0)
	add_ok "$c"
	mac1=$(json_get "$output" '.interfaces[2].mac')
	# A second pod keeps the bridge's carrier up, so the host keeps its neighbour entries
	# (arp_evict_nocarrier) when the first pod goes.
	add_ok "$c" keeper "/run/netns/$(ctr_ns keeper)"
	ip netns exec "$HOST" ping -c1 -W2 10.99.0.2
	ip -n "$HOST" neigh show 10.99.0.2 | grep -q "$mac1"
	# ... and so does another pod, on another port of the bridge
	ip netns exec "$WEFT_PREFIX-keeper" ping -c1 -W2 10.99.0.2
	ip -n "$WEFT_PREFIX-keeper" neigh show 10.99.0.2 | grep -q "$mac1"
	# A fresh address has nothing to correct: no broadcast reaches the other ports (counted at
	# the keeper's eth0 by an nft netdev ingress chain).
	ip netns exec "$WEFT_PREFIX-keeper" nft add table netdev probe
	ip netns exec "$WEFT_PREFIX-keeper" nft add chain netdev probe in \
		"{ type filter hook ingress device eth0 priority 0; }"
	ip netns exec "$WEFT_PREFIX-keeper" nft add rule netdev probe in \
		ether daddr ff:ff:ff:ff:ff:ff counter
	rx() { ip netns exec "$WEFT_PREFIX-keeper" nft -j list chain netdev probe in |
		jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add'; }
	before=$(rx)
	add_ok "$c" fresh "/run/netns/$(ctr_ns fresh)"
	sleep 0.2
	[ "$(rx)" = "$before" ]
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	CNI_ARGS="IP=10.99.0.2" add_ok "$c" ctr2 "/run/netns/$(ctr_ns p2)"
	mac2=$(json_get "$output" '.interfaces[2].mac')
	[ "$mac1" != "$mac2" ]
	# No traffic to the pod since: only its announcement can have updated the entries. It is
	# sent once the new port forwards (one sent while eth0 goes up would be dropped there).
	ip -n "$HOST" neigh show 10.99.0.2 | grep -q "$mac2"
	ip -n "$WEFT_PREFIX-keeper" neigh show 10.99.0.2 | grep -q "$mac2"
	[ "$(rx)" -gt "$before" ]
}

@test "bridge 30: masquerade proven by effect; pod-to-pod and multicast not masqueraded" {
	out=$(ctr_ns out)
	ip -n "$HOST" link add wout type veth peer name eth0 netns "$out"
	ip -n "$HOST" addr add 203.0.113.1/24 dev wout
	ip -n "$HOST" link set wout up
	ip -n "$out" addr add 203.0.113.2/24 dev eth0
	ip -n "$out" link set eth0 up
	# "outside" knows only the host's address: no route back to 10.99.0.0/24.
	c=$(conf 1.0.0 '{"isDefaultGateway":true,"ipMasq":true}')
	add_ok "$c"
	ip netns exec "$CTR" ping -c2 -W2 203.0.113.2
	ip -n "$out" neigh show dev eth0 | grep -q 203.0.113.1
	# The rule excludes the pod subnet and multicast.
	ip netns exec "$HOST" nft list table inet weft | grep -q 'daddr != 10.99.0.0/24'
	ip netns exec "$HOST" nft list table inet weft | grep -q 'daddr != 224.0.0.0/4'
	# Control: a network without ipMasq (another bridge and subnet) gets no answer.
	p2=$(ctr_ns p2)
	ctl=$(conf 1.0.0 '{"name":"wctl","bridge":"wbr1","isDefaultGateway":true,"ipam":{"subnet":"10.98.0.0/24"}}')
	add_ok "$ctl" ctr2 "/run/netns/$p2"
	run ip netns exec "$p2" ping -c1 -W1 203.0.113.2
	[ "$status" -ne 0 ]
	# Pod to pod keeps its source: the masquerade counter does not move.
	p3=$(ctr_ns p3)
	add_ok "$c" ctr3 "/run/netns/$p3"
	before=$(ip netns exec "$HOST" nft -j list table inet weft | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add')
	ip netns exec "$p3" ping -c2 -W2 "$(ip -n "$CTR" -j addr show dev eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local')"
	after=$(ip netns exec "$HOST" nft -j list table inet weft | jq '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add')
	[ "$before" = "$after" ]
	run run_plugin DEL bridge "$ctl" ctr2 eth0 "/run/netns/$p2"
	[ "$status" -eq 0 ]
}

# masq_handles: the handles of wnet's masquerade rules (a replaced rule gets a new one)
masq_handles() {
	ip netns exec "$HOST" nft -j list chain inet weft masq-wnet 2>/dev/null |
		jq -c '[.nftables[] | select(.rule) | .rule.handle]'
}

@test "bridge: masquerade is per network: one rule per subnet, made once, gone with the last pod" {
	c=$(conf 1.0.0 '{"ipMasq":true,"ipam":{"ranges":[[{"subnet":"10.99.0.0/24"}],[{"subnet":"fd00:99::/64"}]],"subnet":null}}')
	add_ok "$c"
	[ "$(masq_rules)" = 2 ] # IPv4 and IPv6
	ip netns exec "$HOST" nft list chain inet weft masq-wnet | grep -q 'ip saddr 10.99.0.0/24 ip daddr != 10.99.0.0/24 ip daddr != 224.0.0.0/4 counter packets [0-9]* bytes [0-9]* masquerade'
	ip netns exec "$HOST" nft list chain inet weft masq-wnet | grep -q 'ip6 saddr fd00:99::/64 ip6 daddr != fd00:99::/64 ip6 daddr != ff00::/8 counter packets [0-9]* bytes [0-9]* masquerade'
	h=$(masq_handles)
	# More pods, and a DEL that is not the last: the same rules (nothing committed).
	add_ok "$c" ctr2 "/run/netns/$(ctr_ns p2)"
	add_ok "$c" ctr3 "/run/netns/$(ctr_ns p3)"
	res3=$output
	run run_plugin DEL bridge "$c" ctr2
	[ "$status" -eq 0 ]
	[ "$(masq_handles)" = "$h" ]
	# CHECK finds the rules of the pod's subnets; a rule removed behind weft's back (what a
	# kill -9 before it was made leaves) fails CHECK, and the next ADD makes it again.
	run run_plugin CHECK bridge "$(with_prev "$c" "$res3")" ctr3 eth0 "/run/netns/$WEFT_PREFIX-p3"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	ip netns exec "$HOST" nft delete rule inet weft masq-wnet handle "$(jq '.[0]' <<<"$h")"
	run run_plugin CHECK bridge "$(with_prev "$c" "$res3")" ctr3 eth0 "/run/netns/$WEFT_PREFIX-p3"
	expect_code 100
	[[ "$(json_get "$output" .msg)" == *"no masquerade rule for 10.99.0."* ]]
	add_ok "$c" ctr4 "/run/netns/$(ctr_ns p4)"
	run run_plugin CHECK bridge "$(with_prev "$c" "$res3")" ctr3 eth0 "/run/netns/$WEFT_PREFIX-p3"
	[ "$status" -eq 0 ] || fail "not repaired: $output"
	[ "$(masq_rules)" = 2 ]
	run run_plugin DEL bridge "$c" ctr4
	[ "$status" -eq 0 ]
	# The last two DELs: nothing of the network's masquerade is left, not even its chain.
	run run_plugin DEL bridge "$c" ctr3
	[ "$(masq_rules)" = 2 ]
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	[ "$(masq_rules)" = 0 ]
	run ip netns exec "$HOST" nft list chain inet weft masq-wnet
	[ "$status" -ne 0 ]
}

@test "bridge: a DEL killed between the last release and the masquerade's removal: the next DEL or GC finishes it" {
	c=$(conf 1.0.0 '{"ipMasq":true}')
	add_ok "$c"
	# what the killed DEL left: the address released, the rules still there
	rm "$DATA/wnet/10.99.0.2"
	ip -n "$HOST" link del "$(ip -n "$HOST" -j link show master wbr0 | jq -r '.[0].ifname')"
	[ "$(masq_rules)" = 1 ]
	run run_plugin DEL bridge "$c" some-other-pod
	[ "$status" -eq 0 ]
	[ "$(masq_rules)" = 0 ]
	# the same state, repaired by GC with nothing valid
	add_ok "$c" ctr2 "/run/netns/$(ctr_ns p2)"
	rm "$DATA/wnet/10.99.0.3"
	run run_plugin GC bridge "$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$(conf 1.1.0 '{"ipMasq":true}')")" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(masq_rules)" = 0 ]
	[ "$(host_ports)" = 0 ]
}

@test "bridge: two networks on one bridge keep their own masquerade" {
	a=$(conf 1.0.0 '{"ipMasq":true}')
	b=$(conf 1.0.0 '{"ipMasq":true,"isGateway":false,"name":"wnet2","ipam":{"subnet":"10.97.0.0/24"}}')
	add_ok "$a"
	add_ok "$b" b1 "/run/netns/$(ctr_ns p2)"
	ip netns exec "$HOST" nft list chain inet weft masq-wnet | grep -q 'saddr 10.99.0.0/24'
	ip netns exec "$HOST" nft list chain inet weft masq-wnet2 | grep -q 'saddr 10.97.0.0/24'
	# wnet's last pod goes: its chain goes, wnet2's stays as it was
	run run_plugin DEL bridge "$a"
	[ "$status" -eq 0 ]
	run ip netns exec "$HOST" nft list chain inet weft masq-wnet
	[ "$status" -ne 0 ]
	ip netns exec "$HOST" nft list chain inet weft masq-wnet2 | grep -q 'saddr 10.97.0.0/24'
	run run_plugin DEL bridge "$b" b1
	[ "$status" -eq 0 ]
	[ "$(ip netns exec "$HOST" nft -j list ruleset | jq '[.nftables[] | select(.rule)] | length')" = 0 ]
}

@test "bridge 31: port, hairpin, isolation, sysctls, stable bridge MAC" {
	c=$(conf 1.0.0 '{"hairpinMode":true,"portIsolation":true}')
	add_ok "$c"
	mac1=$(ip -n "$HOST" -j link show wbr0 | jq -r '.[0].address')
	host=$(json_get "$output" '.interfaces[1].name')
	ip -n "$HOST" -d -j link show "$host" | jq -e '.[0].operstate == "UP" and .[0].master == "wbr0"
		and .[0].linkinfo.info_slave_data.hairpin == true
		and .[0].linkinfo.info_slave_data.isolated == true'
	[ "$(ip netns exec "$CTR" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)" = 1 ]
	# The host end, a bridge port, gets no IPv6 link-local address; nor does an IPv4-only
	# pod's eth0 (no DAD, MLD or RS floods), unless ipv6LinkLocal keeps it (with accept_dad 0).
	ip -n "$HOST" -d -j link show dev "$host" | jq -e '.[0].inet6_addr_gen_mode == "none"'
	ip -n "$HOST" -6 -j addr show dev "$host" | jq -e '[.[].addr_info[]] == []'
	ip -n "$CTR" -d -j link show dev eth0 | jq -e '.[0].inet6_addr_gen_mode == "none"'
	ip -n "$CTR" -6 -j addr show dev eth0 | jq -e '[.[].addr_info[]] == []'
	p5=$(ctr_ns p5)
	add_ok "$(conf 1.0.0 '{"ipv6LinkLocal":true}')" c5 "/run/netns/$p5"
	[ "$(ip netns exec "$p5" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" = 0 ]
	ip -n "$p5" -d -j link show dev eth0 | jq -e '.[0].inet6_addr_gen_mode == "eui64"'
	ip -n "$p5" -6 -j addr show dev eth0 scope link | jq -e '[.[].addr_info[] | .local | startswith("fe80:")] == [true]'
	for i in 2 3 4; do add_ok "$c" "c$i" "/run/netns/$(ctr_ns "p$i")"; done
	run run_plugin DEL bridge "$c" c2
	[ "$status" -eq 0 ]
	[ "$(ip -n "$HOST" -j link show wbr0 | jq -r '.[0].address')" = "$mac1" ]
}

@test "bridge: vlan config on a kernel without vlan filtering names the cause" {
	vlan_filtering_supported && skip "kernel has vlan filtering"
	run run_plugin ADD bridge "$(conf 1.0.0 '{"vlan":100}')"
	[ "$status" -ne 0 ]
	[[ "$(json_get "$output" .details)" == *CONFIG_BRIDGE_VLAN_FILTERING* ]]
	[ "$(ip_files)" = 0 ]
}

@test "bridge: promiscMode with hairpinMode, bad ipMasqBackend, IPAM with disableContainerInterface: code 7" {
	run run_plugin ADD bridge "$(conf 1.0.0 '{"hairpinMode":true,"promiscMode":true}')"
	expect_code 7
	run run_plugin ADD bridge "$(conf 1.0.0 '{"ipMasq":true,"ipMasqBackend":"ebtables"}')"
	expect_code 7
	[[ "$output" == *"unknown ipmasq backend"* ]]
	run run_plugin ADD bridge "$(conf 1.0.0 '{"disableContainerInterface":true}')"
	expect_code 7
	run run_plugin ADD bridge "$(conf 1.0.0 '{"vlan":4095}')"
	expect_code 7
	ip -n "$HOST" link add wbr0 type veth peer name wbr0p
	run run_plugin ADD bridge "$(conf)"
	expect_code 7
	[ "$(json_get "$output" .msg)" = '"wbr0" already exists but is not a bridge' ]
	[ "$(ip_files)" = 0 ]
	# both ipMasqBackend values are accepted; weft programs nftables for both
	add_ok "$(conf 1.0.0 '{"ipMasq":true,"ipMasqBackend":"iptables","bridge":"wbr1"}')"
	[ "$(masq_rules)" = 1 ]
}

@test "bridge: promiscMode, mtu on the bridge and both veth ends" {
	add_ok "$(conf 1.0.0 '{"mtu":1400,"promiscMode":true}')"
	ip -n "$HOST" -j link show wbr0 | jq -e '.[0].mtu == 1400 and (.[0].flags | index("PROMISC"))'
	ip -n "$HOST" -j link show "$(json_get "$output" '.interfaces[1].name')" | jq -e '.[0].mtu == 1400'
	ip -n "$CTR" -j link show eth0 | jq -e '.[0].mtu == 1400'
	# A later, bigger mtu raises the existing bridge; a smaller one never lowers it.
	add_ok "$(conf 1.0.0 '{"mtu":9000}')" ctr2 "/run/netns/$(ctr_ns p2)"
	ip -n "$HOST" -j link show wbr0 | jq -e '.[0].mtu == 9000'
	add_ok "$(conf 1.0.0 '{"mtu":1300}')" ctr3 "/run/netns/$(ctr_ns p3)"
	ip -n "$HOST" -j link show wbr0 | jq -e '.[0].mtu == 9000'
}

vlan_filtering_supported() {
	ip -n "$HOST" link add wprobe type bridge vlan_filtering 1 2>/dev/null || return 1
	ip -n "$HOST" link del wprobe
}

@test "bridge: vlan access port, vlan gateway interface, trunk" {
	vlan_filtering_supported || skip "kernel without CONFIG_BRIDGE_VLAN_FILTERING"
	add_ok "$(conf 1.0.0 '{"vlan":100}')"
	host=$(json_get "$output" '.interfaces[1].name')
	ip -n "$HOST" -d -j link show wbr0 | jq -e '.[0].linkinfo.info_data.vlan_filtering == 1'
	bridge -n "$HOST" -j vlan show dev "$host" | jq -e '[.[0].vlans[] | {vlan, flags}] == [{"vlan":100,"flags":["PVID","Egress Untagged"]}]'
	# isGateway with vlan: the gateway sits on wbr0.100, listed in the result.
	json_get "$output" '.interfaces[3].name' | grep -qx wbr0.100
	ip -n "$HOST" -j addr show dev wbr0.100 | jq -e '[.[0].addr_info[] | .local] | index("10.99.0.1")'
	ip netns exec "$CTR" ping -c1 -W2 10.99.0.1
	p2=$(ctr_ns p2)
	add_ok "$(conf 1.0.0 '{"vlanTrunk":[{"id":10},{"minID":20,"maxID":22}],"preserveDefaultVlan":true,"isGateway":false}' | jq -c '.ipam.subnet = "10.98.0.0/24"')" ctr2 "/run/netns/$p2"
	host=$(json_get "$output" '.interfaces[1].name')
	bridge -n "$HOST" -j vlan show dev "$host" | jq -e '[.[0].vlans[] | .vlan] == [1,10,20,21,22]'
}

@test "bridge: dual stack, IPv6 usable at once (no DAD wait)" {
	c=$(conf 1.0.0 '{"isDefaultGateway":true}' | jq -c --arg d "$DATA" '.ipam = {type:"host-local",dataDir:$d,
		ranges:[[{subnet:"10.99.0.0/24"}],[{subnet:"fd99::/64"}]]}')
	ip netns exec "$HOST" sysctl -qw net.ipv6.conf.all.forwarding=0
	add_ok "$c"
	json_get "$output" '.ips[].address' | grep -qx 'fd99::2/64'
	json_get "$output" '.routes[].dst' | grep -qx '::/0'
	ip -n "$CTR" -j addr show dev eth0 | jq -e '[.[0].addr_info[] | select(.local == "fd99::2") | .tentative // false] == [false]'
	ip -n "$CTR" -6 -j route show default | jq -e '.[0].gateway == "fd99::1"'
	ip netns exec "$CTR" ping -6 -c1 -W2 fd99::1
	[ "$(ip netns exec "$HOST" cat /proc/sys/net/ipv6/conf/all/forwarding)" = 1 ]
	for k in ipv4/conf/eth0/arp_notify ipv6/conf/eth0/ndisc_notify ipv6/conf/eth0/keep_addr_on_down; do
		[ "$(ip netns exec "$CTR" cat "/proc/sys/net/$k")" = 1 ]
	done
	[ "$(ip netns exec "$CTR" cat /proc/sys/net/ipv6/conf/eth0/accept_dad)" = 0 ]
	# IPv6 on the pod's host veth too: still no address of its own (the bridge has the gateway).
	ip -n "$HOST" -6 -j addr show dev "$(json_get "$output" '.interfaces[1].name')" | jq -e '[.[].addr_info[]] == []'
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
}

@test "bridge: MAC from CNI_ARGS < args.cni.mac < runtimeConfig.mac; macspoofchk rule" {
	CNI_ARGS="MAC=02:00:00:00:00:01" add_ok "$(conf)"
	[ "$(json_get "$output" '.interfaces[2].mac')" = 02:00:00:00:00:01 ]
	ip -n "$CTR" -j link show eth0 | jq -e '.[0].address == "02:00:00:00:00:01"'
	CNI_ARGS="MAC=02:00:00:00:00:01" add_ok "$(conf 1.0.0 '{"args":{"cni":{"mac":"02:00:00:00:00:02"}}}')" c2 "/run/netns/$(ctr_ns p2)"
	[ "$(json_get "$output" '.interfaces[2].mac')" = 02:00:00:00:00:02 ]
	c3=$(conf 1.0.0 '{"macspoofchk":true,"args":{"cni":{"mac":"02:00:00:00:00:02"}},"runtimeConfig":{"mac":"02:00:00:00:00:03"}}')
	p3=$(ctr_ns p3)
	add_ok "$c3" c3 "/run/netns/$p3"
	[ "$(json_get "$output" '.interfaces[2].mac')" = 02:00:00:00:00:03 ]
	[ "$(nft_rules c3)" -ge 1 ]
	res3=$output
	# CHECK finds the rule; once it is gone, CHECK says so (and DEL still succeeds below).
	run run_plugin CHECK bridge "$(with_prev "$c3" "$res3")" c3 eth0 "/run/netns/$p3"
	[ "$status" -eq 0 ]
	ip netns exec "$HOST" nft flush chain bridge weft spoof-wnet
	[ "$(nft_rules c3)" = 0 ]
	run run_plugin CHECK bridge "$(with_prev "$c3" "$res3")" c3 eth0 "/run/netns/$p3"
	expect_code 100
	[[ "$(json_get "$output" .msg)" == *"macspoofchk: no rule for container c3"* ]]
	run run_plugin DEL bridge "$(conf 1.0.0 '{"macspoofchk":true}')" c3
	[ "$status" -eq 0 ]
	[ "$(nft_rules c3)" = 0 ]
}

@test "bridge: L2 only (no ipam.type) and disableContainerInterface" {
	c=$(conf 1.0.0 | jq -c 'del(.ipam)')
	add_ok "$c"
	[ "$(json_get "$output" '.ips // [] | length')" = 0 ]
	ip -n "$CTR" -j link show eth0 | jq -e '.[0].flags | index("UP")'
	p2=$(ctr_ns p2)
	add_ok "$(jq -c '. + {disableContainerInterface:true}' <<<"$c")" c2 "/run/netns/$p2"
	ip -n "$p2" -j link show eth0 | jq -e '.[0].flags | index("UP") | not'
	[ "$(host_ports)" = 2 ]
}

# ---- DEL ------------------------------------------------------------------------------------

@test "bridge 32/33/34: DEL removes everything, twice, and without ADD" {
	c=$(conf 1.0.0 '{"ipMasq":true}')
	run run_plugin DEL bridge "$c" never-added
	[ "$status" -eq 0 ]
	add_ok "$c"
	[ "$(ip_files)" = 1 ]
	[ "$(masq_rules)" = 1 ]
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	ip -n "$CTR" link show eth0 && fail "pod veth left"
	[ "$(host_ports)" = 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ] # the network's last pod takes its masquerade along
	[ -z "$(ip netns exec "$HOST" nft list chain inet weft masq-wnet 2>/dev/null)" ]
	ip -n "$HOST" link show wbr0 # the bridge stays
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
}

@test "bridge 35/36: DEL without netns, or with a deleted netns, still removes rule, IP and host veth" {
	c=$(conf 1.0.0 '{"ipMasq":true}')
	add_ok "$c"
	run run_plugin DEL bridge "$c" ctr1 eth0 ""
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
	[ "$(host_ports)" = 0 ]
	p2=$(ctr_ns p2)
	add_ok "$c" ctr2 "/run/netns/$p2"
	ip netns del "$p2"
	run run_plugin DEL bridge "$c" ctr2 eth0 "/run/netns/$p2"
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
	[ "$(host_ports)" = 0 ]
}

@test "bridge 37/38: DEL with and without prevResult; after the pod iface was removed" {
	c=$(conf 1.0.0)
	add_ok "$c"
	run run_plugin DEL bridge "$(with_prev "$c" "$output")"
	[ "$status" -eq 0 ]
	add_ok "$c" ctr2
	ip -n "$CTR" link del eth0
	run run_plugin DEL bridge "$c" ctr2
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
}

# ---- CHECK / STATUS / GC --------------------------------------------------------------------

@test "bridge 39/40: CHECK after ADD passes silently; without prevResult or after damage it fails" {
	c=$(conf 1.0.0 '{"isDefaultGateway":true,"ipMasq":true}')
	add_ok "$c"
	res=$output
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run run_plugin CHECK bridge "$c"
	expect_code 7
	[[ "$output" == *"prevResult"* ]]
	ip -n "$CTR" route del default
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")"
	expect_code 100
	ip -n "$CTR" addr flush dev eth0
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")"
	expect_code 100
	ip -n "$CTR" link del eth0
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")"
	expect_code 100
}

@test "bridge 41: CHECK propagates IPAM CHECK (reservation removed)" {
	c=$(conf 1.0.0)
	add_ok "$c"
	res=$output
	rm -f "$DATA/wnet/10.99.0.2"
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")"
	[ "$status" -ne 0 ]
}

@test "bridge 43: STATUS healthy, then 50 when the pool is exhausted" {
	c=$(conf 1.1.0 '{"ipam":{"subnet":"10.99.0.0/30"}}')
	run run_plugin STATUS bridge "$c" "" "" ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	add_ok "$c"
	run run_plugin STATUS bridge "$c" "" "" ""
	expect_code 50
}

@test "bridge 45: GC removes the rules and IPs of attachments not listed" {
	c=$(conf 1.1.0 '{"ipMasq":true}')
	add_ok "$c" a
	add_ok "$c" b "/run/netns/$(ctr_ns p2)"
	g=$(jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "a", "ifname": "eth0"}]}' <<<"$c")
	run run_plugin GC bridge "$g" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 1 ]
	grep -q '^a' "$DATA/wnet/10.99.0.2"
	[ "$(masq_rules)" = 1 ] # a still needs it
	[ -f "$DATA/wnet/lock" ]
	ls "$DATA"/wnet/last_reserved_ip.*
	# nothing valid any more: the reservations go, and with the last one the masquerade
	run run_plugin GC bridge "$(jq -c '. + {"cni.dev/valid-attachments": []}' <<<"$c")" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
}

@test "bridge: host veths carry a weft alias; GC deletes only this network's stale ones" {
	c=$(conf 1.1.0)
	add_ok "$c" a
	va=$(json_get "$output" '.interfaces[1].name')
	add_ok "$c" b "/run/netns/$(ctr_ns p2)"
	vb=$(json_get "$output" '.interfaces[1].name')
	[[ "$(ip -n "$HOST" -j link show "$va" | jq -r '.[0].ifalias')" =~ ^weft\ wnet\ [0-9a-f]{16}$ ]]
	# Foreign veths: no alias, and another network's alias. GC must leave both alone.
	ip -n "$HOST" link add fgn0 type veth peer name fgn1
	ip -n "$HOST" link add oth0 type veth peer name oth1
	ip -n "$HOST" link set oth0 alias "weft othernet 0123456789abcdef"
	g=$(jq -c '. + {"cni.dev/valid-attachments": [{"containerID": "a", "ifname": "eth0"}]}' <<<"$c")
	run run_plugin GC bridge "$g" "" "" ""
	[ "$status" -eq 0 ] || fail "GC: $output"
	ip -n "$HOST" link show "$va"
	run ip -n "$HOST" link show "$vb"
	[ "$status" -ne 0 ]
	ip -n "$HOST" link show fgn0
	ip -n "$HOST" link show oth0
	# CHECK verifies identity: a host veth relabelled as someone else's is not ours.
	add_ok "$c" a2 "/run/netns/$(ctr_ns p3)"
	res=$output
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")" a2 eth0 "/run/netns/$WEFT_PREFIX-p3"
	[ "$status" -eq 0 ] || fail "CHECK: $output"
	v2=$(json_get "$res" '.interfaces[1].name')
	ip -n "$HOST" link set "$v2" alias "weft wnet 0000000000000000"
	run run_plugin CHECK bridge "$(with_prev "$c" "$res")" a2 eth0 "/run/netns/$WEFT_PREFIX-p3"
	[ "$status" -ne 0 ]
	# ... and DEL leaves a veth with a foreign alias alone (the pod end goes by ifname).
	run run_plugin DEL bridge "$c" a2 eth0 ""
	[ "$status" -eq 0 ]
	ip -n "$HOST" link show "$v2"
}

# ---- real clients ---------------------------------------------------------------------------

@test "bridge: podman-style (VERSION first, 0.4.0, capabilities, hairpin, 64-hex IDs, DEL with prevResult)" {
	cid=$(printf 'a%.0s' $(seq 64))
	c=$(conf 0.4.0 '{"hairpinMode":true,"capabilities":{"ips":true},"ipMasq":true}')
	export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=$cid"
	v=$(echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION CNI_NETNS=dummy CNI_IFNAME=dummy CNI_PATH=dummy "$BIN/bridge")
	jq -e '.supportedVersions | index("0.4.0")' <<<"$v"
	add_ok "$c" "$cid"
	[ "$(json_get "$output" '.ips[0].version')" = 4 ]
	res=$output
	echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION CNI_NETNS=dummy CNI_IFNAME=dummy CNI_PATH=dummy "$BIN/bridge" >/dev/null
	run run_plugin DEL bridge "$(with_prev "$c" "$res")" "$cid"
	[ "$status" -eq 0 ]
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
	[ "$(host_ports)" = 0 ]
}

@test "bridge: containerd-style (K8S args, runtimeConfig portMappings/bandwidth/cgroupPath ignored)" {
	export CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=x;K8S_POD_UID=u"
	c=$(conf 1.1.0 '{"runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"bandwidth":{"ingressRate":1000,"ingressBurst":1000},"cgroupPath":"/kubepods/x"}}')
	add_ok "$c"
	run run_plugin DEL bridge "$c"
	[ "$status" -eq 0 ]
	# Unknown CNI_ARGS key without IgnoreUnknown: refused.
	CNI_ARGS="FOO=bar" run run_plugin ADD bridge "$c"
	[ "$status" -ne 0 ]
}

@test "bridge 52: cnitool add, check, del with a conflist leaves nothing" {
	weft_need_cnitool
	confdir=$(mktemp -d)
	weft_track_path "$confdir"
	cat >"$confdir/10-wnet.conflist" <<-EOF
		{"cniVersion": "1.0.0", "name": "wnet", "plugins": [
		 {"type": "bridge", "bridge": "wbr0", "isGateway": true, "ipMasq": true,
		  "ipam": {"type": "host-local", "subnet": "10.99.0.0/24", "dataDir": "$DATA"}}]}
	EOF
	tool() { ip netns exec "$HOST" env NETCONFPATH="$confdir" CNI_PATH="$BIN" "$CNITOOL" "$@" "/run/netns/$CTR"; }
	run tool add wnet
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(json_get "$output" '.ips[0].address')" = 10.99.0.2/24 ]
	cache=$(ls /var/lib/cni/results/wnet-cnitool-*-eth0)
	weft_track_path "$cache" # cnitool's own cache, should del fail
	run tool check wnet
	[ "$status" -eq 0 ] || fail "$output"
	run tool del wnet
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(ip_files)" = 0 ]
	[ "$(masq_rules)" = 0 ]
	[ "$(host_ports)" = 0 ]
	ip -n "$CTR" link show eth0 && fail "pod veth left"
	[ ! -e "$cache" ]
}

# shellcheck shell=bash
# make bench, part "datapath": one iperf3 TCP stream and a UDP ping-pong latency (sockperf,
# median half round trip) from pod A to pod B for every path, all built once in throwaway netns,
# then measured in rounds that rotate the order of the paths (interleaved, drift spreads evenly).
# Both ends of every measurement run on one CPU, $DP_CPU (default the last online one): iperf3
# -A N,N (the client pins itself and, for that test, the server; iperf3 3.12 resets the server's
# affinity after each test) and taskset for sockperf. On one core, client + server + softirq,
# throughput = 1 / CPU cost per byte of the whole path, stable between rounds; unpinned, the
# scheduler's placement over 2 cores moves one stream by 0.7-1.2x between rounds. The unpinned
# stream is still measured in the same rounds (verb "tcp-free", its own column); verb "tcp" (pinned)
# is what the ratios and targets use.
#   veth          a direct veth pair between two netns (the limit)
#   hand-bridge   A - veth - br0 - veth - B in a "host" netns, built with ip
#   weft-bridge   the same wired by weft's bridge plugin;  ref-bridge: by the reference plugin
#   weft-ebpf     two pods of weft's ebpf plugin (tc programs, bpf_redirect_peer), default config
#   weft-ebpf-bigtcp   the same with "bigTCP": true (IPv4 gso/gro max sizes 196608 on both ends);
#                 reported, not used by the targets
#   weft-ebpf-mn  pod A on node 1, pod B on node 2 (as host-gw below) with weft's ebpf plugin and
#                 `peers`: the sender's program hands the packet to the underlay (bpf_redirect_neigh)
#   hand-hostgw / weft-hostgw   pod A on node 1, pod B on node 2, nodes joined by an underlay
#                 veth; routes podCIDR via nodeIP (by hand / by weft's host-gw plugin)
#   hand-vxlan / weft-vxlan     the same over a vxlan overlay (flannel's neigh + fdb + onlink
#                 route by hand / weft's vxlan plugin), inner MTU 1450
# Paths whose plugin binary is missing, or whose set-up fails, are skipped and named in the
# report. Sourced by run.sh.

DP_PATHS=()
declare -A DP_CLIENT DP_SERVER DP_IP
DP_BIGTCP="" # what the bigtcp path's pod eth0 got (for the report)

# dp_add_path NAME CLIENT-NS SERVER-NS SERVER-IP: measured only if A pings B
dp_add_path() {
	if [ -z "$4" ] || ! ip netns exec "$2" ping -c 2 -i 0.2 -W 1 "$4" >/dev/null 2>&1; then
		bench_note "datapath: $1 skipped: pod A cannot reach pod B (${4:-no address})"
		return 0
	fi
	DP_PATHS+=("$1"); DP_CLIENT[$1]=$2; DP_SERVER[$1]=$3; DP_IP[$1]=$4
}

dp_ipof() { ip -n "$1" -4 -o addr show dev eth0 | awk '{ split($4, a, "/"); print a[1]; exit }'; }

# dp_hand_pod NODE POD HOSTVETH ADDR/LEN GW MTU [BRIDGE]
dp_hand_pod() {
	ip -n "$1" link add "$3" mtu "$6" type veth peer name eth0 netns "$2" mtu "$6"
	[ -z "${7:-}" ] || ip -n "$1" link set "$3" master "$7"
	ip -n "$1" link set "$3" up
	ip -n "$2" addr add "$4" dev eth0
	ip -n "$2" link set eth0 up
	ip -n "$2" route add default via "$5"
}

dp_conf() { # dp_conf TYPE NETWORK SUBNET [JQ-OBJECT]: a config on stdout
	jq -cn --arg t "$1" --arg n "$2" --arg s "$3" --arg d "$BENCH_TMP/dp-data" \
		--argjson x "${4:-{\}}" '{cniVersion: "1.0.0", name: $n, type: $t, bridge: "wbr0",
		isGateway: true, isDefaultGateway: true, ipam: {type: "host-local", subnet: $s, dataDir: $d}} * $x'
}

# dp_plugin_pod IMPL PLUGIN HOSTNS POD CONF-JSON: ADD through the plugin, untimed
dp_plugin_pod() {
	printf '%s' "$5" >"$BENCH_TMP/dp-conf.json"
	CNI_COMMAND=ADD CNI_CONTAINERID="$4" CNI_IFNAME=eth0 CNI_NETNS="/run/netns/$4" \
		CNI_PATH="${BINS[$1]}" "$WRUN" -N "/run/netns/$3" -i "$BENCH_TMP/dp-conf.json" \
		-O "$BENCH_TMP/dp-add.out" -E "$BENCH_TMP/dp-add.err" -- "${BINS[$1]}/$2" |
		awk '{ exit $4 != 0 }' || {
		bench_log "$2 ADD failed: $(cat "$BENCH_TMP/dp-add.out" "$BENCH_TMP/dp-add.err" | head -c 400)"
		return 1
	}
}

dp_two_nodes() { # dp_two_nodes TAG: nodes $BENCH_P-TAG-n1/-n2 with ul0 192.168.77.1/2, fwd on
	local n1 n2
	n1=$(bench_ns "$1-n1")
	n2=$(bench_ns "$1-n2")
	ip -n "$n1" link add ul0 type veth peer name ul0 netns "$n2"
	ip -n "$n1" addr add 192.168.77.1/24 dev ul0
	ip -n "$n2" addr add 192.168.77.2/24 dev ul0
	ip -n "$n1" link set ul0 up
	ip -n "$n2" link set ul0 up
	ip netns exec "$n1" sysctl -qw net.ipv4.ip_forward=1
	ip netns exec "$n2" sysctl -qw net.ipv4.ip_forward=1
}

dp_build_single() {
	local a b h
	a=$(bench_ns dv-a); b=$(bench_ns dv-b)
	ip -n "$a" link add eth0 type veth peer name eth0 netns "$b"
	ip -n "$a" addr add 10.250.0.1/24 dev eth0; ip -n "$b" addr add 10.250.0.2/24 dev eth0
	ip -n "$a" link set eth0 up; ip -n "$b" link set eth0 up
	dp_add_path veth "$a" "$b" 10.250.0.2

	h=$(bench_ns dhb-h); a=$(bench_ns dhb-a); b=$(bench_ns dhb-b)
	ip -n "$h" link add br0 type bridge
	ip -n "$h" addr add 10.251.0.1/24 dev br0
	ip -n "$h" link set br0 up
	dp_hand_pod "$h" "$a" ha 10.251.0.2/24 10.251.0.1 1500 br0
	dp_hand_pod "$h" "$b" hb 10.251.0.3/24 10.251.0.1 1500 br0
	dp_add_path hand-bridge "$a" "$b" 10.251.0.3

	local impl
	for impl in weft ref; do
		h=$(bench_ns "d${impl:0:1}b-h"); a=$(bench_ns "d${impl:0:1}b-a"); b=$(bench_ns "d${impl:0:1}b-b")
		local c
		c=$(dp_conf bridge "${impl:0:1}dpb" "10.25$([ $impl = weft ] && echo 2 || echo 3).0.0/24")
		if dp_plugin_pod "$impl" bridge "$h" "$a" "$c" && dp_plugin_pod "$impl" bridge "$h" "$b" "$c"; then
			dp_add_path "$impl-bridge" "$a" "$b" "$(dp_ipof "$b")"
		else
			bench_note "datapath: $impl-bridge skipped (plugin ADD failed)"
		fi
	done

	if [ -x "${BINS[weft]}/ebpf" ]; then
		mkdir -p "$BENCH_TMP/bpf"
		mount -t bpf bpf "$BENCH_TMP/bpf" && bench_mount "$BENCH_TMP/bpf"
		dp_build_ebpf weft-ebpf de wdpe 10.254.0.0/24 '{}'
		dp_build_ebpf weft-ebpf-bigtcp deg wdpg 10.255.0.0/24 '{"bigTCP": true}'
	else
		bench_note "datapath: weft-ebpf, weft-ebpf-bigtcp skipped (no ${BINS[weft]}/ebpf yet)"
	fi
}

# dp_build_ebpf PATH TAG NETWORK SUBNET JQ-OBJECT: two pods of weft's ebpf plugin in their own
# host netns; the programs and maps pinned under $BENCH_TMP/bpf/NETWORK
dp_build_ebpf() {
	local h a b c
	h=$(bench_ns "$2-h"); a=$(bench_ns "$2-a"); b=$(bench_ns "$2-b")
	c=$(dp_conf ebpf "$3" "$4" "$(jq -cn --arg r "$BENCH_TMP/bpf" --argjson x "$5" '{pinRoot: $r} * $x')")
	if dp_plugin_pod weft ebpf "$h" "$a" "$c" && dp_plugin_pod weft ebpf "$h" "$b" "$c"; then
		dp_add_path "$1" "$a" "$b" "$(dp_ipof "$b")"
	else
		bench_note "datapath: $1 skipped (plugin ADD failed)"
		return 0
	fi
	[ "$1" = weft-ebpf-bigtcp ] || return 0
	local ga gb
	ga=$(dp_gso_ipv4 "$a"); gb=$(dp_gso_ipv4 "$b")
	if [ "$ga" = 196608 ] && [ "$gb" = 196608 ]; then
		DP_BIGTCP="pods' eth0 gso_ipv4_max_size $ga: IPv4 BIG TCP on"
	elif [ -z "$ga$gb" ]; then
		DP_BIGTCP="pods' eth0 gso_ipv4_max_size unreadable (no python3, or Linux < 6.3): BIG TCP unverified"
		bench_note "datapath: weft-ebpf-bigtcp: $DP_BIGTCP"
	else
		DP_BIGTCP="pods' eth0 gso_ipv4_max_size ${ga:-?}/${gb:-?}: no IPv4 BIG TCP, so this is the default config again"
		bench_note "datapath: weft-ebpf-bigtcp: $DP_BIGTCP"
	fi
}

# dp_gso_ipv4 NETNS: eth0's IFLA_GSO_IPV4_MAX_SIZE (Linux 6.3; iproute2 6.1 does not show it),
# read with one RTM_GETLINK; empty when it cannot be read (no python3, older kernel)
dp_gso_ipv4() {
	command -v python3 >/dev/null || return 0
	ip netns exec "$1" python3 - eth0 2>/dev/null <<-'EOF' || true
	import socket, struct, sys
	s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
	s.send(struct.pack("=IHHII", 32, 18, 1, 1, 0)  # RTM_GETLINK, NLM_F_REQUEST
	       + struct.pack("=BxHiII", 0, 0, socket.if_nametoindex(sys.argv[1]), 0, 0))
	d = s.recv(65536)
	n, off = struct.unpack_from("=I", d)[0], 32
	while off + 4 <= n:
	    alen, atype = struct.unpack_from("=HH", d, off)
	    if alen < 4:
	        break
	    if atype & 0x3fff == 63:  # IFLA_GSO_IPV4_MAX_SIZE
	        print(struct.unpack_from("=I", d, off + 4)[0])
	    off += (alen + 3) & ~3
	EOF
}

# hand-built multi-node: TYPE hostgw|vxlan
dp_build_hand_mn() {
	local t=$1 n1 n2 a b mtu=1500 m1 m2
	dp_two_nodes "dh$t"
	n1=$BENCH_P-dh$t-n1; n2=$BENCH_P-dh$t-n2
	a=$(bench_ns "dh$t-a"); b=$(bench_ns "dh$t-b")
	[ "$t" = vxlan ] && mtu=1450
	for x in 1 2; do
		local n=$BENCH_P-dh$t-n$x
		ip -n "$n" link add cbr0 mtu $mtu type bridge
		ip -n "$n" addr add "10.244.$x.1/24" dev cbr0
		ip -n "$n" link set cbr0 up
	done
	dp_hand_pod "$n1" "$a" ha 10.244.1.2/24 10.244.1.1 $mtu cbr0
	dp_hand_pod "$n2" "$b" hb 10.244.2.2/24 10.244.2.1 $mtu cbr0
	if [ "$t" = hostgw ]; then
		ip -n "$n1" route add 10.244.2.0/24 via 192.168.77.2 dev ul0
		ip -n "$n2" route add 10.244.1.0/24 via 192.168.77.1 dev ul0
	else
		for x in 1 2; do
			ip -n "$BENCH_P-dh$t-n$x" link add vx0 mtu 1450 type vxlan id 42 dstport 4789 \
				local "192.168.77.$x" dev ul0 nolearning
			ip -n "$BENCH_P-dh$t-n$x" addr add "10.244.$x.0/32" dev vx0
			ip -n "$BENCH_P-dh$t-n$x" link set vx0 up
		done
		m1=$(ip -n "$n1" -j link show vx0 | jq -r '.[0].address')
		m2=$(ip -n "$n2" -j link show vx0 | jq -r '.[0].address')
		ip -n "$n1" neigh replace 10.244.2.0 lladdr "$m2" dev vx0 nud permanent
		bridge -n "$n1" fdb replace "$m2" dev vx0 dst 192.168.77.2 self permanent
		ip -n "$n1" route replace 10.244.2.0/24 via 10.244.2.0 dev vx0 onlink
		ip -n "$n2" neigh replace 10.244.1.0 lladdr "$m1" dev vx0 nud permanent
		bridge -n "$n2" fdb replace "$m1" dev vx0 dst 192.168.77.1 self permanent
		ip -n "$n2" route replace 10.244.1.0/24 via 10.244.1.0 dev vx0 onlink
	fi
	dp_add_path "hand-$t" "$a" "$b" 10.244.2.2
}

dp_build_weft_mn() { # TYPE hostgw|vxlan|ebpf-mn (plugin host-gw|vxlan|ebpf)
	local t=$1 plugin=$1 peers x a b c ok=1
	[ "$t" = hostgw ] && plugin=host-gw
	[ "$t" = ebpf-mn ] && plugin=ebpf
	if [ ! -x "${BINS[weft]}/$plugin" ]; then
		bench_note "datapath: weft-$t skipped (no ${BINS[weft]}/$plugin yet)"
		return 0
	fi
	dp_two_nodes "dw$t"
	a=$(bench_ns "dw$t-a"); b=$(bench_ns "dw$t-b")
	peers='[{"name":"node-1","nodeIP":"192.168.77.1","podCIDR":"10.244.1.0/24"},
		{"name":"node-2","nodeIP":"192.168.77.2","podCIDR":"10.244.2.0/24"}]'
	for x in 1 2; do
		c=$(dp_conf "$plugin" wmn "10.244.$x.0/24" "$(jq -cn --argjson p "$peers" --arg s "$BENCH_TMP/dp-state-$t-$x" \
			--arg n "node-$x" '{peers: $p, nodeName: $n, stateDir: $s, vni: 42}')")
		[ "$t" = vxlan ] || c=$(jq -c 'del(.vni)' <<<"$c")
		if [ "$t" = ebpf-mn ]; then # its own bpffs per node, as on two machines
			mkdir -p "$BENCH_TMP/bpf-mn-$x"
			mount -t bpf bpf "$BENCH_TMP/bpf-mn-$x" && bench_mount "$BENCH_TMP/bpf-mn-$x"
			c=$(jq -c --arg p "$BENCH_TMP/bpf-mn-$x" '.pinRoot = $p' <<<"$c")
		fi
		local pod=$a
		[ $x = 2 ] && pod=$b
		dp_plugin_pod weft "$plugin" "$BENCH_P-dw$t-n$x" "$pod" "$c" || ok=0
	done
	if [ $ok = 1 ]; then
		dp_add_path "weft-$t" "$a" "$b" "$(dp_ipof "$b")"
	else
		bench_note "datapath: weft-$t skipped (plugin ADD failed)"
	fi
}

# iperf3 servers unpinned: a client's -A N,N pins the server for that test only (iperf3 3.12 resets
# the affinity to all CPUs after each test), so the tcp-free tests run free at both ends.
# sockperf servers: pinned to $DP_CPU for good.
dp_servers() {
	local p
	for p in "${DP_PATHS[@]}"; do
		ip netns exec "${DP_SERVER[$p]}" iperf3 -s -p 5201 >/dev/null 2>&1 &
		bench_bg $!
		ip netns exec "${DP_SERVER[$p]}" taskset -c "$DP_CPU" \
			sockperf sr -i "${DP_IP[$p]}" -p 11111 >/dev/null 2>&1 &
		bench_bg $!
	done
	sleep 1
}

# dp_tcp PATH ROUND SECS VERB [IPERF3-OPTS...]: one iperf3 stream, samples "VERB gbps" and
# "VERB cpu_ns_kib" (lib.sh's bench_iperf)
dp_tcp() {
	local p=$1 r=$2 secs=$3 verb=$4
	shift 4
	bench_iperf dp "$p" path "$verb" "$r" "${DP_CLIENT[$p]}" "${DP_IP[$p]}" "$secs" "$@" ||
		bench_note "datapath: $p round $r: iperf3 ($verb) failed"
}

# dp_measure PATH ROUND SECS: one iperf3 stream pinned to $DP_CPU (tcp) and one unpinned
# (tcp-free), which goes first alternating by round; then one sockperf ping-pong, pinned
dp_measure() {
	local p=$1 r=$2 secs=$3 lat
	if ((r % 2)); then
		dp_tcp "$p" "$r" "$secs" tcp -A "$DP_CPU,$DP_CPU"
		dp_tcp "$p" "$r" "$secs" tcp-free
	else
		dp_tcp "$p" "$r" "$secs" tcp-free
		dp_tcp "$p" "$r" "$secs" tcp -A "$DP_CPU,$DP_CPU"
	fi
	if command -v sockperf >/dev/null; then
		lat=$(ip netns exec "${DP_CLIENT[$p]}" taskset -c "$DP_CPU" \
			sockperf pp -i "${DP_IP[$p]}" -p 11111 -t 2 2>&1 |
			awk '/percentile 50.000/ { print $NF }') || true
		[ -z "$lat" ] || bench_sample dp "$p" path udp-pp "$r" lat_us "$lat"
	fi
}

part_datapath() {
	local rounds=$1 secs=$2 r k n p
	bench_log "datapath: building paths"
	dp_build_single
	dp_build_hand_mn hostgw
	dp_build_weft_mn hostgw
	dp_build_weft_mn ebpf-mn
	dp_build_hand_mn vxlan
	dp_build_weft_mn vxlan
	dp_servers
	n=${#DP_PATHS[@]}
	bench_log "datapath: ${DP_PATHS[*]}; $rounds rounds of ${secs}s pinned to CPU $DP_CPU + ${secs}s unpinned"
	for ((r = 1; r <= rounds; r++)); do
		for ((k = 0; k < n; k++)); do
			p=${DP_PATHS[$(((k + r) % n))]}
			dp_measure "$p" "$r" "$secs"
		done
	done
	dp_report "$rounds" "$secs"
}

dp_report() {
	local rounds=$1 secs=$2 p md=$BENCH_TMP/md.datapath
	: >"$BENCH_TMP/dp.dat"
	{
		echo "## Datapath: pod A to pod B"
		echo
		echo "One iperf3 TCP stream (${secs} s) and sockperf UDP ping-pong (2 s, median half round trip)"
		echo "per path and round; $rounds rounds, the order of the paths rotated every round. MTU 1500"
		echo "(vxlan: 1450 inside). Both ends of each measurement run on CPU $DP_CPU (iperf3 -A $DP_CPU,$DP_CPU; taskset"
		echo "for sockperf): client, server and the softirq work share one core, so the throughput is"
		echo "1 / the CPU cost per byte of the whole path, stable between rounds. Unpinned, where the"
		echo "scheduler places them on the $(nproc) CPUs moves one stream by 0.7–1.2x between rounds; that stream,"
		echo "measured in the same rounds, is the \"unpinned\" column. Ratios (pinned, as are the targets):"
		echo "median of per-round ratios. weft-ebpf-bigtcp is weft-ebpf with \"bigTCP\": true"
		echo "(${DP_BIGTCP:-not built})."
		echo
		echo "| path | TCP Gbit/s (pinned) | ÷ veth | TCP Gbit/s (unpinned) | latency µs (p50) |"
		echo "|---|---|---|---|---|"
		for p in "${DP_PATHS[@]}"; do
			echo "| $p | $(bench_cell dp "$p" path tcp gbps 1 2) | $(bench_ratio_cell "dp/$p/path/tcp" dp/veth/path/tcp gbps) |" \
				"$(bench_cell dp "$p" path tcp-free gbps 1 2) | $(bench_cell dp "$p" path udp-pp lat_us 1 2) |"
			bench_stats dp "$p" path tcp gbps | awk -v p="$p" '$1 { print p, $2, $3, $4 }' >>"$BENCH_TMP/dp.dat"
		done
		echo
		echo "Pairs: weft-ebpf/weft-bridge $(bench_ratio_cell dp/weft-ebpf/path/tcp dp/weft-bridge/path/tcp gbps);" \
			"weft-ebpf-bigtcp/veth $(bench_ratio_cell dp/weft-ebpf-bigtcp/path/tcp dp/veth/path/tcp gbps);" \
			"weft-ebpf-bigtcp/weft-ebpf $(bench_ratio_cell dp/weft-ebpf-bigtcp/path/tcp dp/weft-ebpf/path/tcp gbps);" \
			"weft-bridge/ref-bridge $(bench_ratio_cell dp/weft-bridge/path/tcp dp/ref-bridge/path/tcp gbps);" \
			"weft-bridge/hand-bridge $(bench_ratio_cell dp/weft-bridge/path/tcp dp/hand-bridge/path/tcp gbps);" \
			"weft-hostgw/hand-hostgw $(bench_ratio_cell dp/weft-hostgw/path/tcp dp/hand-hostgw/path/tcp gbps);" \
			"weft-ebpf-mn/hand-hostgw $(bench_ratio_cell dp/weft-ebpf-mn/path/tcp dp/hand-hostgw/path/tcp gbps);" \
			"weft-vxlan/hand-vxlan $(bench_ratio_cell dp/weft-vxlan/path/tcp dp/hand-vxlan/path/tcp gbps)."
		echo
		echo "![throughput per path](datapath.png)"
		echo
	} >"$md"
	bench_target "ebpf TCP / direct veth" "$(inv_med_ratio dp/weft-ebpf/path/tcp dp/veth/path/tcp gbps)" ">=" 0.95 x
	bench_target "ebpf TCP / weft bridge" "$(inv_med_ratio dp/weft-ebpf/path/tcp dp/weft-bridge/path/tcp gbps)" ">=" 1.08 x
	bench_target "weft host-gw TCP / hand-built host-gw" "$(inv_med_ratio dp/weft-hostgw/path/tcp dp/hand-hostgw/path/tcp gbps)" ">=" 0.97 x
	bench_target "weft vxlan TCP / hand-built vxlan" "$(inv_med_ratio dp/weft-vxlan/path/tcp dp/hand-vxlan/path/tcp gbps)" ">=" 0.97 x
}

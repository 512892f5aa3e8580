#!/usr/bin/env bash
# Benchmark (not a test): cross-node pod-to-pod TCP throughput (iperf3, one stream) through
# weft's vxlan and host-gw plugins vs the same topology built by hand with `ip` commands, A/B
# interleaved in one run; then the time of `netlab verify` for 16 nodes x 8 pods.
# Everything lives in throwaway netns created here and removed on exit.
#
#   tests/bench/multinode.sh [WEFT_BIN_DIR] [ROUNDS] [SECONDS]
#
# Topology per case: nodes A and B (netns) joined by an underlay veth (192.168.88.0/24), on
# each a bridge cni0 (10.244.N.1/24) with one pod (10.244.N.2, default route via .1); A's pod
# runs the iperf3 client, B's the server. Manual vxlan = what weft builds: device weft.1 (vni
# 1, dstport 4789, local, dev ul0, nolearning, noudpcsum, mtu 1450), the node's /32, and per
# peer neigh + fdb + onlink route; pods' MTU 1450. Manual host-gw: one route via the peer.
set -euo pipefail

WEFT=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
ROUNDS=${2:-4}
SECS=${3:-4}
[ "$(id -u)" -eq 0 ] || { echo "bench needs root (netns)" >&2; exit 1; }
for b in vxlan host-gw netlab; do
	[ -x "$WEFT/$b" ] || { echo "no $WEFT/$b (make build first)" >&2; exit 1; }
done
command -v iperf3 >/dev/null || { echo "iperf3 is required" >&2; exit 1; }

P=wmb$$
DATA=$(mktemp -d /tmp/weft-bench.XXXXXX)
cleanup() {
	"$WEFT/netlab" down vxlan --prefix "$P" >/dev/null 2>&1 || true
	"$WEFT/netlab" down host-gw --prefix "$P" >/dev/null 2>&1 || true
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" | sort -r); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$DATA"
}
trap cleanup EXIT

# nodes CASE: netns CASE-a, CASE-b (nodes), CASE-pa, CASE-pb (pods), underlay between the nodes
nodes() {
	local c=$P-$1
	for n in a b pa pb; do
		ip netns add "$c-$n"
		ip -n "$c-$n" link set lo up
	done
	ip -n "$c-a" link add ul0 type veth peer name ul0 netns "$c-b"
	ip -n "$c-a" addr add 192.168.88.1/24 dev ul0
	ip -n "$c-b" addr add 192.168.88.2/24 dev ul0
	ip -n "$c-a" link set ul0 up
	ip -n "$c-b" link set ul0 up
}

weft_case() { # weft_case CASE PLUGIN
	local c=$P-$1 l n
	nodes "$1"
	cat >"$DATA/$1-peers.json" <<-J
	[{"name":"a","nodeIP":"192.168.88.1","podCIDR":"10.244.1.0/24"},
	 {"name":"b","nodeIP":"192.168.88.2","podCIDR":"10.244.2.0/24"}]
	J
	for l in a b; do
		n=$([ $l = a ] && echo 1 || echo 2)
		jq -cn --arg t "$2" --arg l $l --arg d "$DATA/$1" --arg s "10.244.$n.0/24" \
			--arg pf "$DATA/$1-peers.json" '{cniVersion:"1.0.0", name:"bench", type:$t,
			bridge:"cni0", isDefaultGateway:true, nodeName:$l, peersFile:$pf,
			stateDir:($d+"/state-"+$l), ipam:{type:"host-local", subnet:$s,
			dataDir:($d+"/ipam-"+$l)}}' |
			ip netns exec "$c-$l" env CNI_COMMAND=ADD CNI_CONTAINERID=bench-$l \
				CNI_NETNS=/run/netns/$c-p$l CNI_IFNAME=eth0 CNI_PATH="$WEFT" \
				"$WEFT/$2" >/dev/null
	done
}

manual_pod() { # manual_pod CASE NODE N MTU
	local c=$P-$1
	ip -n "$c-$2" link add cni0 type bridge
	ip -n "$c-$2" addr add 10.244.$3.1/24 dev cni0
	ip -n "$c-$2" link set cni0 mtu "$4" up
	ip -n "$c-$2" link add veth0 mtu "$4" type veth peer name eth0 mtu "$4" netns "$c-p$2"
	ip -n "$c-$2" link set veth0 master cni0 up
	ip -n "$c-p$2" addr add 10.244.$3.2/24 dev eth0
	ip -n "$c-p$2" link set eth0 up
	ip -n "$c-p$2" route add default via 10.244.$3.1
	ip netns exec "$c-$2" sysctl -qw net.ipv4.ip_forward=1
}

vtep_mac() { # vtep_mac NODE: any fixed MAC per node will do by hand
	[ "$1" = a ] && echo 02:00:00:00:00:0a || echo 02:00:00:00:00:0b
}

manual_case() { # manual_case CASE vxlan|host-gw
	local c=$P-$1 l n o on ip oip mtu=1500
	nodes "$1"
	[ "$2" = vxlan ] && mtu=1450
	for l in a b; do
		n=$([ $l = a ] && echo 1 || echo 2)
		o=$([ $l = a ] && echo b || echo a)
		on=$([ $l = a ] && echo 2 || echo 1)
		ip=192.168.88.$n
		oip=192.168.88.$on
		manual_pod "$1" $l $n $mtu
		if [ "$2" = host-gw ]; then
			ip -n "$c-$l" route add 10.244.$on.0/24 via "$oip" dev ul0
			continue
		fi
		ip -n "$c-$l" link add weft.1 address "$(vtep_mac $l)" mtu 1450 type vxlan id 1 \
			local "$ip" dev ul0 dstport 4789 nolearning noudpcsum
		ip -n "$c-$l" link set weft.1 up
		ip -n "$c-$l" addr add 10.244.$n.0/32 dev weft.1
		ip -n "$c-$l" neigh replace 10.244.$on.0 lladdr "$(vtep_mac $o)" dev weft.1 nud permanent
		bridge -n "$c-$l" fdb replace "$(vtep_mac $o)" dev weft.1 dst "$oip" self permanent
		ip -n "$c-$l" route add 10.244.$on.0/24 via 10.244.$on.0 dev weft.1 onlink
	done
}

# Gbit/s of one iperf3 stream pod A -> pod B.
iperf() {
	local c=$P-$1 out
	ip netns exec "$c-pb" iperf3 -s -1 -D -I "$DATA/$1.pid" >/dev/null
	for _ in $(seq 50); do
		out=$(ip netns exec "$c-pa" iperf3 -c 10.244.2.2 -t "$SECS" -J --connect-timeout 500 2>/dev/null) &&
			jq -e '.end.sum_received.bits_per_second > 0' <<<"$out" >/dev/null && break
		sleep 0.05
	done
	jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' <<<"$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

CASES="wvx:weft:vxlan mvx:manual:vxlan whg:weft:host-gw mhg:manual:host-gw"
for k in $CASES; do
	IFS=: read -r id who plugin <<<"$k"
	if [ "$who" = weft ]; then weft_case "$id" "$plugin"; else manual_case "$id" "$plugin"; fi
	ip netns exec "$P-$id-pa" ping -c1 -W2 10.244.2.2 >/dev/null
done
echo "# cross-node TCP, one iperf3 stream, ${SECS}s, $ROUNDS rounds A/B interleaved (Gbit/s)"
for r in $(seq "$ROUNDS"); do
	for k in $CASES; do
		id=${k%%:*}
		echo "$id $(iperf "$id")" >>"$DATA/results"
	done
done
for k in $CASES; do
	id=${k%%:*}
	m=$(awk -v i="$id" '$1 == i {print $2}' "$DATA/results" | median)
	printf '%-22s median %6.2f   runs: %s\n' "${k#*:}" "$m" \
		"$(awk -v i="$id" '$1 == i {printf "%s ", $2}' "$DATA/results")"
	eval "med_$id=$m"
done
# shellcheck disable=SC2154
echo "ratio weft/manual: vxlan $(echo "scale=3; $med_wvx / $med_mvx" | bc)   host-gw $(echo "scale=3; $med_whg / $med_mhg" | bc)"

echo "# netlab 16 nodes x 8 pods (verify = 16256 pod-to-pod pings + one 3 s iperf3 stream)"
for s in vxlan host-gw; do
	t0=$(date +%s.%N)
	NETLAB_NODES=16 NETLAB_PODS=8 "$WEFT/netlab" up "$s" --prefix "$P" --cni-path "$WEFT" >/dev/null
	t1=$(date +%s.%N)
	out=$("$WEFT/netlab" verify "$s" --prefix "$P")
	t2=$(date +%s.%N)
	"$WEFT/netlab" down "$s" --prefix "$P" >/dev/null
	t3=$(date +%s.%N)
	printf '%-8s up %5.1fs  verify %5.1fs (%s)  down %5.1fs\n' "$s" "$(echo "$t1 - $t0" | bc)" \
		"$(echo "$t2 - $t1" | bc)" "$(grep -o '[0-9]* checks, [0-9]* failed' <<<"$out")" \
		"$(echo "$t3 - $t2" | bc)"
	grep -E 'mesh:|iperf3' <<<"$out" | sed 's/^ */    /'
done

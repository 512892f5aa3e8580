#!/usr/bin/env bash
# Probe (not part of `make bench`): the kernel costs behind "ADD of pod 1000 is slower than pod 10"
# (docs/benchmarks.md), measured without any plugin, in throwaway netns, at 10 and at N pods:
#   1. one gratuitous ARP on a bridge with that many ports: `ip link set eth0 address <same>` in a
#      pod with arp_notify=1 minus the same with arp_notify=0 (median of K);
#   2. one open+read of a /proc/sys/net file, before and after every pod netns has read
#      /proc/sys/net once (the per-netns dentries /proc/sys keeps under shared parents).
#
#   tests/bench/probe-scale.sh [N]      (root; default N=1000; env K=25)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/lib.sh
. "$here/lib.sh"
N=${1:-1000}
K=${K:-25}
[ "$(id -u)" -eq 0 ] || { echo "probe: needs root" >&2; exit 1; }
bench_init wbp

cat >"$BENCH_TMP/sysopen.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct timespec a, b;
	char buf[64];
	int n = 2000;

	(void)argc;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || read(fd, buf, sizeof(buf)) < 0)
			return 1;
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n);
	return 0;
}
C
cc -O2 -o "$BENCH_TMP/sysopen" "$BENCH_TMP/sysopen.c"

host=$(bench_ns h)
ip -n "$host" link add br0 type bridge
ip -n "$host" addr add 10.99.0.1/16 dev br0
ip -n "$host" link set br0 up
pod() {
	local i=$1 p
	p=$(bench_ns "p$i")
	ip -n "$host" link add "v$i" type veth peer name eth0 netns "$p"
	ip -n "$host" link set "v$i" master br0 up
	ip -n "$p" addr add "10.99.$((i / 250)).$((i % 250 + 2))/16" dev eth0
	ip -n "$p" link set eth0 up
}
med() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1000 }'; }
setmac() { # setmac NOTIFY: median wall ms of K `ip link set eth0 address <same>` in pod 5
	local p=$BENCH_P-p5 mac k
	mac=$(ip -n "$p" -j link show eth0 | jq -r '.[0].address')
	ip netns exec "$p" sysctl -qw "net.ipv4.conf.eth0.arp_notify=$1"
	for ((k = 0; k < K; k++)); do
		"$WRUN" -N "/run/netns/$p" -- ip link set eth0 address "$mac" | cut -d' ' -f1
	done | med
}
probe() {
	local g ng
	g=$(setmac 1)
	ng=$(setmac 0)
	echo "$1 ports: set MAC with gratuitous ARP $g ms, without $ng ms: flood $(awk -v a="$g" -v b="$ng" 'BEGIN { printf "%.2f", a - b }') ms"
}
for ((i = 1; i <= 10; i++)); do pod $i; done
probe 10
for ((i = 11; i <= N; i++)); do pod $i; done
probe "$N"
f=/proc/sys/net/ipv4/ip_forward
echo "/proc/sys open, $N pod netns that never read /proc/sys/net: $(ip netns exec "$BENCH_P-p1" "$BENCH_TMP/sysopen" $f) us"
for ((i = 2; i <= N; i++)); do ip netns exec "$BENCH_P-p$i" cat $f >/dev/null; done
echo "/proc/sys open, after one /proc/sys/net read in each: $(ip netns exec "$BENCH_P-p1" "$BENCH_TMP/sysopen" $f) us" \
	"(/proc/sys/kernel/pid_max: $(ip netns exec "$BENCH_P-p1" "$BENCH_TMP/sysopen" /proc/sys/kernel/pid_max) us)"

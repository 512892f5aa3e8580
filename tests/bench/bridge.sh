#!/usr/bin/env bash
# Benchmark (not a test): weft's bridge vs the reference bridge (+ host-local), A/B interleaved,
# with the kernel's own floor measured in the same run. Everything happens inside a throwaway
# "host" netns and per-pod netns created here and removed on exit.
#
#   tests/bench/bridge.sh [WEFT_BIN_DIR] [ROUNDS] [SCALE_PODS]
#
# Reports medians of wall time, CPU (user+sys of the plugin process and its children, from
# wait4), and peak RSS, for ADD and DEL, for:
#   weft   bridge + host-local in-process, ipMasq (nftables, libnftnl batch)
#   ref    /usr/lib/cni/bridge + exec'd host-local, ipMasq (Debian 1.1.1: iptables backend only;
#          here iptables-nft)
#   and the same two without ipMasq (plugin against plugin, no masquerade backend in the way);
#   floor  `ip link add <veth> ... netns <pod>` and `ip link del <veth>` (process start included,
#          like a plugin's)
# then the ADD time of pod 10 vs pod SCALE_PODS (default 1000) on one bridge.
set -euo pipefail

WEFT=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build/bin}
ROUNDS=${2:-30}
SCALE=${3:-1000}
REF=${REF_BIN:-/usr/lib/cni}
[ "$(id -u)" -eq 0 ] || { echo "bench needs root (netns)" >&2; exit 1; }
[ -x "$WEFT/bridge" ] || { echo "no $WEFT/bridge (make build first)" >&2; exit 1; }
[ -x "$REF/bridge" ] || { echo "no reference plugins in $REF" >&2; exit 1; }

P=wbench$$
HOST=$P-host
DATA=$(mktemp -d /tmp/weft-bench.XXXXXX)
cleanup() {
	# every netns of this run (pods first), then the data dir
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" | sort -r); do
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -rf "$DATA"
}
trap cleanup EXIT
ip netns add "$HOST"
ip -n "$HOST" link set lo up

# Peak RSS of a process = VmHWM of its own mm, read at exit by a preloaded destructor. (wait4's
# ru_maxrss would include the forking parent's high-water mark, kept across execve.) Works for
# dynamically linked binaries (weft, ip); the reference plugins are static Go binaries.
cat >"$DATA/hwm.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
__attribute__((destructor)) static void hwm(void)
{
	char buf[4096], *p;
	const char *out = getenv("WEFT_HWM_FILE");
	int fd = open("/proc/self/status", O_RDONLY), o;
	ssize_t n;

	if (!out || fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	p = strstr(buf, "VmHWM:");
	o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (p && o >= 0)
		(void)!write(o, p + 6, strcspn(p + 6, "\n"));
	if (o >= 0)
		close(o);
}
C
cc -O2 -shared -fPIC -o "$DATA/hwm.so" "$DATA/hwm.c"

ip netns exec "$HOST" python3 - "$WEFT" "$REF" "$DATA" "$P" "$ROUNDS" "$SCALE" <<'PY'
import json, os, resource, statistics, subprocess, sys, time

weft, ref, data, prefix, rounds, scale = sys.argv[1:7]
rounds, scale = int(rounds), int(scale)

def conf(kind, masq, net):
    c = {"cniVersion": "1.0.0", "name": net, "type": "bridge", "bridge": net[:12],
         "isGateway": True, "isDefaultGateway": True, "ipMasq": masq,
         "ipam": {"type": "host-local", "subnet": {"w": "10.200.0.0/16", "r": "10.201.0.0/16",
                  "x": "10.202.0.0/16", "y": "10.203.0.0/16", "s": "10.204.0.0/16",
        "t": "10.205.0.0/16"}[net[0]],
                  "dataDir": data}}
    return json.dumps(c).encode()

def netns(name):
    subprocess.run(["ip", "netns", "add", f"{prefix}-{name}"], check=True)
    return f"/run/netns/{prefix}-{name}"

hwm_file = os.path.join(data, "hwm.out")

def run(argv, env=None, stdin=b""):
    """Wall (ms), CPU user+sys (ms), peak RSS (KiB, VmHWM; 0 = unknown) of one child process."""
    env = dict(env if env is not None else os.environ)
    env["LD_PRELOAD"] = os.path.join(data, "hwm.so")
    env["WEFT_HWM_FILE"] = hwm_file
    if os.path.exists(hwm_file):
        os.unlink(hwm_file)
    t0 = time.perf_counter_ns()
    p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdin.write(stdin)
    p.stdin.close()
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e6
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{argv[0]} failed: {out.decode()} {err.decode()}")
    # wait4's rusage covers the child and its reaped children (the exec'd host-local)
    rss = 0
    if os.path.exists(hwm_file):
        with open(hwm_file) as f:
            rss = int(f.read().split()[0])
    return wall, (ru.ru_utime + ru.ru_stime) * 1e3, rss

def plugin(bindir, cmd, cid, ns, c):
    env = {"CNI_COMMAND": cmd, "CNI_CONTAINERID": cid, "CNI_IFNAME": "eth0",
           "CNI_NETNS": ns, "CNI_PATH": bindir, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    return run([f"{bindir}/bridge"], env, c)

def med(xs):
    return statistics.median(xs)

results = {}
def record(key, sample):
    results.setdefault(key, []).append(sample)

def ab(masq):
    tag = "masq" if masq else "nomasq"
    wn, rn = ("wnet", "rnet") if masq else ("xnet", "ynet")
    cw, cr = conf("w", masq, wn), conf("r", masq, rn)
    pods = []
    for i in range(rounds):
        nw, nr = netns(f"{tag}w{i}"), netns(f"{tag}r{i}")
        # interleaved, alternating who goes first
        order = [("weft", weft, cw, nw), ("ref", ref, cr, nr)]
        if i % 2:
            order.reverse()
        for name, b, c, ns in order:
            record((name, tag, "ADD"), plugin(b, "ADD", f"{name}{i}", ns, c))
        pods.append((nw, nr, i))
    for nw, nr, i in pods:
        order = [("weft", weft, cw, nw), ("ref", ref, cr, nr)]
        if i % 2:
            order.reverse()
        for name, b, c, ns in order:
            record((name, tag, "DEL"), plugin(b, "DEL", f"{name}{i}", ns, c))

def floor():
    for i in range(rounds):
        ns = netns(f"floor{i}")
        record(("floor", "-", "veth add"),
               run(["ip", "link", "add", f"fl{i}", "type", "veth", "peer", "name", "eth0",
                    "netns", os.path.basename(ns)]))
        record(("floor", "-", "ip link del"), run(["ip", "link", "del", f"fl{i}"]))

def scale_run(masq):
    c = conf("s", masq, "snet" if masq else "tnet")
    times = []
    for i in range(1, scale + 1):
        ns = netns(f"s{masq:d}-{i}")
        times.append(plugin(weft, "ADD", f"s{i}", ns, c)[0])
    early = med(times[4:15])            # pods 5..15
    late = med(times[scale - 11:])      # the last 11 pods
    return early, late

ab(True)
ab(False)
floor()

print(f"weft bridge vs reference ({ref}), {rounds} rounds each, medians")
print(f"{'plugin':6} {'masq':7} {'verb':12} {'wall ms':>8} {'cpu ms':>8} {'rss KiB':>8}")
for (name, tag, verb), xs in results.items():
    w = med([x[0] for x in xs]); c = med([x[1] for x in xs]); m = max(x[2] for x in xs)
    # the reference is a static Go binary: the preload cannot see it (with ipMasq the file
    # would hold its iptables child's figure)
    m = "-" if name == "ref" or not m else m
    print(f"{name:6} {tag:7} {verb:12} {w:8.2f} {c:8.2f} {m:>8}")

def ratio(a, b, i):
    return med([x[i] for x in results[a]]) / med([x[i] for x in results[b]])

print()
for tag in ("masq", "nomasq"):
    print(f"ADD {tag:6}: weft/ref wall {ratio(('weft', tag, 'ADD'), ('ref', tag, 'ADD'), 0):.3f}x"
          f"  cpu {ratio(('weft', tag, 'ADD'), ('ref', tag, 'ADD'), 1):.3f}x   (target <= 0.1x)")
    print(f"DEL {tag:6}: weft/floor(ip link del) wall "
          f"{ratio(('weft', tag, 'DEL'), ('floor', '-', 'ip link del'), 0):.3f}x   (target <= 1.2x)"
          f"; weft/ref wall {ratio(('weft', tag, 'DEL'), ('ref', tag, 'DEL'), 0):.3f}x")
rss = max(x[2] for k, xs in results.items() if k[0] == "weft" for x in xs)
print(f"weft peak RSS {rss} KiB = {rss / 1024:.2f} MiB   (target <= 2 MiB)")
if scale > 20:
    for masq in (False, True):
        early, late = scale_run(masq)
        print(f"ADD ({'ipMasq' if masq else 'no ipMasq'}) pod 10 (median of 5..15) {early:.2f} ms, "
              f"pod {scale} (median of last 11) {late:.2f} ms: {late / early:.3f}x"
              "   (target <= 1.10x)")
PY

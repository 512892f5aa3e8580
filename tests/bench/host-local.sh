#!/usr/bin/env bash
# Benchmark (not a test): weft's host-local against the reference host-local, in one run.
#
#   tests/bench/host-local.sh [WEFT_BIN_DIR]      (default build/bin)
#   env: N=300 (ADD samples per plugin), K=100 (DEL samples per size), REF=/usr/lib/cni/host-local,
#        BENCH_DIR=<dir for the dataDirs> (default: a mktemp -d under $TMPDIR; put it on tmpfs
#        or on the disk that holds /var/lib/cni to measure that filesystem)
#
# 1. ADD, A/B interleaved: ours, reference, ours, reference, ... each on its own network, every
#    ADD followed by an untimed DEL of the same container, so both always allocate from a
#    near-empty network. Median wall time of the exec (posix_spawn to exit) and the ratio.
# 2. DEL at 10 and at 1000 reservations in one network (sizes interleaved, every timed DEL
#    followed by an untimed re-ADD so the size stays put): median, and the 1000/10 ratio.
#    The reference is measured the same way for context.
# Prints a markdown table. Needs no root: host-local touches no network namespace.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../../build/bin}
BIN=$(cd "$BIN" && pwd)
REF=${REF:-/usr/lib/cni/host-local}
N=${N:-300}
K=${K:-100}
[ -x "$BIN/host-local" ] || { echo "no $BIN/host-local (make build first)" >&2; exit 1; }
[ -x "$REF" ] || { echo "no reference host-local at $REF" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-bench-hl.XXXXXX")
data=${BENCH_DIR:+$(mktemp -d "$BENCH_DIR/weft-bench-hl.XXXXXX")}
data=${data:-$work/data}
trap 'rm -rf "$work" "$data"' EXIT
mkdir -p "$data"

# A small spawner: bash's fork+exec would add more noise than the thing measured.
# spawntime N ARM... ; ARM = bin,stdin,cmd,postcmd(or -),cid-format(printf %d = i % mod),mod
# Runs the arms interleaved N times; prints "median p10 p90" (microseconds) per arm.
cat >"$work/spawntime.c" <<'EOF'
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct arm { char *bin, *in, *cmd, *post, *fmt; long mod; double *t; };

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int run(const struct arm *a, const char *cmd, long i)
{
	char c[64], id[128], *envp[] = {c, id, "CNI_IFNAME=eth0", "CNI_NETNS=/run/netns/bench",
					"CNI_PATH=/nonexistent", NULL};
	char *argv[] = {a->bin, NULL};
	posix_spawn_file_actions_t fa;
	int st;
	pid_t pid;

	snprintf(c, sizeof(c), "CNI_COMMAND=%s", cmd);
	snprintf(id, sizeof(id), "CNI_CONTAINERID=");
	snprintf(id + strlen(id), sizeof(id) - strlen(id), a->fmt, i % a->mod);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, a->in, O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, a->bin, &fa, NULL, argv, envp) != 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	posix_spawn_file_actions_destroy(&fa);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	int na = argc - 2;
	struct arm *arms = calloc(na, sizeof(*arms));

	for (int k = 0; k < na; k++) {
		arms[k].bin = strtok(argv[k + 2], ",");
		arms[k].in = strtok(NULL, ",");
		arms[k].cmd = strtok(NULL, ",");
		arms[k].post = strtok(NULL, ",");
		arms[k].fmt = strtok(NULL, ",");
		arms[k].mod = atol(strtok(NULL, ","));
		arms[k].t = calloc(n, sizeof(double));
	}
	for (long i = 0; i < n; i++) {
		for (int k = 0; k < na; k++) {
			double t0 = now_us();
			if (run(&arms[k], arms[k].cmd, i) < 0) {
				fprintf(stderr, "%s %s #%ld failed\n", arms[k].bin, arms[k].cmd, i);
				return 1;
			}
			arms[k].t[i] = now_us() - t0;
			if (strcmp(arms[k].post, "-") && run(&arms[k], arms[k].post, i) < 0) {
				fprintf(stderr, "%s %s #%ld failed\n", arms[k].bin, arms[k].post, i);
				return 1;
			}
		}
	}
	for (int k = 0; k < na; k++) {
		qsort(arms[k].t, n, sizeof(double), cmp);
		printf("%.0f %.0f %.0f\n", arms[k].t[n / 2], arms[k].t[n / 10], arms[k].t[n * 9 / 10]);
	}
	return 0;
}
EOF
${CC:-cc} -O2 -o "$work/spawntime" "$work/spawntime.c"

# conf NAME [SUBNET]: a host-local config file for network NAME in $data.
conf() {
	printf '{"cniVersion":"1.0.0","name":"%s","ipam":{"type":"host-local","dataDir":"%s","subnet":"%s"}}' \
		"$1" "$data" "${2:-10.128.0.0/16}" >"$work/$1.json"
	echo "$work/$1.json"
}

# fill BIN CONF COUNT PREFIX: COUNT reservations, untimed.
fill() {
	"$work/spawntime" "$3" "$1,$2,ADD,-,$4%d,1000000" >/dev/null
}

fsname=$(findmnt -n -o FSTYPE -T "$data" 2>/dev/null | head -n 1)
fsname=${fsname:-$(stat -f -c %T "$data")}
echo "host-local benchmark: weft $BIN/host-local vs reference $REF" >&2
echo "dataDir on $fsname ($data); N=$N ADD samples, K=$K DEL samples per size" >&2

# 1. ADD, A/B interleaved
wadd=$(conf wadd)
radd=$(conf radd)
add=($("$work/spawntime" "$N" "$BIN/host-local,$wadd,ADD,DEL,a%d,1000000000" \
	"$REF,$radd,ADD,DEL,a%d,1000000000"))

# 2. DEL at 10 and 1000 reservations: d0..d9 plus fillers; DEL d(i%10), then re-ADD it.
for who in w r; do
	b=$BIN/host-local
	[ "$who" = r ] && b=$REF
	fill "$b" "$(conf ${who}10)" 10 d
	fill "$b" "$(conf ${who}1000)" 10 d
	fill "$b" "$work/${who}1000.json" 990 f
done
del=($("$work/spawntime" "$K" \
	"$BIN/host-local,$work/w10.json,DEL,ADD,d%d,10" \
	"$BIN/host-local,$work/w1000.json,DEL,ADD,d%d,10" \
	"$REF,$work/r10.json,DEL,ADD,d%d,10" \
	"$REF,$work/r1000.json,DEL,ADD,d%d,10"))
[ "$(ls "$data/w1000" | grep -c '^10\.')" -eq 1000 ] || echo "warning: network size drifted" >&2

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.2f ms", a / 1000 }'; }

cat <<EOT

| host-local, dataDir on $fsname | weft | reference | weft / reference |
|---|---|---|---|
| ADD median, N=$N interleaved | $(ms "${add[0]}") | $(ms "${add[3]}") | $(ratio "${add[0]}" "${add[3]}") |
| ADD p10 / p90 | $(ms "${add[1]}") / $(ms "${add[2]}") | $(ms "${add[4]}") / $(ms "${add[5]}") | |
| DEL median, 10 reservations | $(ms "${del[0]}") | $(ms "${del[6]}") | $(ratio "${del[0]}" "${del[6]}") |
| DEL median, 1000 reservations | $(ms "${del[3]}") | $(ms "${del[9]}") | $(ratio "${del[3]}" "${del[9]}") |
| DEL 1000 / DEL 10 | $(ratio "${del[3]}" "${del[0]}") | $(ratio "${del[9]}" "${del[6]}") | |

Targets: weft ADD median <= 1 ms and <= 0.3x the reference; weft DEL 1000/10 within 1.10.
EOT

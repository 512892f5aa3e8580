/* SPDX-License-Identifier: Apache-2.0 */
/* Cgroups for nsrun and netlab, on cgroup v2, on v1, and on v1+v2 hybrids.
 *
 * Each controller is used on the hierarchy that has it: the unified (v2) hierarchy when its
 * cgroup.controllers lists it, else the v1 hierarchy it is mounted as. A hybrid host (v1
 * controllers under /sys/fs/cgroup/<ctrl>, cgroup2 at /sys/fs/cgroup/unified) thus gets its
 * limits in v1 files and membership in both. CG_MODE_V1 / CG_MODE_V2 force one version.
 *
 * Library code: no printing; -errno + struct cni_err. */
#ifndef WEFT_CGROUP_H
#define WEFT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/cni-error.h"

#define CG_DEFAULT_PARENT "weft"
#define CG_MAX_MOUNTS	  24
#define CG_MAX_DIRS	  8

enum cg_mode { CG_MODE_AUTO, CG_MODE_V1, CG_MODE_V2 };

struct cg_mount {
	int version;	 /* 1 or 2 */
	char path[256];	 /* mount point, e.g. /sys/fs/cgroup/memory */
	char ctrls[128]; /* v1: "cpu,cpuacct" / "name=systemd"; v2: cgroup.controllers */
};

struct cg_layout {
	size_t n;
	struct cg_mount m[CG_MAX_MOUNTS];
	int unified; /* index of the cgroup2 mount, -1 when none */
};

/* Is tok one of the ',' or ' ' separated words of list? */
bool cgroup_token_in(const char *list, const char *tok);
/* Parses /proc/<pid>/mountinfo text (pure; v2 controllers are left empty). */
int cgroup_layout_parse(const char *mountinfo, struct cg_layout *ret);
/* Reads /proc/self/mountinfo (or `mountinfo` when not NULL) and the v2 root's controllers. */
int cgroup_layout_read(const char *mountinfo, struct cg_layout *ret, struct cni_err *err);
/* Reads a small text file (cgroup and /proc files) into buf, trailing newlines and spaces
 * stripped. Returns the length or -errno. */
int cg_read_text(const char *path, char *buf, size_t len);
/* Index of the mount a controller ("memory", "cpu", "pids") is used on in mode, -1 if none. */
int cgroup_layout_find(const struct cg_layout *l, const char *ctrl, enum cg_mode mode);
/* "hybrid (v1 + v2 at /sys/fs/cgroup/unified)", "v2", "v1" or "none". */
const char *cgroup_layout_describe(const struct cg_layout *l, char *buf, size_t len);

/* Limits; 0 = not set. cpu_quota_us/cpu_period_us: CFS bandwidth (--cpus 0.5 = 50000/100000). */
struct cg_limits {
	uint64_t memory; /* bytes */
	uint64_t cpu_quota_us, cpu_period_us;
	uint64_t pids;
};

struct cg_dir {
	int version;
	char ctrls[128];     /* controllers this dir limits (subset of the mount's) */
	char path[PATH_MAX]; /* the cgroup directory */
	char mount[256];
};

struct cgroup {
	char rel[256]; /* "<parent>/<name>" below each hierarchy's mount point */
	char parent[128];
	size_t n;
	struct cg_dir dirs[CG_MAX_DIRS];
};

/* Creates <mount>/<parent>/<name> on every hierarchy needed for memory, cpu and pids (those a
 * limit asks for must exist: else -ENOTSUP, code 100, saying where the controller is) plus the
 * unified hierarchy (membership) in AUTO/V2, and writes the limits. On error nothing is left.
 * layout NULL: read the machine's. */
int cgroup_create(const struct cg_layout *layout, enum cg_mode mode, const char *parent,
		  const char *name, const struct cg_limits *lim, struct cgroup *ret,
		  struct cni_err *err);
/* Moves pid into every directory of cg. */
int cgroup_attach(const struct cgroup *cg, pid_t pid, struct cni_err *err);
/* SIGKILLs whatever is left in cg, removes the directories (retrying while the kernel still
 * holds them) and the parent when it is empty. Idempotent. */
int cgroup_destroy(const struct cgroup *cg, struct cni_err *err);
/* Reads <dir>/<file> of the first directory whose version matches (0 = any) and that has the
 * file; trailing newline stripped. -ENOENT when no directory has it. */
int cgroup_read(const struct cgroup *cg, int version, const char *file, char *buf, size_t len);
/* Value of "key N" in a flat-keyed file (memory.events, pids.events, cpu.stat, oom_control). */
int cgroup_read_key(const struct cgroup *cg, const char *file, const char *key, uint64_t *ret);
/* The directory holding ctrl's files ("memory", "cpu", "pids"), or NULL. */
const struct cg_dir *cgroup_dir_for(const struct cgroup *cg, const char *ctrl);

/* SIGKILLs every process in cg; returns how many were signalled. */
int cgroup_kill(const struct cgroup *cg);
/* {"rel","parent","dirs":[{"version","path","mount","controllers"}]} and back (for state
 * files that outlive the process that made the cgroup). */
json_t *cgroup_to_json(const struct cgroup *cg);
int cgroup_from_json(const json_t *j, struct cgroup *ret);

/* "64M", "1g", "512k", "1048576" (binary multiples) -> bytes. -EINVAL / -ERANGE. */
int cgroup_parse_size(const char *s, uint64_t *ret);
/* "0.5", "2", "1.25" -> quota for period 100000 us (>= 1000 us). -EINVAL / -ERANGE. */
int cgroup_parse_cpus(const char *s, uint64_t *ret_quota_us, uint64_t *ret_period_us);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* The container launcher behind nsrun: new pid/net/mnt/uts/ipc/cgroup (and optionally user)
 * namespaces, a cgroup with limits, an optional rootfs or OverlayFS root with pivot_root and
 * fresh /proc, /sys, /dev, and CNI networks attached through the runtime side before the
 * command starts and detached when it ends.
 *
 * Parent/child protocol: the parent clone()s the child into the new namespaces; the child
 * waits on a sync pipe while the parent writes the id maps, moves it into the cgroup, pins its
 * netns at /run/netns/<name> and runs CNI ADD for every network; then the parent releases it,
 * the child builds its mounts and execs. Child-side failures come back on a CLOEXEC error
 * pipe (EOF = the exec happened). */
#ifndef WEFT_CTR_H
#define WEFT_CTR_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "netns-tools/nsrun/cgroup.h"
#include "common/cni-error.h"
#include "netns-tools/runtime/runtime.h"

#define CTR_STATE_ROOT	 "/run/weft/nsrun"
#define CTR_NETNS_DIR	 "/run/netns"
#define CTR_MAX_NETS	 8
#define CTR_MAX_LOWERS	 16
#define CTR_STOP_TIMEOUT 5

/* nsrun's own failures, as docker/podman report them. */
#define CTR_EXIT_ERROR	     125
#define CTR_EXIT_CANNOT_EXEC 126
#define CTR_EXIT_NOT_FOUND   127

struct ctr_spec {
	char name[64]; /* container ID for CNI, cgroup and netns names */
	char *const *argv;
	const char *hostname; /* NULL: inherited */
	const char *workdir;  /* NULL: "/" with a rootfs, else the current dir */
	bool init;	      /* a mini init is PID 1 and the command PID 2 */
	bool userns;
	uid_t map_uid; /* host uid/gid root maps to, count ids */
	gid_t map_gid;
	unsigned map_count;

	const char *rootfs; /* NULL: the host's root */
	const char *lowers[CTR_MAX_LOWERS];
	size_t n_lowers; /* OverlayFS layers, top first; rootfs (if any) goes below */

	bool no_cgroup;
	enum cg_mode cg_mode;
	const char *cg_parent;
	struct cg_limits limits;

	const char *nets[CTR_MAX_NETS];
	const char *ifnames[CTR_MAX_NETS]; /* NULL: eth<i> */
	size_t n_nets;
	const char *confdir, *cni_path, *cache_dir;
	const char *cni_netns; /* run the plugins in this netns (path); NULL: nsrun's own */
	const char *cni_args;
	json_t *cap_args;

	const char *pid_file;
	int stop_timeout; /* seconds between the forwarded SIGTERM and SIGKILL */
	bool verbose;
};

struct ctr {
	const struct ctr_spec *spec;
	char state_dir[256]; /* CTR_STATE_ROOT/<name>: state.json, overlay upper/work */
	char netns_path[256];
	char root[1024]; /* the new root ("" = host root) */
	char overlay_opts[PATH_MAX * 2];
	struct cg_layout layout;
	struct cgroup cg;
	bool have_cg, pinned, made_state_dir;
	pid_t pid;	   /* the container's PID 1, as the host sees it */
	int start_exit;	   /* ctr_start failed: the exit status nsrun should use */
	int sync_w, err_r; /* parent ends of the pipes */
	int sync_r, err_w; /* child ends */
	struct rt_netconf *netconfs[CTR_MAX_NETS];
	char ifnames[CTR_MAX_NETS][16];
	bool added[CTR_MAX_NETS];
	json_t *results[CTR_MAX_NETS];
	struct rt rt;
};

/* Validates the spec, loads the networks, makes the state dir and the cgroup, and starts the
 * command (it runs once ctr_start returns 0). Errors leave nothing behind. */
int ctr_start(struct ctr *c, const struct ctr_spec *spec, struct cni_err *err);
/* Waits for the command, forwarding SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 to it
 * (SIGINT/SIGTERM also arm a SIGKILL after stop_timeout s), then tears down. Returns the
 * exit status for nsrun: the command's, or 128+signal. */
int ctr_wait(struct ctr *c);

/* What the child writes on the error pipe when it fails before the exec. */
struct ctr_child_report {
	int exit_code, sys_errno;
	char msg[480];
};

/* The child side (ctr-child.c): runs in the new namespaces, never returns. */
__attribute__((noreturn)) void ctr_child_main(struct ctr *c);

/* State file (ctr-state.c), for `nsrun --cleanup NAME` after nsrun itself was killed. */
int ctr_state_write(const struct ctr *c, struct cni_err *err);
/* Tears down what the state file of `name` records, if its nsrun is gone. -EBUSY while it is
 * alive; -ENOENT when there is no such state. */
int ctr_cleanup_stale(const char *name, struct cni_err *err);
/* "rm -rf" that never crosses into another filesystem. */
int ctr_rm_rf(const char *path);
/* Start time of pid (field 22 of /proc/pid/stat), 0 when gone. */
unsigned long long ctr_pid_starttime(pid_t pid);
/* pid is the process that started at start (ctr_pid_starttime) and not a zombie. */
bool ctr_pid_alive(pid_t pid, unsigned long long start);

/* nsrun's command line (ctr-opts.c). */
struct ctr_opts {
	struct ctr_spec spec;
	const char *cleanup; /* --cleanup NAME: undo what a killed nsrun left, run nothing */
	bool help;	     /* -h/--help: print ctr_usage; what follows it is not parsed */
	bool version;	     /* --version: print the version; the same */
	size_t n_ifnames;
	char *overlay; /* owned copy, split in place into spec.lowers */
	char rootfs[PATH_MAX];
	char cni_netns[PATH_MAX];
	char lowers[CTR_MAX_LOWERS][PATH_MAX];
	char error[PATH_MAX + 256]; /* why parsing failed; nsrun prints "nsrun: <error>" */
};

/* nsrun --help. */
extern const char ctr_usage[];
/* Parses nsrun's argv (options, then COMMAND after "--" or the first non-option) into o,
 * which it zeroes first. Defaults: $NETCONFPATH, $CNI_ARGS, $CAP_ARGS, name nsrun-<pid>,
 * stop timeout CTR_STOP_TIMEOUT. Runs nothing (the root check is the caller's); it only
 * resolves --rootfs/--overlay directories and checks that --cni-netns exists. Returns 0, or
 * -EINVAL with o->error set. Release with ctr_opts_free() either way. */
int ctr_opts_parse(struct ctr_opts *o, int argc, char **argv);
void ctr_opts_free(struct ctr_opts *o);

#endif

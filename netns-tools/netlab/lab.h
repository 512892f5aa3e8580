/* SPDX-License-Identifier: Apache-2.0 */
/* netlab: classic container and pod networking exercises (docs/netlab.md) as scenarios with
 * up / verify / show / down.
 *
 * Everything a scenario makes is recorded in a state file BEFORE it is made
 * (/run/weft/netlab/<prefix>-<scenario>/state.json), so `down` can undo it after a crash or a
 * Ctrl-C, in reverse order. Names carry the prefix (namespaces "<prefix>-<scenario>-<node>",
 * cgroups "weft/<prefix>-<scenario>-<x>"), so labs of several users or tests coexist.
 *
 * Calls between the files go one way: lab.c (state) <- lab-exec.c (processes) <- lab-net.c
 * (network helpers) and lab-down.c (teardown); lab-topo.c (pictures) stands alone; the
 * scenarios (lab-<name>.c) and netlab.c use them all. */
#ifndef WEFT_LAB_H
#define WEFT_LAB_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "netns-tools/nsrun/cgroup.h"

#define LAB_STATE_ROOT	   "/run/weft/netlab"
#define LAB_NETNS_DIR	   "/run/netns"
#define LAB_DEFAULT_PREFIX "nl"

struct topo;
struct lab;

struct scenario {
	const char *name;
	const char *origin;  /* the exercise it reproduces (docs/netlab.md) */
	const char *summary; /* one line for `netlab list` */
	int (*up)(struct lab *lab);
	void (*verify)(struct lab *lab);	      /* lab_check() each assertion */
	int (*show)(struct lab *lab, struct topo *t); /* fills the picture from live state */
	/* Optional: `netlab __<name> ARGS`, a process the scenario runs inside its namespaces
	 * (a holder, an allocation, a fork bomb). Returns the exit status. */
	int (*helper)(int argc, char **argv);
	/* Optional: what `run` prints last, after the teardown (malloc'd text, or NULL), read
	 * from the lab after verify and show. */
	char *(*report)(struct lab *lab);
};

struct lab {
	const struct scenario *sc;
	char id[64];		/* "<prefix>-<scenario>": the prefix of every name */
	char dir[256];		/* <state root>/<id> */
	char self[PATH_MAX];	/* this netlab binary */
	char bin_dir[PATH_MAX]; /* its directory: the weft plugins and nsrun live there */
	const char *cni_path;	/* --cni-path (default bin_dir) */
	const char *state_root; /* where lab dirs live (NULL: LAB_STATE_ROOT) */
	bool verbose;
	json_t *state; /* {"scenario","id","resources":[...]} */
	int checks, failures;
};

extern const struct scenario lab_veth, lab_namespaces, lab_cgroups, lab_container, lab_overlay,
	lab_bridge, lab_ebpf;

/* ---- state (lab.c) ------------------------------------------------------------------------ */
/* Fills lab->id ("<prefix>-<scenario>", prefix 1-24 of [A-Za-z0-9_-], default "nl"), lab->dir
 * and where the binary is. create: makes the lab dir and a fresh state ({"scenario","id",
 * "netlabPid","resources":[]}); -EEXIST when the lab is up. Else loads the state; -ENOENT
 * when the lab is not up. -EINVAL for a bad prefix. */
int lab_open(struct lab *lab, const struct scenario *sc, const char *prefix, bool create);
void lab_close(struct lab *lab);
/* Appends a resource to the state file (written atomically) before it is created. Takes the
 * reference; NULL (a failed json_pack) is -ENOMEM. */
int lab_record(struct lab *lab, json_t *res);
/* Finds the first recorded resource of kind with key == value (value NULL: any) (borrowed),
 * or NULL. */
json_t *lab_find(const struct lab *lab, const char *kind, const char *key, const char *value);
/* The directory lab dirs live in: lab->state_root, else LAB_STATE_ROOT. */
const char *lab_state_root(const struct lab *lab);

/* "<id>-<node>" into buf. */
const char *lab_name(const struct lab *lab, const char *node, char *buf, size_t len);
/* "/run/netns/<netns>" into buf: the path `ip netns` pins a named namespace at. */
const char *lab_netns_path(const char *netns, char *buf, size_t len);
/* Prints "  ok    text" or "  FAIL  text" and counts. Returns ok. */
bool lab_check(struct lab *lab, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lab_step(const struct lab *lab, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- teardown (lab-down.c) ---------------------------------------------------------------- */
/* Undoes every recorded resource in reverse order, then removes the lab dir (and the state
 * root when it is empty). Returns the number of resources that could not be undone; then
 * the state is kept for another try. */
int lab_down(struct lab *lab);

/* ---- processes (lab-exec.c) ----------------------------------------------------------------- */
/* Runs argv (no shell), echoing it with -v. out (may be NULL) receives stdout (malloc'd,
 * NUL-terminated); stderr passes through unless quiet. Returns the exit status (128+sig when
 * killed), or -errno when it could not run. */
int lab_run(const struct lab *lab, char *const argv[], char **out, bool quiet);
/* lab_run with the child in network namespace /run/netns/<netns> first (NULL = ours); status
 * 125 when it cannot join it. */
int lab_run_in(const struct lab *lab, const char *netns, char *const argv[], char **out,
	       bool quiet);
/* lab_run of NULL-terminated string arguments; fails the up step when status != 0. */
int lab_cmd(const struct lab *lab, const char *arg0, ...) __attribute__((sentinel));
/* `ip -j <args>` inside netns ns ("" = ours), parsed. NULL on failure. */
json_t *lab_ip_json(const struct lab *lab, const char *ns, const char *arg0, ...)
	__attribute__((sentinel));
/* Starts argv detached (new session, stdio to log), records {"kind":"proc"} (or "nsrun" with
 * nsrun_name set) and returns its pid. */
pid_t lab_spawn(struct lab *lab, char *const argv[], const char *log, const char *nsrun_name);
/* lab_spawn of a {"kind":"proc"} inside network namespace /run/netns/<netns>, recorded with
 * "netns": netns (lab_find(lab, "proc", "netns", netns) finds it). */
pid_t lab_spawn_in(struct lab *lab, const char *netns, char *const argv[], const char *log);
/* Runs argv inside the namespaces of pid (ipc, uts, net, pid, cgroup, mnt) as `nsenter -a`
 * does (without the user namespace), capturing stdout. Returns the exit status. */
int lab_enter_run(pid_t pid, char *const argv[], char **out);
/* Runs fn(arg) in a forked child that joined the mount namespace of pid (and its root). */
int lab_in_mntns(pid_t pid, int (*fn)(void *arg), void *arg);
/* The executable name in the usual system dirs (sbin first) into buf, or NULL. */
const char *lab_find_bin(const char *name, char *buf, size_t len);
/* Is pid alive (not a zombie) and the same process (start time) as recorded in res? */
bool lab_proc_alive(const json_t *res);

/* ---- network helpers (lab-net.c) ------------------------------------------------------------ */
/* ip netns add <name> (recorded), lo up. */
int lab_netns_add(struct lab *lab, const char *name);
/* One ICMP echo from inside netns to addr; true when answered within timeout_ms. */
bool lab_ping(const char *netns, const char *addr, int timeout_ms);
/* One iperf3 TCP stream of $NETLAB_IPERF_SECONDS (default 3) seconds from netns client to
 * addr, served by a one-off `iperf3 -s -1` in netns server (recorded like every process).
 * cpu >= 0 pins both ends to that CPU (-A cpu,cpu). Returns 0 and the bits/s received,
 * -ENOENT when ip or iperf3 is not installed, another -errno when the stream did not run. */
int lab_iperf(struct lab *lab, const char *server, const char *client, const char *addr, int cpu,
	      double *ret_bps);
/* Addresses ("10.0.0.1/24") of ifname in ns, comma-separated into buf; "" when none. */
const char *lab_addrs(const struct lab *lab, const char *ns, const char *ifname, char *buf,
		      size_t len);
/* Interfaces of ns: ip -j -d link output (new reference) or NULL. */
json_t *lab_links(const struct lab *lab, const char *ns);
/* `ip -j -d link show dev ifname` in ns, the one object (new reference) or NULL. */
json_t *lab_link(const struct lab *lab, const char *ns, const char *ifname);
/* UP and LOWER_UP in the link's flags. */
bool lab_link_is_up(const json_t *link);
/* A bpffs of the lab's own at path (an ebpf network's pinRoot, never the machine's
 * /sys/fs/bpf), recorded before it is mounted so `down` unmounts it, and the pins with it. */
int lab_bpffs_mount(struct lab *lab, const char *path);
/* Adds one group per namespace with its interfaces (kind, addresses, master, state) and an
 * edge for every veth pair between them, read live from the kernel. */
int lab_show_netns(const struct lab *lab, struct topo *t, const char *const *ns,
		   const char *const *titles, const char *const *kinds, size_t n);

/* ---- topology pictures (lab-topo.c) ----------------------------------------------------- */
#define TOPO_MAX_GROUPS 16
#define TOPO_MAX_NODES	64
#define TOPO_MAX_EDGES	64
#define TOPO_MAX_NOTES	12

struct topo_group {
	char title[96];
	char kind[16]; /* "netns", "cgroup", "dir", "host", ... (DOT color) */
};
struct topo_node {
	int group;
	char label[48];
	char detail[200]; /* one line, ' | ' separated parts */
};
struct topo_edge {
	int a, b;
	char label[48];
};
struct topo {
	char title[200];
	size_t ng, nn, ne, nnotes;
	struct topo_group g[TOPO_MAX_GROUPS];
	struct topo_node n[TOPO_MAX_NODES];
	struct topo_edge e[TOPO_MAX_EDGES];
	char notes[TOPO_MAX_NOTES][200];
};

/* A new group (box); returns its index (the last one when TOPO_MAX_GROUPS are taken). */
int lab_topo_group(struct topo *t, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A node in group; returns its index, -1 when TOPO_MAX_NODES are taken. */
int lab_topo_node(struct topo *t, int group, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* An edge between nodes a and b (ignored when either is < 0 or the table is full). */
void lab_topo_edge(struct topo *t, int a, int b, const char *label);
void lab_topo_note(struct topo *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The title, a box per group, "links:" with one line per edge, then the notes. */
void lab_topo_print_text(const struct topo *t, FILE *out);
/* A Graphviz graph: a cluster per group, a node per node, an edge per edge, a note node. */
void lab_topo_print_dot(const struct topo *t, FILE *out);
/* dot -T<format> -o path (format "svg" or "png"); -ENOENT when graphviz is missing. */
int lab_topo_render(const struct topo *t, const char *format, const char *path);

/* ---- `netlab cni`: the runtime side from the command line, cnitool-compatible (lab-cni.c) */
int lab_cni_main(int argc, char **argv);

/* ---- cnitool-compatible container IDs (sha512.c) ---------------------------------------- */
/* "cnitool-" + hex of the first 10 bytes of sha512(path), as cnitool derives it. */
void lab_cnitool_id(const char *netns_path, char buf[29]);

#endif

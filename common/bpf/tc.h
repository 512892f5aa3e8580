/* SPDX-License-Identifier: Apache-2.0 */
/* tc (clsact + cls_bpf direct-action) attachments through libbpf 1.1, bpffs and pin paths.
 *
 * Attachments made with bpftc_attach() belong to the tc subsystem: they outlive the process
 * that made them and vanish with the device. Pins live under
 *	<pinRoot>/<network>/		default pinRoot: /sys/fs/bpf/weft/<host netns inode>
 * (docs/design.md §3). bpffs holds no regular files, so the per-network lock is an flock on
 * the pin directory itself: its lifetime is the pins'.
 *
 * Prefix bpftc_: libbpf already owns bpf_tc_*. */
#ifndef WEFT_BPF_TC_H
#define WEFT_BPF_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cni-error.h"

#define BPFTC_FS_DEFAULT "/sys/fs/bpf"
#define BPFTC_PIN_BASE	 BPFTC_FS_DEFAULT "/weft"

/* weft's cls_bpf filter on a hook: one per device and direction. */
#define BPFTC_HANDLE   0x77656674u /* "weft" */
#define BPFTC_PRIORITY 1

enum bpftc_dir {
	BPFTC_INGRESS,
	BPFTC_EGRESS,
};

/* True when path is on a bpf filesystem. */
bool bpftc_is_bpffs(const char *path);
/* Makes path a directory on a bpffs that outlives this process (mode 0700, parents created) and
 * writes to buf where this process reaches it. When the deepest existing ancestor is not on
 * bpffs, mounts one: on /sys/fs/bpf when path lies below it, otherwise on path itself. That
 * happens here, and buf is path, unless this process runs in a mount namespace other than its
 * parent's (`ip netns exec` makes one): there a bpffs would die with the process and the next
 * invocation would pin everything anew, so the bpffs is found or mounted in the parent's (the
 * runtime's) mount namespace and buf is "/proc/<parent>/root<path>". Code 103 (BPF) on failure,
 * naming the path (as pinRoot, with the fixes in details when the runtime's namespace cannot
 * have one). */
int bpftc_fs_ensure(const char *path, char *buf, size_t len, struct cni_err *err);
/* Where bpftc_fs_ensure put path, without making anything: path, or the runtime's view of it
 * when only that is on a bpffs. Pins absent from buf are absent everywhere. */
int bpftc_fs_find(const char *path, char *buf, size_t len, struct cni_err *err);
/* "/sys/fs/bpf/weft/<inode of the calling process's netns>". */
int bpftc_pin_root_default(char *buf, size_t len, struct cni_err *err);
/* "<pin_root>/<network>"; -ENAMETOOLONG (code 7) when it does not fit. */
int bpftc_pin_dir(const char *pin_root, const char *network, char *buf, size_t len,
		  struct cni_err *err);
/* "<pin root>/<network>" of a network, the pin root (pin_root, or the default when NULL or
 * "") as bpftc_fs_find reaches it: through the runtime's mount namespace under `ip netns exec`.
 * create: bpftc_fs_ensure instead, and the directory made. */
int bpftc_net_dir(const char *pin_root, const char *network, bool create, char *buf, size_t len,
		  struct cni_err *err);
/* "<dir>/<name>"; -ENAMETOOLONG (code 100). */
int bpftc_pin_path(const char *dir, const char *name, char *buf, size_t len, struct cni_err *err);

/* Exclusive flock on the directory, waiting at most timeout_ms (< 0: lock_timeout_ms()).
 * Returns the fd (close to unlock); a timeout is code 11. */
int bpftc_dir_lock(const char *dir, int timeout_ms, struct cni_err *err);

/* Ensures the clsact qdisc on ifindex (an existing one is success). */
int bpftc_hook_ensure(int ifindex, struct cni_err *err);
/* Attaches (or replaces) weft's filter with prog_fd; the hook must exist (bpftc_hook_ensure:
 * once per device, as libbpf logs a warning for every clsact that is there already). */
int bpftc_attach(int ifindex, enum bpftc_dir dir, int prog_fd, struct cni_err *err);
/* Id of the program in weft's filter; -ENOENT (code 100) when there is none. */
int bpftc_query(int ifindex, enum bpftc_dir dir, uint32_t *ret_prog_id, struct cni_err *err);
/* Proves tc can run prog_fd: in a child process with a private netns, clsact on its lo and
 * the filter attached. Nothing of the caller's netns is touched. Code 103 with the reason. */
int bpftc_probe(int prog_fd, struct cni_err *err);
/* Id of a map (changes when the map is pinned anew). */
int bpftc_map_id(int map_fd, uint32_t *ret_map_id, struct cni_err *err);

#endif

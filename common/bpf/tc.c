/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/bpf/tc.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/lock.h"
#include "common/log.h"

bool bpftc_is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

/* The deepest existing ancestor of path (path itself when it exists). */
static void existing_ancestor(const char *path, char *buf, size_t len)
{
	struct stat st;
	char *slash;

	snprintf(buf, len, "%s", path);
	while (stat(buf, &st) < 0 && (slash = strrchr(buf, '/')) != NULL) {
		if (slash == buf) {
			buf[1] = '\0';
			break;
		}
		*slash = '\0';
	}
}

/* Mounts a bpffs on dir unless one is there. Concurrent first-time callers serialise on an
 * flock of the directory underneath: a loser re-checks and finds the winner's mount, so no
 * instance is ever stacked over another one (pins in a shadowed instance would be lost). */
static int mount_bpffs(const char *dir, struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = fs_mkdir_p(dir, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "mkdir '%s'", dir);
	fd = bpftc_dir_lock(dir, -1, err);
	if (fd < 0)
		return cni_err_wrap(err, "mount bpffs on '%s'", dir);
	if (bpftc_is_bpffs(dir))
		return 0;
	if (mount("bpf", dir, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "mount bpffs on '%s'", dir);
	return 0;
}

/* True when path, or its deepest existing ancestor, is on a bpffs. */
static bool below_bpffs(const char *path)
{
	char anc[PATH_MAX];

	existing_ancestor(path, anc, sizeof(anc));
	return bpftc_is_bpffs(anc);
}

/* Mounts the bpffs path needs in this mount namespace, unless path lies on one: on
 * /sys/fs/bpf when path is below it, otherwise on path itself. */
static int mount_here(const char *path, struct cni_err *err)
{
	const size_t base_len = strlen(BPFTC_FS_DEFAULT);

	if (below_bpffs(path))
		return 0;
	if (strncmp(path, BPFTC_FS_DEFAULT, base_len) == 0 &&
	    (path[base_len] == '/' || path[base_len] == '\0'))
		return mount_bpffs(BPFTC_FS_DEFAULT, err);
	return mount_bpffs(path, err);
}

/* The process whose mount namespace the runtime's other invocations share, when this one runs
 * in another: the parent (the runtime), or PID 1 when the parent's cannot be read. Such a
 * namespace of its own is what `ip netns exec` makes (remounting /sys too); whatever is mounted
 * there dies with this process. 0 when the namespace is the parent's (a runtime in a private
 * mount namespace shares it with its plugins) or when that cannot be told (no /proc). */
static pid_t runtime_ns_pid(void)
{
	pid_t pid = getppid();
	struct stat self, other;
	char ns[64];

	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
	if (stat("/proc/self/ns/mnt", &self) < 0)
		return 0;
	if (stat(ns, &other) < 0) {
		pid = 1;
		if (stat("/proc/1/ns/mnt", &other) < 0)
			return 0;
	}
	return self.st_ino == other.st_ino && self.st_dev == other.st_dev ? 0 : pid;
}

/* "/proc/<pid>/root<path>": path as process pid sees it, reachable from this namespace (the
 * kernel resolves pins and their directories through it like any other path); path itself
 * when pid is 0. */
static int via_pid(pid_t pid, const char *path, char *buf, size_t len, struct cni_err *err)
{
	int n = pid ? snprintf(buf, len, "/proc/%d/root%s", (int)pid, path)
		    : snprintf(buf, len, "%s", path);

	if (n >= (int)len)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "pinRoot too long: '%s'",
				   path);
	return 0;
}

/* In a child: mount_here in the mount namespace of pid. Exit status: 0 or an errno. */
static int mount_in_ns_child(pid_t pid, const char *path)
{
	_cleanup_close_ int fd = -1;
	char ns[64];
	int r;

	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
	fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
		return errno;
	r = mount_here(path, NULL);
	return r < 0 ? -r & 0xff : 0;
}

/* The error of a bpffs that would not be shared (every pod would get maps of its own), after
 * mounting one in the runtime's mount namespace failed with errno e. */
static int not_durable(const char *path, pid_t pid, int e, struct cni_err *err)
{
	return cni_err_setd(
		err, CNI_ERR_BPF, e,
		"a bpffs mounted in this private mount namespace would die with the "
		"call and every pod would get maps of its own; fix: mount a bpffs at "
		"the pinRoot (or on " BPFTC_FS_DEFAULT ") in the host's mount namespace "
		"before the plugins run, set pinRoot to a directory on a bpffs that "
		"outlives the call, or run the plugin with nsenter --net instead of ip "
		"netns exec",
		"pinRoot '%s' has no bpffs that outlives this process, and mounting one "
		"in the runtime's mount namespace (process %d) failed: %s",
		path, (int)pid, strerror(e));
}

/* mount_here, in the mount namespace of pid (a child enters it: setns needs a process that
 * shares nothing, and this one keeps its own). */
static int mount_in_ns(pid_t pid, const char *path, struct cni_err *err)
{
	pid_t child;
	int status;

	child = fork();
	if (child < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "fork to mount a bpffs");
	if (child == 0)
		_exit(mount_in_ns_child(pid, path));
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return cni_err_set(err, CNI_ERR_INTERNAL, errno,
					   "wait for the bpffs mount");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return not_durable(path, pid, WIFEXITED(status) ? WEXITSTATUS(status) : EIO, err);
}

/* Whose mount namespace the pins of path live in: 0 for this process's (path is on a bpffs
 * here, or this process shares its runtime's namespace), else the runtime's pid. */
static int pins_owner(const char *path, pid_t *ret, struct cni_err *err)
{
	if (path[0] != '/')
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "pin path '%s' is not absolute",
				   path);
	*ret = below_bpffs(path) ? 0 : runtime_ns_pid();
	return 0;
}

int bpftc_fs_find(const char *path, char *buf, size_t len, struct cni_err *err)
{
	pid_t pid = 0;
	int r = pins_owner(path, &pid, err);

	if (r < 0)
		return r;
	r = via_pid(pid, path, buf, len, err);
	if (r >= 0 && pid && !below_bpffs(buf))
		r = via_pid(0, path, buf, len, err); /* none there either: nothing pinned */
	return r;
}

int bpftc_fs_ensure(const char *path, char *buf, size_t len, struct cni_err *err)
{
	pid_t pid = 0;
	int r = pins_owner(path, &pid, err);

	if (r < 0)
		return r;
	r = pid ? mount_in_ns(pid, path, err) : mount_here(path, err);
	if (r >= 0)
		r = via_pid(pid, path, buf, len, err);
	if (r < 0)
		return r;
	if (pid)
		log_info("pinRoot %s: pinned in the runtime's mount namespace, through %s (this "
			 "process runs in one of its own)",
			 path, buf);
	r = fs_mkdir_p(buf, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "mkdir '%s'", buf);
	return 0;
}

int bpftc_pin_root_default(char *buf, size_t len, struct cni_err *err)
{
	struct stat st;

	if (stat("/proc/self/ns/net", &st) < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "stat /proc/self/ns/net");
	if (snprintf(buf, len, "%s/%lu", BPFTC_PIN_BASE, (unsigned long)st.st_ino) >= (int)len)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENAMETOOLONG, "default pin root");
	return 0;
}

int bpftc_pin_dir(const char *pin_root, const char *network, char *buf, size_t len,
		  struct cni_err *err)
{
	if (snprintf(buf, len, "%s/%s", pin_root, network) >= (int)len)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG,
				   "pin directory too long: '%s/%s'", pin_root, network);
	return 0;
}

int bpftc_pin_path(const char *dir, const char *name, char *buf, size_t len, struct cni_err *err)
{
	if (snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENAMETOOLONG,
				   "pin path too long: '%s/%s'", dir, name);
	return 0;
}

int bpftc_dir_lock(const char *dir, int timeout_ms, struct cni_err *err)
{
	const struct timespec tick = {.tv_nsec = 5 * 1000 * 1000};
	_cleanup_close_ int fd = -1;
	int waited = 0;

	if (timeout_ms < 0)
		timeout_ms = lock_timeout_ms();
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_BPF, errno, "open '%s'", dir);
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return cni_err_set(err, CNI_ERR_BPF, errno, "flock '%s'", dir);
		if (waited >= timeout_ms)
			return cni_err_set(err, CNI_ERR_TRY_AGAIN, EAGAIN,
					   "lock '%s' still held after %d ms", dir, timeout_ms);
		nanosleep(&tick, NULL);
		waited += 5;
	}
	return TAKE_FD(fd);
}

static void hook_init(struct bpf_tc_hook *hook, int ifindex, enum bpftc_dir dir)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = dir == BPFTC_EGRESS ? BPF_TC_EGRESS : BPF_TC_INGRESS;
}

static void opts_init(struct bpf_tc_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = BPFTC_HANDLE;
	opts->priority = BPFTC_PRIORITY;
}

static const char *dir_name(enum bpftc_dir dir)
{
	return dir == BPFTC_EGRESS ? "egress" : "ingress";
}

int bpftc_hook_ensure(int ifindex, struct cni_err *err)
{
	struct bpf_tc_hook hook;
	int r;

	hook_init(&hook, ifindex, BPFTC_INGRESS);
	r = bpf_tc_hook_create(&hook);
	if (r < 0 && r != -EEXIST)
		return cni_err_set(err, CNI_ERR_BPF, -r, "create clsact on ifindex %d", ifindex);
	return 0;
}

int bpftc_attach(int ifindex, enum bpftc_dir dir, int prog_fd, struct cni_err *err)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int r;

	hook_init(&hook, ifindex, dir);
	opts_init(&opts);
	opts.prog_fd = prog_fd;
	opts.flags = BPF_TC_F_REPLACE;
	r = bpf_tc_attach(&hook, &opts);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "attach tc %s program on ifindex %d",
				   dir_name(dir), ifindex);
	return 0;
}

int bpftc_query(int ifindex, enum bpftc_dir dir, uint32_t *ret_prog_id, struct cni_err *err)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int r;

	hook_init(&hook, ifindex, dir);
	opts_init(&opts);
	r = bpf_tc_query(&hook, &opts);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, r == -EINVAL ? ENOENT : -r,
				   "no weft tc %s program on ifindex %d", dir_name(dir), ifindex);
	*ret_prog_id = opts.prog_id;
	return 0;
}

int bpftc_map_id(int map_fd, uint32_t *ret_map_id, struct cni_err *err)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	int r;

	memset(&info, 0, sizeof(info));
	r = bpf_obj_get_info_by_fd(map_fd, &info, &len);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "map info");
	*ret_map_id = info.id;
	return 0;
}

int bpftc_probe(int prog_fd, struct cni_err *err)
{
	int status, r = 0;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "fork the tc probe");
	if (pid == 0) {
		/* Exit status = the errno of the first failing step, 0 when all worked. */
		if (unshare(CLONE_NEWNET) < 0)
			_exit(errno & 0xff);
		r = bpftc_hook_ensure(1, NULL);
		if (r >= 0)
			r = bpftc_attach(1, BPFTC_INGRESS, prog_fd, NULL);
		_exit(r < 0 ? -r & 0xff : 0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return cni_err_set(err, CNI_ERR_INTERNAL, errno, "wait for the tc probe");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	r = WIFEXITED(status) ? WEXITSTATUS(status) : EIO;
	return cni_err_set(err, CNI_ERR_BPF, r, "tc (clsact + cls_bpf) cannot run the program");
}

/* The pin root: the configured one, else /sys/fs/bpf/weft/<host netns inode>. */
static int pin_root_get(const char *pin_root, char *buf, size_t len, struct cni_err *err)
{
	if (!pin_root || !*pin_root)
		return bpftc_pin_root_default(buf, len, err);
	if (snprintf(buf, len, "%s", pin_root) >= (int)len)
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "pinRoot too long");
	return 0;
}

int bpftc_net_dir(const char *pin_root, const char *network, bool create, char *buf, size_t len,
		  struct cni_err *err)
{
	char root[PATH_MAX], reach[PATH_MAX];
	int r;

	r = pin_root_get(pin_root, root, sizeof(root), err);
	if (r >= 0)
		r = create ? bpftc_fs_ensure(root, reach, sizeof(reach), err)
			   : bpftc_fs_find(root, reach, sizeof(reach), err);
	if (r >= 0)
		r = bpftc_pin_dir(reach, network, buf, len, err);
	if (r < 0 || !create)
		return r;
	r = fs_mkdir_p(buf, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "mkdir '%s'", buf);
	return 0;
}

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

/* True unless this process is known to run in a mount namespace other than the one of the
 * process that started it (the runtime; PID 1's when the parent's cannot be read): then it is a
 * namespace of its own, as `ip netns exec` makes (also remounting /sys), and a bpffs mounted
 * there dies with the process. A runtime that itself runs in a private mount namespace shares
 * it with its plugins: mounts there are seen by its next invocations. */
static bool mount_outlives_us(void)
{
	char parent[64];
	struct stat self, other;

	snprintf(parent, sizeof(parent), "/proc/%d/ns/mnt", (int)getppid());
	if (stat("/proc/self/ns/mnt", &self) < 0)
		return true;
	if (stat(parent, &other) < 0 && stat("/proc/1/ns/mnt", &other) < 0)
		return true; /* cannot tell (no /proc, not allowed): as before */
	return self.st_ino == other.st_ino && self.st_dev == other.st_dev;
}

/* The error of a bpffs that would not be shared: every pod would get maps of its own. */
static int not_durable(const char *path, const char *anc, struct cni_err *err)
{
	char host[PATH_MAX + 16], fix[512];

	snprintf(host, sizeof(host), "/proc/1/root%s", anc);
	snprintf(fix, sizeof(fix),
		 "%smount a bpffs at the pinRoot (or on %s) in the host's mount namespace before "
		 "the plugins run, set pinRoot to a directory on a bpffs this namespace sees, or "
		 "run the plugin with nsenter --net instead of ip netns exec",
		 bpftc_is_bpffs(host) ? "the host has a bpffs there that this namespace does not "
					"see (ip netns exec remounts /sys): "
				      : "",
		 BPFTC_FS_DEFAULT);
	return cni_err_setd(
		err, CNI_ERR_BPF, 0, fix,
		"pinRoot '%s' has no bpffs, and one mounted now would die with this "
		"process (a private mount namespace): every pod would get maps of its own",
		path);
}

int bpftc_fs_ensure(const char *path, struct cni_err *err)
{
	const size_t base_len = strlen(BPFTC_FS_DEFAULT);
	char anc[PATH_MAX];
	int r;

	if (path[0] != '/')
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL, "pin path '%s' is not absolute",
				   path);
	existing_ancestor(path, anc, sizeof(anc));
	if (!bpftc_is_bpffs(anc)) {
		if (!mount_outlives_us())
			return not_durable(path, anc, err);
		if (strncmp(path, BPFTC_FS_DEFAULT, base_len) == 0 &&
		    (path[base_len] == '/' || path[base_len] == '\0'))
			r = mount_bpffs(BPFTC_FS_DEFAULT, err);
		else
			r = mount_bpffs(path, err);
		if (r < 0)
			return r;
	}
	r = fs_mkdir_p(path, 0700);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_BPF, -r, "mkdir '%s'", path);
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

/* SPDX-License-Identifier: Apache-2.0 */
/* Network namespaces by path. The process is single-threaded, so setns() on the calling
 * thread switches the whole process; every switch is paired with a switch back. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/nsfs.h>

#include "common/cleanup.h"
#include "common/netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

int netns_open(const char *path, int *ret_fd, struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	int type;

	if (!path || !*path)
		return cni_err_set(err, CNI_ERR_NETNS, ENOENT, "failed to open netns: empty path");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "failed to open netns \"%s\"", path);
	if (fstatfs(fd, &sfs) < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "failed to open netns \"%s\"", path);
	if (sfs.f_type != NSFS_MAGIC)
		return cni_err_setd(err, CNI_ERR_NETNS, EINVAL, "not an nsfs file",
				    "failed to open netns \"%s\"", path);
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "failed to open netns \"%s\"", path);
	if (type != CLONE_NEWNET)
		return cni_err_setd(err, CNI_ERR_NETNS, EINVAL, "not a network namespace",
				    "failed to open netns \"%s\"", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* The current netns of this thread, to come back to. */
static int netns_self(struct cni_err *err)
{
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "open current netns");
	return fd;
}

int netns_exec(int nsfd, int (*fn)(void *arg, struct cni_err *err), void *arg, struct cni_err *err)
{
	_cleanup_close_ int self = -1;
	int r, r2;

	if (nsfd < 0)
		return fn(arg, err);
	self = netns_self(err);
	if (self < 0)
		return self;
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return cni_err_set(err, CNI_ERR_NETNS, errno, "enter netns");
	r = fn(arg, err);
	r2 = setns(self, CLONE_NEWNET);
	if (r2 < 0) {
		/* Staying in the wrong netns would silently act on the container: fail loudly. */
		r2 = -errno;
		if (r >= 0)
			return cni_err_set(err, CNI_ERR_NETNS, -r2, "return to the original netns");
	}
	return r;
}

struct sysctl_req {
	const char *key;
	int flags;
	int fd;
};

static int sysctl_open_cb(void *arg, struct cni_err *err)
{
	struct sysctl_req *q = arg;
	char path[256];

	/* /proc/sys/net resolves against the netns of the opener, so opening inside is enough. */
	if (snprintf(path, sizeof(path), "/proc/sys/%s", q->key) >= (int)sizeof(path))
		return cni_err_set(err, CNI_ERR_INTERNAL, ENAMETOOLONG, "sysctl %s", q->key);
	q->fd = open(path, q->flags | O_CLOEXEC);
	if (q->fd < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "open sysctl %s", q->key);
	return 0;
}

static int sysctl_open(int nsfd, const char *key, int flags, struct cni_err *err)
{
	struct sysctl_req q = {.key = key, .flags = flags, .fd = -1};
	int r;

	if (strstr(key, ".."))
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "sysctl %s: bad key", key);
	r = netns_exec(nsfd, sysctl_open_cb, &q, err);
	if (r < 0) {
		if (q.fd >= 0)
			close(q.fd);
		return r;
	}
	return q.fd;
}

static int sysctl_read_fd(int fd, const char *key, char *buf, size_t len, struct cni_err *err)
{
	ssize_t n;

	if (len == 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL, "read sysctl %s", key);
	n = pread(fd, buf, len - 1, 0);
	if (n < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "read sysctl %s", key);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int netns_sysctl_get(int nsfd, const char *key, char *buf, size_t len, struct cni_err *err)
{
	_cleanup_close_ int fd = sysctl_open(nsfd, key, O_RDONLY, err);

	if (fd < 0)
		return fd;
	return sysctl_read_fd(fd, key, buf, len, err);
}

int netns_sysctl_set(int nsfd, const char *key, const char *value, struct cni_err *err)
{
	_cleanup_close_ int fd = sysctl_open(nsfd, key, O_RDWR, err);
	char cur[64];
	size_t vlen = strlen(value);
	ssize_t n;

	if (fd < 0)
		return fd;
	/* Writing some sysctls has side effects even with the same value (forwarding resets
	 * per-device settings): write only when it differs. */
	if (sysctl_read_fd(fd, key, cur, sizeof(cur), NULL) >= 0 && strcmp(cur, value) == 0)
		return 0;
	n = pwrite(fd, value, vlen, 0);
	if (n < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "write sysctl %s=%s", key, value);
	if ((size_t)n != vlen)
		return cni_err_set(err, CNI_ERR_INTERNAL, EIO, "write sysctl %s=%s", key, value);
	return 0;
}

int netns_exec_path(const char *path, int (*fn)(void *arg, struct cni_err *err), void *arg,
		    struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (!path || !*path)
		return fn(arg, err);
	r = netns_open(path, &fd, err);
	if (r < 0)
		return r;
	return netns_exec(fd, fn, arg, err);
}

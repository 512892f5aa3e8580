/* SPDX-License-Identifier: Apache-2.0 */
/* flock(2) with a bounded wait: LOCK_NB polled with short, growing sleeps until a deadline on
 * CLOCK_MONOTONIC. Past the deadline the caller gets code 11 (try again later). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/lock.h"

#define LOCK_POLL_MIN_MS 1
#define LOCK_POLL_MAX_MS 50

int lock_timeout_ms(void)
{
	const char *s = getenv("WEFT_LOCK_TIMEOUT_MS");
	char *end = NULL;
	long v;

	if (!s || !*s)
		return LOCK_TIMEOUT_MS_DEFAULT;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX)
		return LOCK_TIMEOUT_MS_DEFAULT;
	return (int)v;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	/* An early wake-up (EINTR) only means one more poll. */
	nanosleep(&ts, NULL);
}

/* Takes the flock on fd within timeout_ms. */
static int lock_wait(int fd, const char *name, int timeout_ms, struct cni_err *err)
{
	long long deadline = now_ms() + timeout_ms;
	long nap = LOCK_POLL_MIN_MS;

	for (;;) {
		long long left;

		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return cni_err_set(err, CNI_ERR_IO, errno, "lock %s", name);
		left = deadline - now_ms();
		if (left <= 0)
			return cni_err_setd(err, CNI_ERR_TRY_AGAIN, EAGAIN,
					    "another process holds it; retry later",
					    "timed out after %d ms waiting for lock %s", timeout_ms,
					    name);
		sleep_ms(nap < left ? nap : (long)left);
		if (nap < LOCK_POLL_MAX_MS)
			nap *= 2;
	}
}

/* A lock opened relative to a directory is named "lock"; say which one, by its full path. */
static void lock_name_error(int fd, struct cni_err *err)
{
	char link[64], path[256];
	ssize_t n;

	if (!err || err->code != CNI_ERR_TRY_AGAIN)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	cni_err_add_details(err, "lock file %s", path);
}

int lock_acquire_at(int dirfd, const char *name, int timeout_ms, struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (timeout_ms < 0)
		timeout_ms = lock_timeout_ms();
	fd = openat(dirfd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IO, errno, "open lock %s", name);
	r = lock_wait(fd, name, timeout_ms, err);
	if (r < 0) {
		lock_name_error(fd, err);
		return r;
	}
	return TAKE_FD(fd);
}

int lock_acquire(const char *path, int timeout_ms, struct cni_err *err)
{
	return lock_acquire_at(AT_FDCWD, path, timeout_ms, err);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* flock(2) with a bounded wait: a blocking flock() that a one-shot timer interrupts at the
 * deadline. Past the deadline the caller gets code 11 (try again later). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/lock.h"

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

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static volatile sig_atomic_t alarm_fired;

static void on_alarm(int sig)
{
	(void)sig; /* interrupts the blocked flock() */
	alarm_fired = 1;
}

/* The deadline as a one-shot SIGALRM that interrupts a blocking flock(): a waiter is woken by
 * the kernel the moment the holder unlocks (a polling waiter would sleep past it: under
 * contention those naps, not the work, were the time). Restores the caller's handler, timer
 * and signal mask. */
struct alarm_save {
	struct sigaction sa;
	struct itimerval it;
	sigset_t mask;
};

static void alarm_arm(int timeout_ms, struct alarm_save *save)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: flock gets EINTR */
	struct itimerval it = {.it_value = {.tv_sec = timeout_ms / 1000,
					    .tv_usec = (timeout_ms % 1000) * 1000 + 1}};
	sigset_t alrm;

	alarm_fired = 0;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	sigaction(SIGALRM, &sa, &save->sa);
	sigprocmask(SIG_UNBLOCK, &alrm, &save->mask);
	setitimer(ITIMER_REAL, &it, &save->it);
}

static void alarm_disarm(const struct alarm_save *save)
{
	struct itimerval off = {0};

	setitimer(ITIMER_REAL, &off, NULL);
	sigprocmask(SIG_SETMASK, &save->mask, NULL);
	sigaction(SIGALRM, &save->sa, NULL);
	if (save->it.it_value.tv_sec || save->it.it_value.tv_usec)
		setitimer(ITIMER_REAL, &save->it, NULL);
}

/* WEFT_LOCK_TRACE=FILE: one line "<waited us> <lock>" per contended acquisition (make bench
 * reports the waits of concurrent ADDs and DELs from it). */
static void trace_wait(const char *name, long long waited_us)
{
	const char *path = getenv("WEFT_LOCK_TRACE");
	char line[320];
	int fd, n;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %s\n", waited_us, name);
	if (n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0; /* a trace, best effort */
	close(fd);
}

/* Takes the flock on fd within timeout_ms. */
static int lock_wait(int fd, const char *name, int timeout_ms, struct cni_err *err)
{
	long long t0, deadline;
	struct alarm_save save;
	int r;

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK && errno != EINTR)
		return cni_err_set(err, CNI_ERR_IO, errno, "lock %s", name);
	t0 = now_us();
	deadline = t0 + (long long)timeout_ms * 1000;
	if (timeout_ms == 0)
		r = -EWOULDBLOCK;
	else {
		alarm_arm(timeout_ms, &save);
		do /* another signal interrupts too: wait on until the deadline's */
			r = flock(fd, LOCK_EX) == 0 ? 0 : -errno;
		while (r == -EINTR && !alarm_fired && now_us() < deadline);
		alarm_disarm(&save);
	}
	trace_wait(name, now_us() - t0);
	if (r == -EINTR || r == -EWOULDBLOCK)
		return cni_err_setd(err, CNI_ERR_TRY_AGAIN, EAGAIN,
				    "another process holds it; retry later",
				    "timed out after %d ms waiting for lock %s", timeout_ms, name);
	return r < 0 ? cni_err_set(err, CNI_ERR_IO, -r, "lock %s", name) : 0;
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

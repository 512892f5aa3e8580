/* SPDX-License-Identifier: Apache-2.0 */
/* lock: a forked child holds the flock; a bounded wait fails with code 11 in about the bound,
 * and succeeds once the child lets go. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/lock.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/weft-lock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/lock", dir);
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s/link", dir);
	unlink(p);
	rmdir(dir);
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Child: take the lock, tell the parent, hold it until the parent closes the pipe. */
static pid_t holder_start(int *ret_release_fd)
{
	int ready[2], release[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(release, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = lock_acquire(path, 1000, NULL);

		close(ready[0]);
		close(release[1]);
		if (fd < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		(void)!read(release[0], &c, 1); /* EOF when the parent closes */
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*ret_release_fd = release[1];
	return pid;
}

static void holder_stop(pid_t pid, int release_fd)
{
	int status = -1;

	close(release_fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_uncontended(void **state)
{
	struct cni_err err = {0};
	struct stat st;
	int fd;

	(void)state;
	fd = lock_acquire(path, 0, &err);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
	/* released by close: a second taker gets it at once */
	fd = lock_acquire(path, 0, &err);
	assert_true(fd >= 0);
	close(fd);
}

static void test_timeout_is_code_11(void **state)
{
	struct cni_err err = {0};
	char want[256];
	long long t0, dt;
	int release, fd;
	pid_t pid;

	(void)state;
	pid = holder_start(&release);
	t0 = now_ms();
	fd = lock_acquire(path, 150, &err);
	dt = now_ms() - t0;
	assert_int_equal(fd, -EAGAIN);
	assert_int_equal(err.code, CNI_ERR_TRY_AGAIN);
	snprintf(want, sizeof(want), "timed out after 150 ms waiting for lock %s", path);
	assert_string_equal(err.msg, want);
	assert_true(dt >= 150 && dt < 1000);
	holder_stop(pid, release);
	fd = lock_acquire(path, 150, &err);
	assert_true(fd >= 0);
	close(fd);
}

/* The holder lets go while we wait: we get the lock after ~100 ms, well before the bound. A
 * helper process owns the release pipe's write end and drops it after 100 ms. */
static void test_wait_then_acquire(void **state)
{
	struct cni_err err = {0};
	int release, fd;
	long long t0, dt;
	pid_t pid, helper;

	(void)state;
	pid = holder_start(&release);
	helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		usleep(100000);
		_exit(0);
	}
	close(release);
	t0 = now_ms();
	fd = lock_acquire(path, 5000, &err);
	dt = now_ms() - t0;
	assert_true(fd >= 0);
	assert_true(dt >= 90 && dt < 2000);
	close(fd);
	assert_int_equal(waitpid(helper, NULL, 0), helper);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_env_timeout(void **state)
{
	struct cni_err err = {0};
	int release, fd;
	pid_t pid;

	(void)state;
	setenv("WEFT_LOCK_TIMEOUT_MS", "50", 1);
	assert_int_equal(lock_timeout_ms(), 50);
	pid = holder_start(&release);
	fd = lock_acquire(path, -1, &err);
	assert_int_equal(fd, -EAGAIN);
	assert_non_null(strstr(err.msg, "timed out after 50 ms"));
	holder_stop(pid, release);
	setenv("WEFT_LOCK_TIMEOUT_MS", "junk", 1);
	assert_int_equal(lock_timeout_ms(), LOCK_TIMEOUT_MS_DEFAULT);
	unsetenv("WEFT_LOCK_TIMEOUT_MS");
	assert_int_equal(lock_timeout_ms(), LOCK_TIMEOUT_MS_DEFAULT);
}

static void test_refuses_symlink(void **state)
{
	struct cni_err err = {0};
	char link[160];
	int dfd, fd;

	(void)state;
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	fd = lock_acquire(link, 0, &err);
	assert_int_equal(fd, -ELOOP);
	assert_int_equal(err.code, CNI_ERR_IO);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	fd = lock_acquire_at(dfd, "lock", 0, &err);
	assert_true(fd >= 0);
	close(fd);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_uncontended, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_is_code_11, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_then_acquire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_env_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_symlink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

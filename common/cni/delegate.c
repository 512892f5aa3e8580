/* SPDX-License-Identifier: Apache-2.0 */
/* Running another plugin (docs/cni-contract.md §1.8): lookup in CNI_PATH, posix_spawn
 * with stdin fed and stdout captured through pipes (no shell, every fd CLOEXEC, the child's
 * stderr is ours), and turning its answer into a result or a CNI error with its own code. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/delegate.h"
#include "common/log.h"

/* A delegate printing more than this on stdout is broken; it is killed. */
#define DELEGATE_OUT_MAX CNI_STDIN_MAX
/* libcni retries an exec that fails with "text file busy" (a binary being replaced). */
#define DELEGATE_ETXTBSY_TRIES	 6
#define DELEGATE_ETXTBSY_WAIT_US 200000

extern char **environ;

static bool is_exec_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	       faccessat(AT_FDCWD, p, X_OK, AT_EACCESS) == 0;
}

int cni_find_plugin(const char *path, const char *type, char *buf, size_t len, struct cni_err *err)
{
	const char *dir = path, *end;

	if (!type || !*type || strchr(type, '/') || strcmp(type, ".") == 0 ||
	    strcmp(type, "..") == 0)
		return cni_err_setd(err, CNI_ERR_CONFIG, EINVAL,
				    "a plugin type is a file name looked up in CNI_PATH",
				    "invalid plugin type \"%.64s\"", type ? type : "");
	if (!path || !*path)
		return cni_err_setd(err, CNI_ERR_ENV, ENOENT, "CNI_PATH is empty",
				    "failed to find plugin \"%.64s\"", type);
	for (; *dir; dir = *end ? end + 1 : end) {
		end = strchrnul(dir, ':');
		if (end == dir)
			continue;
		if ((size_t)snprintf(buf, len, "%.*s/%s", (int)(end - dir), dir, type) >= len)
			continue;
		if (is_exec_file(buf))
			return 0;
	}
	return cni_err_setd(err, CNI_ERR_CONFIG, ENOENT, "",
			    "failed to find plugin \"%.64s\" in "
			    "path [%.160s]",
			    type, path);
}

/* pipe2(O_CLOEXEC) with both ends above 2, so the child's dup2 onto 0/1 never collides. */
static int pipe_high(int fds[2], struct cni_err *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, errno, "pipe");
	for (int i = 0; i < 2; i++) {
		int fd;

		if (fds[i] > STDERR_FILENO)
			continue;
		fd = fcntl(fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
		close(fds[i]);
		fds[i] = fd;
	}
	if (fds[0] < 0 || fds[1] < 0) {
		int e = errno;

		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return cni_err_set(err, CNI_ERR_INTERNAL, e, "pipe");
	}
	return 0;
}

static int spawn_once(const char *path, char *const envp[], int in_fd, int out_fd, pid_t *ret)
{
	char *const argv[] = {(char *)path, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def, none;
	int r;

	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	r = posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	if (!r)
		r = posix_spawn_file_actions_adddup2(&fa, out_fd, STDOUT_FILENO);
	if (!r)
		r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	if (!r)
		r = posix_spawnattr_setsigdefault(&at, &def);
	if (!r)
		r = posix_spawnattr_setsigmask(&at, &none);
	if (!r)
		r = posix_spawn(ret, path, &fa, &at, argv, envp);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

static int spawn(const char *path, char *const envp[], int in_fd, int out_fd, pid_t *ret,
		 struct cni_err *err)
{
	int r = 0;

	for (int i = 0; i < DELEGATE_ETXTBSY_TRIES; i++) {
		if (i)
			usleep(DELEGATE_ETXTBSY_WAIT_US);
		r = spawn_once(path, envp, in_fd, out_fd, ret);
		if (r != ETXTBSY)
			break;
	}
	if (r)
		return cni_err_set(err, CNI_ERR_DELEGATE, r, "exec %s", path);
	return 0;
}

struct exec_io {
	int in_fd, out_fd; /* our ends; -1 once closed */
	const char *in;
	size_t in_len, in_off;
	char *out;
	size_t out_len, out_cap;
};

/* Writes what the pipe takes now. A child that exits without reading stdin (EPIPE) is not an
 * error here: its exit status tells. */
static int io_write(struct exec_io *io, struct cni_err *err)
{
	ssize_t n = write(io->in_fd, io->in + io->in_off, io->in_len - io->in_off);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0 && errno != EPIPE)
		return cni_err_set(err, CNI_ERR_IO, errno, "write plugin stdin");
	if (n > 0)
		io->in_off += (size_t)n;
	if (n < 0 || io->in_off == io->in_len) {
		close(io->in_fd);
		io->in_fd = -1;
	}
	return 0;
}

static int io_read(struct exec_io *io, struct cni_err *err)
{
	ssize_t n;

	if (io->out_cap - io->out_len < 4096) {
		size_t cap = io->out_cap ? io->out_cap * 2 : 8192;
		char *p;

		if (cap > DELEGATE_OUT_MAX + 1)
			cap = DELEGATE_OUT_MAX + 1;
		if (io->out_len >= DELEGATE_OUT_MAX)
			return cni_err_set(err, CNI_ERR_IO, EFBIG,
					   "plugin output larger than %u bytes", DELEGATE_OUT_MAX);
		p = realloc(io->out, cap + 1);
		if (!p)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "read plugin output");
		io->out = p;
		io->out_cap = cap;
	}
	n = read(io->out_fd, io->out + io->out_len, io->out_cap - io->out_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n < 0)
		return cni_err_set(err, CNI_ERR_IO, errno, "read plugin stdout");
	if (n == 0) {
		close(io->out_fd);
		io->out_fd = -1;
	}
	io->out_len += (size_t)n;
	return 0;
}

static int io_loop(struct exec_io *io, struct cni_err *err)
{
	while (io->in_fd >= 0 || io->out_fd >= 0) {
		struct pollfd pfd[2] = {{.fd = io->in_fd, .events = POLLOUT},
					{.fd = io->out_fd, .events = POLLIN}};
		int r = poll(pfd, 2, -1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, errno, "poll plugin pipes");
		if (io->in_fd >= 0 && pfd[0].revents) {
			r = io_write(io, err);
			if (r < 0)
				return r;
		}
		if (io->out_fd >= 0 && pfd[1].revents) {
			r = io_read(io, err);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static void io_close(struct exec_io *io)
{
	if (io->in_fd >= 0)
		close(io->in_fd);
	if (io->out_fd >= 0)
		close(io->out_fd);
	io->in_fd = io->out_fd = -1;
}

/* Feeds stdin, drains stdout, then reaps the child (killed first if we gave up on it). */
static int exec_run(pid_t pid, struct exec_io *io, int *ret_status, struct cni_err *err)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old;
	int r, status = 0;

	/* A child that exits without reading stdin must give us EPIPE, not kill us. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	r = io_loop(io, err);
	sigaction(SIGPIPE, &old, NULL);
	io_close(io);
	if (r < 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			if (r >= 0)
				r = cni_err_set(err, CNI_ERR_INTERNAL, errno, "wait for plugin");
			break;
		}
	}
	*ret_status = status;
	return r;
}

int cni_exec_capture(const char *plugin_path, char *const envp[], const char *in, size_t in_len,
		     char **ret_out, size_t *ret_out_len, int *ret_status, struct cni_err *err)
{
	int inp[2] = {-1, -1}, outp[2] = {-1, -1};
	struct exec_io io = {.in = in ? in : "", .in_len = in ? in_len : 0};
	pid_t pid;
	int r;

	r = pipe_high(inp, err);
	if (r >= 0 && (r = pipe_high(outp, err)) < 0)
		close(inp[0]), close(inp[1]);
	if (r < 0)
		return r;
	(void)fcntl(inp[1], F_SETFL, O_NONBLOCK);
	r = spawn(plugin_path, envp, inp[0], outp[1], &pid, err);
	close(inp[0]);
	close(outp[1]);
	io.in_fd = inp[1];
	io.out_fd = outp[0];
	if (r < 0) {
		io_close(&io);
		return r;
	}
	if (io.in_len == 0) {
		close(io.in_fd);
		io.in_fd = -1;
	}
	r = exec_run(pid, &io, ret_status, err);
	if (r >= 0 && !io.out && !(io.out = malloc(1)))
		r = cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "read plugin output");
	if (r < 0) {
		free(io.out);
		return r;
	}
	io.out[io.out_len] = '\0';
	*ret_out = io.out;
	*ret_out_len = io.out_len;
	return 0;
}

/* This process's environment with CNI_COMMAND replaced (the array only; strings borrowed). */
static char **env_with_command(char *cmd_env)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ && environ[n])
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CNI_COMMAND=", 12) != 0)
			envp[k++] = environ[i];
	envp[k] = cmd_env;
	return envp;
}

static void status_describe(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status %#x", (unsigned)status);
}

/* The delegate failed: its CNI error JSON keeps code, msg and details; anything else is
 * CNI_ERR_DELEGATE with the exit status. */
static int delegate_failed(const char *type, enum cni_cmd cmd, const char *out, size_t out_len,
			   int status, struct cni_err *err)
{
	_cleanup_json_ json_t *j = json_loadb(out, out_len, 0, NULL);
	const json_t *code = json_object_get(j, "code");
	const char *msg = json_string_value(json_object_get(j, "msg"));
	const char *details = json_string_value(json_object_get(j, "details"));
	char how[96];

	if (json_is_integer(code) && json_integer_value(code) > 0 &&
	    json_integer_value(code) < 1000000)
		return cni_err_setd(err, (enum cni_code)json_integer_value(code), 0, details, "%s",
				    msg && *msg ? msg : "(no message)");
	status_describe(status, how, sizeof(how));
	cni_err_setd(err, CNI_ERR_DELEGATE, 0, how, "plugin \"%.64s\" %s failed", type,
		     cni_cmd_name(cmd));
	while (out_len && (out[out_len - 1] == '\n' || out[out_len - 1] == ' '))
		out_len--;
	if (out_len)
		cni_err_add_details(err, "stdout: %.*s", (int)(out_len < 200 ? out_len : 200), out);
	return -EIO;
}

static int delegate_result(const char *type, const char *out, size_t out_len,
			   const char *default_version, struct cni_result *ret, struct cni_err *err)
{
	_cleanup_json_ json_t *j = NULL;
	json_error_t jerr;
	int r;

	if (out_len == 0)
		return cni_err_set(err, CNI_ERR_DECODE, 0, "plugin \"%.64s\" ADD printed no result",
				   type);
	j = json_loadb(out, out_len, 0, &jerr);
	if (!j)
		return cni_err_setd(err, CNI_ERR_DECODE, 0, jerr.text,
				    "plugin \"%.64s\" ADD printed invalid JSON", type);
	r = cni_result_decode(j, default_version, ret, err);
	if (r < 0)
		return cni_err_wrap(err, "result of plugin \"%.64s\"", type);
	return 0;
}

int cni_delegate(const struct cni_args *a, const char *type, enum cni_cmd cmd,
		 struct cni_result *ret_res, struct cni_err *err)
{
	_cleanup_free_ char **envp = NULL;
	_cleanup_free_ char *out = NULL;
	char path[PATH_MAX], cmd_env[32];
	size_t out_len = 0;
	int r, status = 0;

	r = cni_find_plugin(a->path, type, path, sizeof(path), err);
	if (r < 0)
		return r;
	snprintf(cmd_env, sizeof(cmd_env), "CNI_COMMAND=%s", cni_cmd_name(cmd));
	envp = env_with_command(cmd_env);
	if (!envp)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "delegate to %s", type);
	log_debug("delegating %s to %s", cni_cmd_name(cmd), path);
	r = cni_exec_capture(path, envp, a->stdin_data, a->stdin_len, &out, &out_len, &status, err);
	if (r < 0)
		return cni_err_wrap(err, "delegate %s to \"%.64s\"", cni_cmd_name(cmd), type);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return delegate_failed(type, cmd, out, out_len, status, err);
	if (cmd != CNI_CMD_ADD || !ret_res)
		return 0;
	return delegate_result(type, out, out_len, a->cni_version, ret_res, err);
}

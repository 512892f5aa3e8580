/* SPDX-License-Identifier: Apache-2.0 */
/* The invocation's environment (docs/cni-contract.md §1.2): CNI_* variables, their
 * validation (code 4), CNI_ARGS pairs, and reading stdin with a bound (code 5). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/skel-internal.h"
#include "common/utf8.h"

static const char *const cmd_names[] = {
	[CNI_CMD_ADD] = "ADD",	     [CNI_CMD_DEL] = "DEL", [CNI_CMD_CHECK] = "CHECK",
	[CNI_CMD_STATUS] = "STATUS", [CNI_CMD_GC] = "GC",   [CNI_CMD_VERSION] = "VERSION",
};

const char *cni_cmd_name(enum cni_cmd cmd)
{
	if ((size_t)cmd < ARRAY_SIZE(cmd_names))
		return cmd_names[cmd];
	return "UNKNOWN";
}

static bool cmd_parse(const char *s, enum cni_cmd *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(cmd_names); i++)
		if (strcmp(s, cmd_names[i]) == 0) {
			*ret = (enum cni_cmd)i;
			return true;
		}
	return false;
}

static bool id_char(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '_' || c == '.' || c == '-');
}

bool cni_valid_id(const char *s)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (!id_char(*p, p == s))
			return false;
	return true;
}

/* Length of the Unicode white space (Go's unicode.IsSpace) encoded in UTF-8 at s, else 0. */
static size_t utf8_space_len(const unsigned char *s)
{
	if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) /* U+1680 */
		return 3;
	if (s[0] == 0xe2 && s[1] == 0x80 &&
	    ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if ((s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) || /* U+205F */
	    (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80))   /* U+3000 */
		return 3;
	return 0;
}

/* Why ifname is invalid, or NULL. The texts are Go's (pkg/utils ValidateInterfaceName). */
static const char *ifname_problem(const char *s)
{
	if (!s || !*s)
		return "interface name is empty";
	if (strlen(s) > 15)
		return "interface name is too long";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "interface name is . or ..";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r') ||
		    utf8_space_len(p))
			return "interface name contains / or : or whitespace characters";
	return NULL;
}

bool cni_valid_ifname(const char *s)
{
	return ifname_problem(s) == NULL;
}

#define ON_ADC	 (1u << CNI_CMD_ADD | 1u << CNI_CMD_DEL | 1u << CNI_CMD_CHECK)
#define ON_PATH	 (ON_ADC | 1u << CNI_CMD_GC | 1u << CNI_CMD_STATUS)
#define ON_NETNS (1u << CNI_CMD_ADD | 1u << CNI_CMD_CHECK)

/* Go skel's table: which verb needs which variable (an empty value counts as missing). */
static const struct {
	const char *name;
	unsigned required;
	size_t off;
} env_vars[] = {
	{"CNI_CONTAINERID", ON_ADC, offsetof(struct cni_args, container_id)},
	{"CNI_NETNS", ON_NETNS, offsetof(struct cni_args, netns)},
	{"CNI_IFNAME", ON_ADC, offsetof(struct cni_args, ifname)},
	{"CNI_ARGS", 0, offsetof(struct cni_args, cni_args)},
	{"CNI_PATH", ON_PATH, offsetof(struct cni_args, path)},
};

/* Fills q->a's env fields and the comma-separated list of missing variables. */
static void env_collect(struct skel_req *q, const char *(*getenv_fn)(const char *), char *missing,
			size_t len)
{
	unsigned bit = q->cmd_known ? 1u << q->a.command : 0;

	for (size_t i = 0; i < ARRAY_SIZE(env_vars); i++) {
		const char *v = getenv_fn(env_vars[i].name);
		const char **field = (const char **)((char *)&q->a + env_vars[i].off);

		*field = v ? v : "";
		if (**field || !(env_vars[i].required & bit))
			continue;
		if (*missing)
			strncat(missing, ",", len - strlen(missing) - 1);
		strncat(missing, env_vars[i].name, len - strlen(missing) - 1);
	}
}

/* Step 1: CNI_COMMAND and the variables its verb needs; container ID and ifname rules. */
int skel_env_load(struct skel_req *q, const char *(*getenv_fn)(const char *), struct cni_err *err)
{
	char missing[128] = "";
	const char *why;

	q->cmd_str = getenv_fn("CNI_COMMAND");
	if (!q->cmd_str || !*q->cmd_str)
		return cni_err_set(err, CNI_ERR_ENV, 0,
				   "required env variables [CNI_COMMAND] missing");
	q->cmd_known = cmd_parse(q->cmd_str, &q->a.command);
	env_collect(q, getenv_fn, missing, sizeof(missing));
	if (*missing)
		return cni_err_set(err, CNI_ERR_ENV, 0, "required env variables [%s] missing",
				   missing);
	if (!q->cmd_known || !((1u << q->a.command) & ON_ADC))
		return 0;
	if (!cni_valid_id(q->a.container_id))
		return cni_err_setd(
			err, CNI_ERR_ENV, 0, "must match ^[a-zA-Z0-9][a-zA-Z0-9_.\\-]*$",
			"invalid characters in CNI_CONTAINERID \"%.128s\"", q->a.container_id);
	why = ifname_problem(q->a.ifname);
	/* The kernel takes any bytes, but ADD must echo the name in its result JSON: refuse it
	 * before anything is made. DEL still runs, so a runtime's cleanup never loops. */
	if (!why && q->a.command != CNI_CMD_DEL && !utf8_valid(q->a.ifname))
		why = "interface name is not valid UTF-8";
	if (why)
		return cni_err_setd(
			err, CNI_ERR_ENV, 0,
			"1 to 15 characters, not . or .., no / or : or whitespace, UTF-8",
			"invalid CNI_IFNAME \"%.32s\": %s", q->a.ifname, why);
	return 0;
}

/* ---- CNI_ARGS ------------------------------------------------------------------------------ */

static const char *const always_known[] = {
	"IgnoreUnknown", "K8S_POD_NAMESPACE", "K8S_POD_NAME", "K8S_POD_INFRA_CONTAINER_ID",
	"K8S_POD_UID",
};

static bool key_in(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; list && (n ? i < n : list[i] != NULL); i++)
		if (strcmp(key, list[i]) == 0)
			return true;
	return false;
}

/* IgnoreUnknown takes Go's UnmarshallableBool values. */
static int ignore_unknown_get(const struct cni_args *a, bool *ret, struct cni_err *err)
{
	const char *v = cni_args_get(a, "IgnoreUnknown");

	*ret = false;
	if (!v || strcmp(v, "0") == 0 || strcmp(v, "false") == 0 || strcmp(v, "False") == 0)
		return 0;
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "True") == 0) {
		*ret = true;
		return 0;
	}
	return cni_err_setd(err, CNI_ERR_ENV, 0, "use 1, true, True, 0, false or False",
			    "CNI_ARGS: invalid IgnoreUnknown value \"%.32s\"", v);
}

/* Splits "K1=V1;K2=V2" in place into q->kv. */
static int args_split(struct skel_req *q, struct cni_err *err)
{
	size_t n = 1;
	char *save = NULL, *pair;

	for (const char *p = q->args_buf; *p; p++)
		n += *p == ';';
	q->kv = calloc(n, sizeof(*q->kv));
	if (!q->kv)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "parse CNI_ARGS");
	q->a.kv = q->kv;
	/* strsep, not strtok: an empty pair ("a=b;;c=d") must be seen and refused. */
	for (save = q->args_buf; (pair = strsep(&save, ";")) != NULL;) {
		char *eq = strchr(pair, '=');

		if (!eq || eq == pair || strchr(eq + 1, '='))
			return cni_err_setd(err, CNI_ERR_ENV, 0, "CNI_ARGS is KEY=VALUE;KEY=VALUE",
					    "CNI_ARGS: invalid pair \"%.64s\"", pair);
		*eq = '\0';
		q->kv[q->a.n_kv++] = (struct cni_kv){.key = pair, .value = eq + 1};
	}
	return 0;
}

int skel_cni_args_parse(struct skel_req *q, const char *const *known, struct cni_err *err)
{
	bool ignore;
	int r;

	if (!*q->a.cni_args)
		return 0;
	q->args_buf = strdup(q->a.cni_args);
	if (!q->args_buf)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "parse CNI_ARGS");
	r = args_split(q, err);
	if (r >= 0)
		r = ignore_unknown_get(&q->a, &ignore, err);
	for (size_t i = 0; r >= 0 && !ignore && i < q->a.n_kv; i++) {
		const char *k = q->a.kv[i].key;

		if (!key_in(k, always_known, ARRAY_SIZE(always_known)) && !key_in(k, known, 0))
			r = cni_err_setd(err, CNI_ERR_ENV, 0,
					 "set IgnoreUnknown=1 in CNI_ARGS to ignore unknown keys",
					 "CNI_ARGS: unknown key \"%.64s\"", k);
	}
	return r;
}

const char *cni_args_get(const struct cni_args *a, const char *key)
{
	/* The last occurrence wins, as when Go's LoadArgs sets a field twice. */
	for (size_t i = a->n_kv; i-- > 0;)
		if (strcmp(a->kv[i].key, key) == 0)
			return a->kv[i].value;
	return NULL;
}

/* ---- stdin --------------------------------------------------------------------------------- */

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int r;

	if (timeout_ms < 0)
		return 0;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* The buffer starts small and doubles: a config is a few KiB, and a 4 MiB malloc is an mmap
 * whose munmap costs a TLB shootdown on every CPU the process ran on (an IPI each, and an exit
 * to the hypervisor in a VM), per invocation. */
#define STDIN_BUF_START (16u << 10)

static int stdin_grow(char **buf, size_t *cap, size_t len, size_t max)
{
	size_t want = *cap * 2 > max + 1 ? max + 1 : *cap * 2;
	char *p;

	if (len < *cap) /* room left; a full buffer of max + 1 bytes was refused already */
		return 0;
	p = realloc(*buf, want + 1); /* + 1: room for the terminating NUL at max + 1 */
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = want;
	return 0;
}

int skel_stdin_read(int fd, size_t max, int timeout_ms, char **ret, size_t *ret_len,
		    struct cni_err *err)
{
	size_t len = 0, cap = STDIN_BUF_START < max + 1 ? STDIN_BUF_START : max + 1;
	_cleanup_free_ char *buf = malloc(cap + 1);
	ssize_t n;
	int r;

	if (!buf)
		return cni_err_set(err, CNI_ERR_IO, ENOMEM, "error reading from stdin");
	for (;;) {
		r = wait_readable(fd, timeout_ms);
		if (r < 0)
			return r == -ETIMEDOUT ? r : cni_err_set(err, CNI_ERR_IO, -r, "poll stdin");
		if (stdin_grow(&buf, &cap, len, max) < 0)
			return cni_err_set(err, CNI_ERR_IO, ENOMEM, "error reading from stdin");
		/* Up to one byte past the bound, to tell "exactly max" from "too large". */
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cni_err_set(err, CNI_ERR_IO, errno, "error reading from stdin");
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return cni_err_set(err, CNI_ERR_IO, 0,
					   "error reading from stdin: larger than %zu bytes", max);
	}
	buf[len] = '\0';
	*ret_len = len;
	*ret = TAKE_PTR(buf);
	return 0;
}

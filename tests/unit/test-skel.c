/* SPDX-License-Identifier: Apache-2.0 */
/* skel: cni_plugin_run() driven with a fake environment and a fake plugin. The table holds the
 * skel cases of docs/cni-contract.md §7 (1-15, 48) plus ordering and output rules;
 * every row is its own cmocka test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/cni/skel.h"
#include "common/cni/skel-internal.h"

/* ---- fake environment: "K=V" sets, "K" unsets; the last entry for a key wins ------------- */

static const char *const *fake_env;

static const char *fake_getenv(const char *key)
{
	size_t n = 0, klen = strlen(key);

	while (fake_env && fake_env[n])
		n++;
	while (n-- > 0) {
		const char *e = fake_env[n];

		if (strncmp(e, key, klen) == 0 && (e[klen] == '=' || e[klen] == '\0'))
			return e[klen] == '=' ? e + klen + 1 : NULL;
	}
	return NULL;
}

/* ---- fake plugin: behaviour chosen by keys of the config --------------------------------- */

struct fake_conf {
	char *owned; /* allocated by parse: ASan catches a skel that skips conf_free */
	json_int_t fail;
};

static struct {
	int calls, parses, frees;
	char verb[16];
	char version[16];
	size_t n_kv, n_ips_prev, n_attach;
	bool has_attach, attach_ok;
	char ip_arg[32];
} rec;

static int fake_parse(const struct cni_args *a, void *c, struct cni_err *err)
{
	struct fake_conf *conf = c;

	rec.parses++;
	conf->owned = strdup("x");
	if (json_object_get(a->conf, "failParse"))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid \"failParse\": fake");
	conf->fail = json_integer_value(json_object_get(a->conf, "fail"));
	return 0;
}

static void fake_conf_free(void *c)
{
	struct fake_conf *conf = c;

	rec.frees++;
	free(conf->owned);
}

static int fake_verb(const struct cni_args *a, struct fake_conf *conf, struct cni_err *err)
{
	const char *ip = cni_args_get(a, "IP");

	rec.calls++;
	snprintf(rec.verb, sizeof(rec.verb), "%s", cni_cmd_name(a->command));
	snprintf(rec.version, sizeof(rec.version), "%s", a->cni_version);
	snprintf(rec.ip_arg, sizeof(rec.ip_arg), "%s", ip ? ip : "");
	rec.n_kv = a->n_kv;
	rec.n_ips_prev = a->prev_result ? a->prev_result->n_ips : 0;
	rec.has_attach = a->has_valid_attachments;
	rec.n_attach = a->n_valid_attachments;
	rec.attach_ok = cni_args_attachment_valid(a, "c1", "eth0") &&
			!cni_args_attachment_valid(a, "c1", "eth1");
	if (conf->fail > 0)
		return cni_err_setd(err, (enum cni_code)conf->fail, 0, "fake details",
				    "fake failure");
	if (conf->fail < 0)
		return -EIO; /* a plugin that forgot to set err */
	return 0;
}

static int fake_add(const struct cni_args *a, void *c, struct cni_result *res, struct cni_err *err)
{
	struct inet_prefix ip, dflt;
	struct inet_addr gw;
	int r = fake_verb(a, c, err);

	if (r < 0 || json_object_get(a->conf, "noIPs"))
		return r;
	assert_int_equal(inet_prefix_parse("10.1.2.3/24", &ip), 0);
	assert_int_equal(inet_prefix_parse("0.0.0.0/0", &dflt), 0);
	assert_int_equal(inet_addr_parse("10.1.2.1", &gw), 0);
	assert_int_equal(cni_result_add_iface(res, a->ifname, "02:00:00:00:00:01", a->netns, err),
			 0);
	assert_int_equal(cni_result_add_ip(res, &ip, &gw, 0, err), 0);
	assert_int_equal(cni_result_add_route(res, &dflt, &gw, err), 0);
	return 0;
}

static int fake_other(const struct cni_args *a, void *c, struct cni_err *err)
{
	return fake_verb(a, c, err);
}

static const char *const fake_known_args[] = {"IP", NULL};

static const struct cni_plugin fake_plugin = {
	.name = "fake",
	.conf_size = sizeof(struct fake_conf),
	.known_args = fake_known_args,
	.parse = fake_parse,
	.conf_free = fake_conf_free,
	.add = fake_add,
	.del = fake_other,
	.check = fake_other,
	.gc = fake_other,
	/* .status left NULL: a successful no-op */
};

/* ---- the table ------------------------------------------------------------------------------ */

#define E_ADD                                                                                      \
	"CNI_COMMAND=ADD", "CNI_CONTAINERID=ctr1", "CNI_NETNS=/run/netns/x", "CNI_IFNAME=eth0",    \
		"CNI_PATH=/opt/cni/bin"
#define E_CMD(c) E_ADD, "CNI_COMMAND=" c
/* What libcni sends for GC and STATUS: the per-attachment variables set but empty. */
#define E_LIBCNI(c)                                                                                \
	"CNI_COMMAND=" c, "CNI_CONTAINERID=", "CNI_NETNS=", "CNI_IFNAME=", "CNI_ARGS=",            \
		"CNI_PATH=/opt/cni/bin"
#define CONF(v)	     "{\"cniVersion\":\"" v "\",\"name\":\"net1\",\"type\":\"fake\"}"
#define CONFX(v, x)  "{\"cniVersion\":\"" v "\",\"name\":\"net1\",\"type\":\"fake\"," x "}"
#define ALL_VERSIONS "[\"0.1.0\",\"0.2.0\",\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]"

struct skel_case {
	const char *name;
	const char *env[16];
	const char *in;
	int code;	     /* expected error code; 0 = success */
	const char *msg;     /* error: exact msg; success: substring of stdout ("" = no output) */
	const char *details; /* error: substring of details */
	const char *verb;    /* verb the plugin saw, NULL = not called */
};

static const struct skel_case cases[] = {
	/* §7 1-3: VERSION */
	{.name = "01 VERSION with no other env and empty stdin",
	 .env = {"CNI_COMMAND=VERSION"},
	 .in = "",
	 .msg = "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":" ALL_VERSIONS "}\n"},
	{.name = "02 VERSION echoes stdin's cniVersion",
	 .env = {"CNI_COMMAND=VERSION"},
	 .in = "{\"cniVersion\":\"0.4.0\"}",
	 .msg = "{\"cniVersion\":\"0.4.0\",\"supportedVersions\":" ALL_VERSIONS "}\n"},
	{.name = "03 VERSION with garbage stdin",
	 .env = {"CNI_COMMAND=VERSION"},
	 .in = "\x01not json{",
	 .msg = "\"cniVersion\":\"1.1.0\""},
	{.name = "03 VERSION as podman/containerd call it",
	 .env = {"CNI_COMMAND=VERSION", "CNI_CONTAINERID=", "CNI_NETNS=dummy", "CNI_IFNAME=dummy",
		 "CNI_PATH=dummy"},
	 .in = "{\"cniVersion\":\"1.1.0\"}",
	 .msg = "\"supportedVersions\":" ALL_VERSIONS},
	{.name = "03 VERSION ignores an invalid ifname",
	 .env = {"CNI_COMMAND=VERSION", "CNI_IFNAME=a/b"},
	 .in = "",
	 .msg = "\"cniVersion\":\"1.1.0\""},
	/* §7 4-10: environment. A plugin process without CNI_COMMAND prints its about text and
	 * exits 0 (cni_plugin_main: tests/conformance/skel.bats, test-version.c); the library
	 * entry tested here answers code 4. */
	{.name = "04 library entry: CNI_COMMAND unset is code 4",
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_COMMAND] missing"},
	{.name = "04 library entry: CNI_COMMAND empty is code 4",
	 .env = {E_CMD("")},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_COMMAND] missing"},
	{.name = "05 unknown CNI_COMMAND",
	 .env = {E_CMD("FOO")},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "unknown CNI_COMMAND: FOO"},
	{.name = "05 CNI_COMMAND is case-sensitive",
	 .env = {E_CMD("add")},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "unknown CNI_COMMAND: add"},
	{.name = "06 ADD without CNI_CONTAINERID",
	 .env = {E_ADD, "CNI_CONTAINERID"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_CONTAINERID] missing"},
	{.name = "06 DEL without CNI_CONTAINERID",
	 .env = {E_CMD("DEL"), "CNI_CONTAINERID"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_CONTAINERID] missing"},
	{.name = "06 CHECK without CNI_CONTAINERID",
	 .env = {E_CMD("CHECK"), "CNI_CONTAINERID="},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_CONTAINERID] missing"},
	{.name = "06 ADD with nothing but CNI_COMMAND",
	 .env = {"CNI_COMMAND=ADD"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing"},
	{.name = "07 invalid container ID",
	 .env = {E_ADD, "CNI_CONTAINERID=-bad/id"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid characters in CNI_CONTAINERID \"-bad/id\"",
	 .details = "^[a-zA-Z0-9]"},
	{.name = "07 container ID with a space",
	 .env = {E_CMD("DEL"), "CNI_CONTAINERID=a b"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid characters in CNI_CONTAINERID \"a b\""},
	{.name = "08 ADD without CNI_NETNS",
	 .env = {E_ADD, "CNI_NETNS"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_NETNS] missing"},
	{.name = "08 CHECK without CNI_NETNS",
	 .env = {E_CMD("CHECK"), "CNI_NETNS"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_NETNS] missing"},
	{.name = "08 DEL without CNI_NETNS succeeds",
	 .env = {E_CMD("DEL"), "CNI_NETNS"},
	 .in = CONF("1.0.0"),
	 .msg = "",
	 .verb = "DEL"},
	{.name = "09 ADD without CNI_IFNAME",
	 .env = {E_ADD, "CNI_IFNAME"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_IFNAME] missing"},
	{.name = "09 ifname of 16 characters",
	 .env = {E_ADD, "CNI_IFNAME=abcdefghijklmnop"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"abcdefghijklmnop\": interface name is too long"},
	{.name = "09 ifname of 15 characters is fine",
	 .env = {E_ADD, "CNI_IFNAME=abcdefghijklmno"},
	 .in = CONF("1.0.0"),
	 .msg = "\"name\": \"abcdefghijklmno\"",
	 .verb = "ADD"},
	{.name = "09 ifname .",
	 .env = {E_ADD, "CNI_IFNAME=."},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \".\": interface name is . or .."},
	{.name = "09 ifname ..",
	 .env = {E_ADD, "CNI_IFNAME=.."},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"..\": interface name is . or .."},
	{.name = "09 ifname with /",
	 .env = {E_ADD, "CNI_IFNAME=a/b"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"a/b\": interface name contains / or : or whitespace "
		"characters"},
	{.name = "09 ifname with :",
	 .env = {E_CMD("DEL"), "CNI_IFNAME=eth0:1"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"eth0:1\": interface name contains / or : or whitespace "
		"characters"},
	{.name = "09 ifname with a space",
	 .env = {E_ADD, "CNI_IFNAME=a b"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"a b\": interface name contains / or : or whitespace "
		"characters"},
	{.name = "09 ifname with a tab",
	 .env = {E_ADD, "CNI_IFNAME=a\tb"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"a\tb\": interface name contains / or : or whitespace "
		"characters"},
	{.name = "09 ifname with U+00A0",
	 .env = {E_ADD, "CNI_IFNAME=a\xc2\xa0"
			"b"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "invalid CNI_IFNAME \"a\xc2\xa0"
		"b\": interface name contains / or : or whitespace "
		"characters"},
	{.name = "10 GC without CNI_PATH",
	 .env = {E_LIBCNI("GC"), "CNI_PATH"},
	 .in = CONF("1.1.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_PATH] missing"},
	{.name = "10 STATUS without CNI_PATH",
	 .env = {E_LIBCNI("STATUS"), "CNI_PATH"},
	 .in = CONF("1.1.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_PATH] missing"},
	{.name = "10 ADD without CNI_PATH",
	 .env = {E_ADD, "CNI_PATH"},
	 .in = CONF("1.1.0"),
	 .code = 4,
	 .msg = "required env variables [CNI_PATH] missing"},
	{.name = "10 env errors come before stdin errors",
	 .env = {E_ADD, "CNI_NETNS"},
	 .in = "garbage",
	 .code = 4,
	 .msg = "required env variables [CNI_NETNS] missing"},
	/* §7 11: stdin */
	{.name = "11 empty stdin",
	 .env = {E_ADD},
	 .in = "",
	 .code = 6,
	 .msg = "error parsing network config from stdin (line 1, "
		"column 0)",
	 .details = "expected near end of file"},
	{.name = "11 non-JSON stdin", .env = {E_ADD}, .in = "{\"name\":", .code = 6, .msg = NULL},
	{.name = "11 JSON that is not an object",
	 .env = {E_ADD},
	 .in = "[1,2]",
	 .code = 6,
	 .msg = "error parsing network config from stdin: not a JSON object"},
	{.name = "11 missing name",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":\"1.0.0\",\"type\":\"fake\"}",
	 .code = 7,
	 .msg = "missing network name"},
	{.name = "11 empty name",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":\"1.0.0\",\"name\":\"\"}",
	 .code = 7,
	 .msg = "missing network name"},
	{.name = "11 name with a space",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":\"1.0.0\",\"name\":\"a b\"}",
	 .code = 7,
	 .msg = "invalid characters found in network name",
	 .details = "a b"},
	{.name = "11 name that is not a string",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":\"1.0.0\",\"name\":42}",
	 .code = 6,
	 .msg = "error parsing network config from stdin: \"name\" must be a string"},
	{.name = "11 JSON errors come before an unknown command",
	 .env = {E_CMD("FOO")},
	 .in = "nope",
	 .code = 6,
	 .msg = NULL},
	{.name = "11 name errors come before version errors",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":\"9.9.9\",\"name\":\"a/b\"}",
	 .code = 7,
	 .msg = "invalid characters found in network name"},
	/* §7 12-13: versions */
	{.name = "12 ADD with an unsupported version",
	 .env = {E_ADD},
	 .in = CONF("9.9.9"),
	 .code = 1,
	 .msg = "incompatible CNI versions",
	 .details = "config is \"9.9.9\", plugin supports [\"0.1.0\" \"0.2.0\" \"0.3.0\" \"0.3.1\" "
		    "\"0.4.0\" "
		    "\"1.0.0\" \"1.1.0\"]"},
	{.name = "12 DEL with an unsupported version",
	 .env = {E_CMD("DEL")},
	 .in = CONF("0.5.0"),
	 .code = 1,
	 .msg = "incompatible CNI versions",
	 .details = "config is \"0.5.0\""},
	{.name = "12 ADD with a two-part version",
	 .env = {E_ADD},
	 .in = CONF("1.0"),
	 .code = 1,
	 .msg = "incompatible CNI versions"},
	{.name = "12 malformed cniVersion",
	 .env = {E_ADD},
	 .in = CONF("abc"),
	 .code = 6,
	 .msg = "invalid cniVersion \"abc\""},
	{.name = "12 cniVersion that is not a string",
	 .env = {E_ADD},
	 .in = "{\"cniVersion\":1,\"name\":\"net1\"}",
	 .code = 6,
	 .msg = "decoding version from network config: \"cniVersion\" must be a string"},
	{.name = "12 missing cniVersion means 0.1.0",
	 .env = {E_ADD},
	 .in = "{\"name\":\"net1\",\"type\":\"fake\"}",
	 .msg = "\"cniVersion\": \"0.1.0\",\n    \"ip4\": {",
	 .verb = "ADD"},
	{.name = "12 empty cniVersion means 0.1.0",
	 .env = {E_ADD},
	 .in = CONF(""),
	 .msg = "\"ip4\"",
	 .verb = "ADD"},
	{.name = "13 CHECK with 0.3.1",
	 .env = {E_CMD("CHECK")},
	 .in = CONF("0.3.1"),
	 .code = 1,
	 .msg = "config version does not allow CHECK"},
	{.name = "13 CHECK without cniVersion",
	 .env = {E_CMD("CHECK")},
	 .in = "{\"name\":\"n\"}",
	 .code = 1,
	 .msg = "config version does not allow CHECK"},
	{.name = "13 CHECK with 0.4.0",
	 .env = {E_CMD("CHECK")},
	 .in = CONF("0.4.0"),
	 .msg = "",
	 .verb = "CHECK"},
	{.name = "13 GC with 1.0.0",
	 .env = {E_LIBCNI("GC")},
	 .in = CONF("1.0.0"),
	 .code = 1,
	 .msg = "config version does not allow GC"},
	{.name = "13 STATUS with 1.0.0",
	 .env = {E_LIBCNI("STATUS")},
	 .in = CONF("1.0.0"),
	 .code = 1,
	 .msg = "config version does not allow STATUS"},
	{.name = "13 GC with 9.9.9",
	 .env = {E_LIBCNI("GC")},
	 .in = CONF("9.9.9"),
	 .code = 1,
	 .msg = "incompatible CNI versions"},
	/* §7 15: CNI_ARGS */
	{.name = "15 containerd's CNI_ARGS",
	 .env = {E_ADD, "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAME=x;K8S_POD_NAMESPACE=y;"
			"K8S_POD_INFRA_CONTAINER_ID=z;K8S_POD_UID=u"},
	 .in = CONF("1.0.0"),
	 .msg = "\"ips\"",
	 .verb = "ADD"},
	{.name = "15 K8S_ keys need no IgnoreUnknown",
	 .env = {E_ADD, "CNI_ARGS=K8S_POD_NAME=x;IP=10.1.2.9"},
	 .in = CONF("1.0.0"),
	 .msg = "\"ips\"",
	 .verb = "ADD"},
	{.name = "15 unknown key",
	 .env = {E_ADD, "CNI_ARGS=FOO=bar"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: unknown key \"FOO\"",
	 .details = "IgnoreUnknown=1"},
	{.name = "15 unknown key with IgnoreUnknown=true",
	 .env = {E_ADD, "CNI_ARGS=FOO=bar;IgnoreUnknown=true"},
	 .in = CONF("1.0.0"),
	 .msg = "\"ips\"",
	 .verb = "ADD"},
	{.name = "15 unknown key with IgnoreUnknown=0",
	 .env = {E_ADD, "CNI_ARGS=IgnoreUnknown=0;FOO=bar"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: unknown key \"FOO\""},
	{.name = "15 IgnoreUnknown that is not a boolean",
	 .env = {E_ADD, "CNI_ARGS=IgnoreUnknown=yes"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: invalid IgnoreUnknown value \"yes\""},
	{.name = "15 pair without =",
	 .env = {E_ADD, "CNI_ARGS=IgnoreUnknown=1;FOO"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: invalid pair \"FOO\""},
	{.name = "15 pair with two =",
	 .env = {E_ADD, "CNI_ARGS=IP=a=b"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: invalid pair \"IP=a=b\""},
	{.name = "15 empty pair",
	 .env = {E_ADD, "CNI_ARGS=IP=1;;K8S_POD_NAME=x"},
	 .in = CONF("1.0.0"),
	 .code = 4,
	 .msg = "CNI_ARGS: invalid pair \"\""},
	{.name = "15 CNI_ARGS is not checked on VERSION",
	 .env = {"CNI_COMMAND=VERSION", "CNI_ARGS=junk"},
	 .in = "",
	 .msg = "supportedVersions"},
	/* §7 48: GC and STATUS with libcni's empty per-attachment variables */
	{.name = "48 GC with empty CNI_CONTAINERID/NETNS/IFNAME",
	 .env = {E_LIBCNI("GC")},
	 .in = CONF("1.1.0"),
	 .msg = "",
	 .verb = "GC"},
	{.name = "48 STATUS with a NULL verb is a silent success",
	 .env = {E_LIBCNI("STATUS")},
	 .in = CONF("1.1.0"),
	 .msg = ""},
	{.name = "48 GC with a bogus container ID that it does not use",
	 .env = {E_LIBCNI("GC"), "CNI_CONTAINERID=-x"},
	 .in = CONF("1.1.0"),
	 .msg = "",
	 .verb = "GC"},
	/* prevResult, GC attachments */
	{.name = "prevResult that is not an object",
	 .env = {E_ADD},
	 .in = CONFX("1.0.0", "\"prevResult\":[]"),
	 .code = 6,
	 .msg = "prevResult: a CNI result must be a JSON object"},
	{.name = "prevResult with a bad address",
	 .env = {E_ADD},
	 .in = CONFX("1.0.0", "\"prevResult\":{\"ips\":[{\"address\":\"10.0.0.300/24\"}]}"),
	 .code = 6,
	 .msg = "prevResult: ips[0].address: \"10.0.0.300/24\" is not an address/prefix-length"},
	{.name = "GC attachments not a list",
	 .env = {E_LIBCNI("GC")},
	 .in = CONFX("1.1.0", "\"cni.dev/valid-attachments\":{}"),
	 .code = 6,
	 .msg = "\"cni.dev/valid-attachments\" must be an array"},
	{.name = "GC attachment of the wrong type",
	 .env = {E_LIBCNI("GC")},
	 .in = CONFX("1.1.0",
		     "\"cni.dev/valid-attachments\":[{\"containerID\":1,\"ifname\":\"e\"}]"),
	 .code = 6,
	 .msg = "cni.dev/valid-attachments[0]: bad shape"},
	{.name = "GC attachment without ifname",
	 .env = {E_LIBCNI("GC")},
	 .in = CONFX("1.1.0", "\"cni.dev/attachments\":[{\"containerID\":\"c1\"}]"),
	 .code = 7,
	 .msg = "cni.dev/attachments[0]: \"containerID\" and \"ifname\" are required"},
	/* §7 14 + plugin outcomes */
	{.name = "14 plugin error keeps its code",
	 .env = {E_CMD("DEL")},
	 .in = CONFX("1.0.0", "\"fail\":11"),
	 .code = 11,
	 .msg = "fake failure",
	 .details = "fake details",
	 .verb = "DEL"},
	{.name = "14 plugin error without a code is 100",
	 .env = {E_CMD("DEL")},
	 .in = CONFX("1.0.0", "\"fail\":-1"),
	 .code = 100,
	 .msg = "fake DEL failed",
	 .details = "Input/output error",
	 .verb = "DEL"},
	{.name = "14 parse error stops before the verb",
	 .env = {E_ADD},
	 .in = CONFX("1.0.0", "\"failParse\":true"),
	 .code = 7,
	 .msg = "invalid \"failParse\": fake"},
	{.name = "17 0.2.0 ADD without IPs cannot be converted",
	 .env = {E_ADD},
	 .in = CONFX("0.2.0", "\"noIPs\":true"),
	 .code = 100,
	 .msg = "cannot convert: no valid IP addresses",
	 .verb = "ADD"},
	{.name = "16 ADD result in 0.4.0",
	 .env = {E_ADD},
	 .in = CONF("0.4.0"),
	 .msg = "\"version\": \"4\",\n            \"interface\": 0,\n            \"address\": "
		"\"10.1.2.3/24\"",
	 .verb = "ADD"},
	{.name = "16 ADD result in 1.1.0",
	 .env = {E_ADD},
	 .in = CONF("1.1.0"),
	 .msg = "\"sandbox\": \"/run/netns/x\"",
	 .verb = "ADD"},
};

/* ---- running a case ----------------------------------------------------------------------- */

static int run(const char *in, size_t in_len, char **ret_out)
{
	size_t len = 0;
	FILE *f;
	int status;

	*ret_out = NULL;
	f = open_memstream(ret_out, &len);
	assert_non_null(f);
	status = cni_plugin_run(&fake_plugin, fake_getenv, in, in_len, f);
	fclose(f);
	return status;
}

static void check_error(const struct skel_case *c, const char *out)
{
	_cleanup_json_ json_t *j = json_loads(out, 0, NULL);
	const char *details;

	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "code")), c->code);
	if (c->msg)
		assert_string_equal(json_string_value(json_object_get(j, "msg")), c->msg);
	details = json_string_value(json_object_get(j, "details"));
	if (c->details)
		assert_non_null(strstr(details ? details : "", c->details));
	/* exactly one line of JSON */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
}

static void check_success(const struct skel_case *c, const char *out)
{
	if (c->msg && !*c->msg)
		assert_string_equal(out, "");
	else if (c->msg)
		assert_non_null(strstr(out, c->msg));
	if (*out) { /* one JSON document and one trailing newline */
		_cleanup_json_ json_t *j = json_loads(out, 0, NULL);

		assert_non_null(j);
		assert_int_equal(out[strlen(out) - 1], '\n');
		assert_int_not_equal(out[strlen(out) - 2], '\n');
	}
}

static void test_case(void **state)
{
	const struct skel_case *c = *state;
	_cleanup_free_ char *out = NULL;
	int status;

	memset(&rec, 0, sizeof(rec));
	fake_env = c->env;
	status = run(c->in, strlen(c->in), &out);
	if (status != (c->code ? 1 : 0) || (c->code && !strstr(out, "\"code\"")))
		print_message("unexpected stdout: %s", out);
	assert_int_equal(status, c->code ? 1 : 0);
	if (c->code)
		check_error(c, out);
	else
		check_success(c, out);
	if (c->verb)
		assert_string_equal(rec.verb, c->verb);
	else
		assert_int_equal(rec.calls, 0);
	assert_int_equal(rec.parses, rec.frees);
}

/* ---- cases that look at more than the output -------------------------------------------- */

static void test_stdin_bound(void **state)
{
	static const char *const env[] = {E_ADD, NULL};
	_cleanup_free_ char *big = malloc(CNI_STDIN_MAX + 1), *out = NULL;

	(void)state;
	assert_non_null(big);
	memset(big, ' ', CNI_STDIN_MAX + 1);
	fake_env = env;
	assert_int_equal(run(big, CNI_STDIN_MAX + 1, &out), 1);
	assert_non_null(strstr(out, "\"code\":5"));
	assert_non_null(strstr(out, "larger than 4194304 bytes"));
}

/* The read path of a real stdin (a file here): the buffer grows past its start, the bound is
 * exact (max bytes read, max + 1 refused) also when max is below the starting size. */
static int read_fd(size_t len, size_t max, char **ret, size_t *ret_len, struct cni_err *err)
{
	_cleanup_close_ int fd = memfd_create("stdin", MFD_CLOEXEC);
	_cleanup_free_ char *data = malloc(len + 1);

	assert_true(fd >= 0);
	assert_non_null(data);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 26);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return skel_stdin_read(fd, max, -1, ret, ret_len, err);
}

static void test_stdin_read_grows(void **state)
{
	static const size_t sizes[][2] = {{0, 100},	    {100, 100},	      {101, 100},
					  {300000, 300000}, {300001, 300000}, {16384, 1 << 20},
					  {16385, 1 << 20}, {200000, 1 << 20}};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t len = sizes[i][0], max = sizes[i][1], got = 0;
		struct cni_err err = {0};
		char *buf = NULL;
		int r = read_fd(len, max, &buf, &got, &err);

		if (len > max) {
			assert_true(r < 0);
			assert_int_equal(err.code, CNI_ERR_IO);
			assert_non_null(strstr(err.msg, "larger than"));
			assert_null(buf);
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(got, len);
		assert_int_equal(buf[len], '\0');
		for (size_t k = 0; k < len; k++)
			if (buf[k] != (char)('a' + k % 26))
				fail_msg("byte %zu of %zu differs", k, len);
		free(buf);
	}
}

static void test_error_carries_version(void **state)
{
	static const char *const env[] = {E_CMD("DEL"), NULL};
	const char *in = CONFX("0.4.0", "\"fail\":11");
	_cleanup_free_ char *out = NULL;

	(void)state;
	fake_env = env;
	assert_int_equal(run(in, strlen(in), &out), 1);
	assert_string_equal(out, "{\"cniVersion\":\"0.4.0\",\"code\":11,\"msg\":\"fake failure\","
				 "\"details\":\"fake details\"}\n");
}

static void test_args_reach_plugin(void **state)
{
	static const char *const env[] = {E_ADD, "CNI_ARGS=K8S_POD_NAME=x;IP=10.1.2.9;IP=10.1.2.8",
					  NULL};
	const char *in = CONFX("1.0.0", "\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":["
					"{\"address\":\"10.9.0.2/16\"}]}");
	_cleanup_free_ char *out = NULL;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	fake_env = env;
	assert_int_equal(run(in, strlen(in), &out), 0);
	assert_int_equal(rec.n_kv, 3);
	assert_string_equal(rec.ip_arg, "10.1.2.8"); /* the last one wins */
	assert_int_equal(rec.n_ips_prev, 1);
	assert_string_equal(rec.version, "1.0.0");
}

static void test_gc_attachments(void **state)
{
	static const char *const env[] = {E_LIBCNI("GC"), NULL};
	const char *valid = CONFX("1.1.0", "\"cni.dev/valid-attachments\":[{\"containerID\":\"c1\","
					   "\"ifname\":\"eth0\"},{\"containerID\":\"c2\","
					   "\"ifname\":\"eth0\"}]");
	const char *legacy = CONFX("1.1.0", "\"cni.dev/attachments\":[{\"containerID\":\"c1\","
					    "\"ifname\":\"eth0\"}]");
	const char *none = CONF("1.1.0");
	char *out = NULL;

	(void)state;
	fake_env = env;
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(run(valid, strlen(valid), &out), 0);
	free(out);
	assert_true(rec.has_attach && rec.attach_ok);
	assert_int_equal(rec.n_attach, 2);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(run(legacy, strlen(legacy), &out), 0);
	free(out);
	assert_true(rec.has_attach && rec.attach_ok);
	assert_int_equal(rec.n_attach, 1);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(run(none, strlen(none), &out), 0);
	free(out);
	assert_false(rec.has_attach);
	assert_int_equal(rec.n_attach, 0);
}

static void test_add_output_exact(void **state)
{
	static const char *const env[] = {E_ADD, NULL};
	const char *in = CONF("1.0.0");
	_cleanup_free_ char *out = NULL;

	(void)state;
	fake_env = env;
	assert_int_equal(run(in, strlen(in), &out), 0);
	assert_string_equal(out, "{\n"
				 "    \"cniVersion\": \"1.0.0\",\n"
				 "    \"interfaces\": [\n"
				 "        {\n"
				 "            \"name\": \"eth0\",\n"
				 "            \"mac\": \"02:00:00:00:00:01\",\n"
				 "            \"sandbox\": \"/run/netns/x\"\n"
				 "        }\n"
				 "    ],\n"
				 "    \"ips\": [\n"
				 "        {\n"
				 "            \"interface\": 0,\n"
				 "            \"address\": \"10.1.2.3/24\",\n"
				 "            \"gateway\": \"10.1.2.1\"\n"
				 "        }\n"
				 "    ],\n"
				 "    \"routes\": [\n"
				 "        {\n"
				 "            \"dst\": \"0.0.0.0/0\",\n"
				 "            \"gw\": \"10.1.2.1\"\n"
				 "        }\n"
				 "    ]\n"
				 "}\n");
}

static void test_valid_helpers(void **state)
{
	(void)state;
	assert_true(cni_valid_id("a"));
	assert_true(cni_valid_id("0abc_def.g-h"));
	assert_false(cni_valid_id(""));
	assert_false(cni_valid_id("_a"));
	assert_false(cni_valid_id(".a"));
	assert_false(cni_valid_id("a/b"));
	assert_false(cni_valid_id("a:b"));
	assert_true(cni_valid_ifname("eth0"));
	assert_true(cni_valid_ifname("a.b-c_d@e"));
	assert_false(cni_valid_ifname(""));
	assert_false(cni_valid_ifname("a\xe3\x80\x80")); /* U+3000 */
	assert_true(cni_valid_ifname("a\xe3\x80\x81"));	 /* U+3001 is not a space */
	assert_string_equal(cni_cmd_name(CNI_CMD_GC), "GC");
	assert_string_equal(cni_cmd_name(CNI_CMD_VERSION), "VERSION");
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(test_stdin_bound),
		cmocka_unit_test(test_stdin_read_grows),
		cmocka_unit_test(test_error_carries_version),
		cmocka_unit_test(test_args_reach_plugin),
		cmocka_unit_test(test_gc_attachments),
		cmocka_unit_test(test_add_output_exact),
		cmocka_unit_test(test_valid_helpers),
	};
	struct CMUnitTest tests[ARRAY_SIZE(cases) + ARRAY_SIZE(extra)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		tests[n++] = (struct CMUnitTest){.name = cases[i].name,
						 .test_func = test_case,
						 .initial_state = (void *)&cases[i]};
	for (size_t i = 0; i < ARRAY_SIZE(extra); i++)
		tests[n++] = extra[i];
	return _cmocka_run_group_tests("skel", tests, n, NULL, NULL);
}

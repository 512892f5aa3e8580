/* SPDX-License-Identifier: Apache-2.0 */
/* nft.c against the kernel. Needs root; skips otherwise. Every test runs in a forked child
 * that first unshare(CLONE_NEWNET)s: a throwaway netns that vanishes with the child, so the
 * machine's own ruleset is never read or written. The child verifies with the nft tool
 * (tests may run it; plugins never do) and reports through its exit status: 0 pass, 77 skip,
 * anything else fail (the reason is printed on stderr). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/naming.h"
#include "common/nft/internal.h"
#include "common/nft/nft.h"
#include "common/nft/policy.h"

#define CHILD_SKIP 77

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			child_fail(__LINE__, "check failed: %s", #cond);                           \
	} while (0)
/* call may record its error in &_e, which the macro declares and prints. */
#define CHECK_OK(call)                                                                             \
	do {                                                                                       \
		struct cni_err _e = {0};                                                           \
		int _r = (call);                                                                   \
		if (_r < 0)                                                                        \
			child_fail(__LINE__, "%s = %d: [%d] %s / %s", #call, _r, _e.code, _e.msg,  \
				   _e.details);                                                    \
	} while (0)

static void child_fail(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "test-nft-live.c:%d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	_exit(1);
}

/* Runs fn in a child inside a fresh netns and asserts on its exit status. */
static void in_netns(void (*fn)(void))
{
	int status = 0;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 || system("nft --version >/dev/null 2>&1") != 0)
			_exit(CHILD_SKIP);
		fn();
		exit(0); /* exit, not _exit: leak checkers run in the child too */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == CHILD_SKIP)
		skip();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- looking at the ruleset with the nft tool ------------------------------------------------ */

/* Output of a shell command (NULL when it fails). */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	char cmd[512], *buf = NULL;
	size_t cap = 0;
	FILE *f;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	CHECK(f);
	CHECK(getdelim(&buf, &cap, '\0', f) >= 0 || feof(f));
	if (pclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf ? buf : strdup("");
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		child_fail(__LINE__, "command failed: %s", cmd);
}

/* Rules in `<family> weft` chain whose comment starts with prefix (NULL: all). */
static int count_rules(const char *family, const char *chain, const char *prefix)
{
	char *out = sh_out("nft -j list table %s weft 2>/dev/null", family);
	json_t *root, *items, *it, *rule;
	size_t i;
	int n = 0;

	if (!out)
		return 0; /* no table */
	root = json_loads(out, 0, NULL);
	free(out);
	CHECK(root);
	items = json_object_get(root, "nftables");
	json_array_foreach(items, i, it)
	{
		const char *c, *comment;

		if (!(rule = json_object_get(it, "rule")))
			continue;
		c = json_string_value(json_object_get(rule, "chain"));
		comment = json_string_value(json_object_get(rule, "comment"));
		if (c && strcmp(c, chain) == 0 &&
		    (!prefix || (comment && strncmp(comment, prefix, strlen(prefix)) == 0)))
			n++;
	}
	json_decref(root);
	return n;
}

static bool listing_has(const char *what, const char *needle)
{
	char *out = sh_out("nft list %s 2>/dev/null", what);
	bool has = out && strstr(out, needle);

	if (!has)
		fprintf(stderr, "'%s' not in `nft list %s`:\n%s\n", needle, what, out ? out : "-");
	free(out);
	return has;
}

static bool table_exists(const char *family)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "nft list table %s weft >/dev/null 2>&1", family);
	return system(cmd) == 0;
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static struct inet_prefix pfx(int family, const char *addr, uint8_t len)
{
	struct inet_prefix p = {.addr.family = family, .len = len};

	CHECK(inet_pton(family, addr, p.addr.bytes) == 1);
	return p;
}

static const char *tag_of(const char *cid, const char *ifname, char buf[NFT_TAG_LEN + 1])
{
	naming_attachment_tag("net1", cid, ifname, buf);
	return buf;
}

/* net1's pod subnets 10.88.0.0/16 and fd00:88::/64 (or only the first n), exclusions
 * 10.96.0.0/12 and fd00:96::/108 (or only the first n_ex). */
static int masq_ensure(size_t n, size_t n_ex, struct cni_err *err)
{
	struct inet_prefix subnets[] = {pfx(AF_INET, "10.88.0.0", 16),
					pfx(AF_INET6, "fd00:88::", 64)};
	struct inet_prefix ex[] = {pfx(AF_INET, "10.96.0.0", 12), pfx(AF_INET6, "fd00:96::", 108)};
	struct nft_masq_net m = {.network = "net1",
				 .subnets = subnets,
				 .n_subnets = n,
				 .exclude = ex,
				 .n_exclude = n_ex};

	return nft_masq_ensure(&m, err);
}

static int masq_check(const char *addr, size_t n_ex, struct cni_err *err)
{
	struct inet_prefix ex[] = {pfx(AF_INET, "10.96.0.0", 12), pfx(AF_INET6, "fd00:96::", 108)};
	struct inet_addr a = pfx(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, 0).addr;

	return nft_masq_check("net1", &a, 1, ex, n_ex, err);
}

/* The ruleset generation: it moves with every commit. */
static uint32_t generation(void)
{
	_cleanup_nft_sock_ struct nft_sock *s = NULL;
	uint32_t gen = 0;

	CHECK(nft_sock_open(&s, NULL) == 0 && nft_gen_get(s, &gen, NULL) == 0);
	return gen;
}

/* A rule of an older weft: one per pod address, tagged by the attachment. */
static void legacy_rule(const char *cid, const char *addr)
{
	char tag[NFT_TAG_LEN + 1], cmd[512];

	snprintf(
		cmd, sizeof(cmd),
		"nft add table inet weft && nft add chain inet weft masq-net1 "
		"'{ type nat hook postrouting priority 100; }' && nft add rule inet weft masq-net1 "
		"ip saddr %s ip daddr != 10.88.0.0/16 counter masquerade "
		"comment '\"%s, net: net1, if: eth0, id: %s\"'",
		addr, tag_of(cid, "eth0", tag), cid);
	sh(cmd);
}

/* A foreign table with a rule (and an inet table with a chain named like ours, holding a rule
 * carrying a weft tag): weft must never touch them. Returns their listing. */
static char *foreign_setup(void)
{
	char tag[NFT_TAG_LEN + 1], cmd[512];

	sh("nft add table ip foreign && nft add chain ip foreign post "
	   "'{ type nat hook postrouting priority 50; }' && "
	   "nft add rule ip foreign post ip saddr 10.88.0.0/16 counter masquerade");
	snprintf(cmd, sizeof(cmd),
		 "nft add table inet other && nft add chain inet other masq-net1 && "
		 "nft add rule inet other masq-net1 counter comment '\"%s, net: net1\"'",
		 tag_of("ctr1", "eth0", tag));
	sh(cmd);
	return sh_out("nft list table ip foreign; nft list table inet other");
}

static void foreign_unchanged(const char *before)
{
	char *now = sh_out("nft list table ip foreign; nft list table inet other");

	CHECK(now && strcmp(now, before) == 0);
	free(now);
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void t_ensure_v4_v6(void)
{
	struct cni_err err = {0};

	CHECK_OK(masq_ensure(2, 2, &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 2);
	CHECK(listing_has("table inet weft",
			  "type nat hook postrouting priority srcnat; policy accept;"));
	CHECK(listing_has("table inet weft",
			  "ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 ip daddr != 10.96.0.0/12 "
			  "ip daddr != 224.0.0.0/4 counter packets 0 bytes 0 masquerade comment"));
	CHECK(listing_has("table inet weft", ", subnet: 10.88.0.0/16, net: net1\""));
	CHECK(listing_has(
		"table inet weft",
		"ip6 saddr fd00:88::/64 ip6 daddr != fd00:88::/64 ip6 daddr != fd00:96::/108 "
		"ip6 daddr != ff00::/8 counter packets 0 bytes 0 masquerade comment"));
	CHECK_OK(masq_check("10.88.3.4", 2, &_e));
	CHECK_OK(masq_check("fd00:88::5", 2, &_e));
	/* an address of no subnet, or a rule made with other exclusions: not covered */
	CHECK(masq_check("10.89.0.1", 2, &err) == -ENOENT);
	CHECK(err.code == CNI_ERR_INTERNAL && strstr(err.msg, "10.89.0.1") &&
	      strstr(err.msg, "net1"));
	CHECK(masq_check("10.88.3.4", 0, &err) == -ENOENT);
}

/* The point of per-network rules: a pod's ADD finds them and commits nothing. */
static void t_ensure_commits_once(void)
{
	char *before, *after;
	uint32_t gen;

	CHECK_OK(masq_ensure(2, 2, &_e));
	gen = generation();
	before = sh_out("nft -a list table inet weft");
	for (int i = 0; i < 5; i++)
		CHECK_OK(masq_ensure(2, 2, &_e));
	after = sh_out("nft -a list table inet weft");
	CHECK(generation() == gen);
	CHECK(before && after && strcmp(before, after) == 0);
	free(before);
	free(after);
}

static void t_ensure_subnets_and_exclusions(void)
{
	CHECK_OK(masq_ensure(1, 2, &_e)); /* IPv4 only */
	CHECK(count_rules("inet", "masq-net1", NULL) == 1);
	CHECK_OK(masq_ensure(2, 2, &_e)); /* the IPv6 subnet is added, IPv4 kept */
	CHECK(count_rules("inet", "masq-net1", NULL) == 2);
	CHECK_OK(masq_ensure(1, 0, &_e)); /* other exclusions: the IPv4 rule is replaced */
	CHECK(count_rules("inet", "masq-net1", NULL) == 2);
	CHECK(listing_has("table inet weft", "ip saddr 10.88.0.0/16 ip daddr != 10.88.0.0/16 "
					     "ip daddr != 224.0.0.0/4 counter"));
	CHECK(!listing_has("chain inet weft masq-net1", "10.96.0.0/12 ip daddr != 224"));
	CHECK_OK(masq_check("10.88.0.9", 0, &_e));
	CHECK_OK(masq_check("fd00:88::9", 2, &_e));
}

static void t_flush(void)
{
	CHECK_OK(masq_ensure(2, 2, &_e));
	CHECK_OK(nft_masq_flush("net1", &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 0);
	CHECK(system("nft list chain inet weft masq-net1 >/dev/null 2>&1") != 0); /* chain gone */
	CHECK(table_exists("inet"));						  /* shared */
	CHECK_OK(nft_masq_flush("net1", &_e));					  /* twice */
	/* a rule without a weft tag in our chain is not ours: it and the chain stay */
	CHECK_OK(masq_ensure(2, 2, &_e));
	sh("nft add rule inet weft masq-net1 counter comment '\"user rule\"'");
	CHECK_OK(nft_masq_flush("net1", &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 1);
	CHECK(count_rules("inet", "masq-net1", "user rule") == 1);
}

/* Per-attachment rules of an older weft: DEL and GC remove them, and only them. */
static void t_legacy_rules(void)
{
	struct cni_attachment valid[] = {{"ctr2", "eth0"}};
	char tag[NFT_TAG_LEN + 1];
	uint32_t gen;

	legacy_rule("ctr1", "10.88.0.5");
	legacy_rule("ctr2", "10.88.0.6");
	legacy_rule("ctr3", "10.88.0.7");
	CHECK_OK(masq_ensure(2, 2, &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 5);
	CHECK_OK(nft_masq_del("net1", "ctr1", "eth0", &_e));
	CHECK(count_rules("inet", "masq-net1", tag_of("ctr1", "eth0", tag)) == 0);
	CHECK(count_rules("inet", "masq-net1", NULL) == 4);
	gen = generation();
	CHECK_OK(nft_masq_del("net1", "ctr1", "eth0", &_e)); /* nothing left: no commit */
	CHECK(generation() == gen);
	CHECK_OK(nft_masq_gc("net1", valid, 1, &_e));
	CHECK(count_rules("inet", "masq-net1", tag_of("ctr2", "eth0", tag)) == 1);
	CHECK(count_rules("inet", "masq-net1", tag_of("ctr3", "eth0", tag)) == 0);
	CHECK(count_rules("inet", "masq-net1", NULL) == 3); /* the network's rules stay */
	CHECK_OK(masq_check("10.88.0.6", 2, &_e));
}

static void t_nothing_there(void)
{
	struct cni_err err = {0};
	struct cni_attachment valid[] = {{"ctr1", "eth0"}};

	CHECK_OK(nft_masq_del("net1", "ctr1", "eth0", &_e));
	CHECK_OK(nft_masq_gc("net1", valid, 1, &_e));
	CHECK_OK(nft_masq_flush("net1", &_e));
	CHECK_OK(nft_macspoof_del("net1", "ctr1", "eth0", &_e));
	CHECK_OK(nft_macspoof_gc("net1", NULL, 0, &_e));
	CHECK(masq_check("10.88.0.5", 2, &err) == -ENOENT);
	CHECK(!table_exists("inet") && !table_exists("bridge")); /* DEL/GC never create */
	sh("nft add table inet weft");				 /* table without the chain */
	CHECK_OK(nft_masq_del("net1", "ctr1", "eth0", &_e));
	CHECK_OK(nft_masq_flush("net1", &_e));
}

static void t_foreign_untouched(void)
{
	uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x05};
	char *before = foreign_setup();

	CHECK(before);
	CHECK_OK(masq_ensure(2, 2, &_e));
	CHECK_OK(nft_macspoof_add("net1", "ctr1", "eth0", "veth1", mac, &_e));
	foreign_unchanged(before);
	CHECK_OK(nft_masq_del("net1", "ctr1", "eth0", &_e));
	CHECK_OK(nft_macspoof_del("net1", "ctr1", "eth0", &_e));
	foreign_unchanged(before);
	CHECK_OK(nft_masq_gc("net1", NULL, 0, &_e));
	CHECK_OK(nft_masq_flush("net1", &_e));
	CHECK_OK(nft_macspoof_gc("net1", NULL, 0, &_e));
	foreign_unchanged(before);
	CHECK(count_rules("inet", "masq-net1", NULL) == 0);
	free(before);
}

static void t_macspoof(void)
{
	uint8_t mac[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x05};
	struct cni_attachment valid[] = {{"ctr2", "eth0"}};
	char tag[NFT_TAG_LEN + 1], line[256];

	CHECK_OK(nft_macspoof_add("net1", "ctr1", "eth0", "veth1", mac, &_e));
	mac[5] = 0x06;
	CHECK_OK(nft_macspoof_add("net1", "ctr1", "eth0", "veth1", mac, &_e)); /* replaces */
	CHECK_OK(nft_macspoof_add("net1", "ctr2", "eth0", "veth2", mac, &_e));
	CHECK(listing_has("table bridge weft",
			  "type filter hook prerouting priority dstnat; policy accept;"));
	snprintf(line, sizeof(line),
		 "iifname \"veth1\" ether saddr != 02:42:ac:11:00:06 counter packets 0 bytes 0 "
		 "drop comment \"%s, net: net1, if: eth0, id: ctr1\"",
		 tag_of("ctr1", "eth0", tag));
	CHECK(listing_has("table bridge weft", line));
	CHECK(count_rules("bridge", "spoof-net1", tag) == 1);
	CHECK(count_rules("bridge", "spoof-net1", NULL) == 2);
	CHECK_OK(nft_macspoof_del("net1", "ctr1", "eth0", &_e));
	CHECK(count_rules("bridge", "spoof-net1", tag) == 0);
	CHECK_OK(nft_macspoof_add("net1", "ctr3", "eth0", "veth3", mac, &_e));
	CHECK_OK(nft_macspoof_gc("net1", valid, 1, &_e));
	CHECK(count_rules("bridge", "spoof-net1", NULL) == 1);
	CHECK(count_rules("bridge", "spoof-net1", tag_of("ctr2", "eth0", tag)) == 1);
	CHECK(!table_exists("inet")); /* macspoofchk does not create the masquerade table */
}

static void t_names_and_limits(void)
{
	const char *net = "a-network-name-that-is-much-too-long-for-a-chain-and-long-enough-"
			  "to-cut-the-comment-of-its-rules-at-the-length-nft-accepts-xxxxxxxx";
	struct inet_prefix subnet = pfx(AF_INET, "10.1.0.0", 24);
	struct inet_addr a = pfx(AF_INET, "10.1.0.2", 0).addr;
	struct nft_masq_net m = {.network = net, .subnets = &subnet, .n_subnets = 1};
	char chain[NFT_CHAIN_NAME_MAX];
	const char *comment;
	json_t *root = NULL;
	char *out;

	CHECK_OK(nft_masq_ensure(&m, &_e));
	nft_chain_name("masq", net, chain);
	CHECK(count_rules("inet", chain, NULL) == 1);
	out = sh_out("nft -j list chain inet weft %s", chain);
	CHECK(out && (root = json_loads(out, 0, NULL)));
	comment = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(root, "nftables"), 2), "rule"),
		"comment"));
	CHECK(comment && strlen(comment) == NFT_COMMENT_MAX); /* cut to what nft accepts */
	CHECK(strstr(comment, ", subnet: 10.1.0.0/24, net: a-network"));
	json_decref(root);
	free(out);
	CHECK_OK(nft_masq_check(net, &a, 1, NULL, 0, &_e));
	CHECK_OK(nft_masq_ensure(&m, &_e));
	CHECK(count_rules("inet", chain, NULL) == 1);
	CHECK_OK(nft_masq_flush(net, &_e));
	CHECK(count_rules("inet", chain, NULL) == 0);
}

/* One batch deleting many rules: every ack must fit the socket (ENOBUFS otherwise). */
static void t_gc_many(void)
{
	FILE *f = popen("nft -f -", "w");

	CHECK(f);
	fprintf(f, "add table inet weft\nadd chain inet weft masq-net1 "
		   "{ type nat hook postrouting priority 100; }\n");
	for (int i = 0; i < 1500; i++)
		fprintf(f, "add rule inet weft masq-net1 counter comment \"%016x, stale\"\n", i);
	CHECK(pclose(f) == 0);
	CHECK(count_rules("inet", "masq-net1", NULL) == 1500);
	CHECK_OK(masq_ensure(2, 2, &_e));
	CHECK_OK(nft_masq_gc("net1", (struct cni_attachment[]){{"ctr1", "eth0"}}, 1, &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 2);
	CHECK_OK(nft_masq_flush("net1", &_e));
	CHECK(count_rules("inet", "masq-net1", NULL) == 0);
}

/* A chain of our name with another hook: the batch fails as a whole, with a useful error. */
static void t_error_is_reported(void)
{
	struct cni_err err = {0};
	int r;

	sh("nft add table inet weft && nft add chain inet weft masq-net1 "
	   "'{ type filter hook input priority 0; }'");
	r = masq_ensure(2, 2, &err);
	CHECK(r < 0 && r == -err.sys_errno);
	CHECK(err.code == CNI_ERR_NFT);
	CHECK(strstr(err.msg, "ipMasq for network 'net1'") &&
	      strstr(err.msg, "add chain inet weft masq-net1"));
	CHECK(err.details[0]);
	CHECK(count_rules("inet", "masq-net1", NULL) == 0); /* atomic: nothing was added */
}

/* Concurrent first ADDs: table, chain and rules race; every subnet ends up with one rule. */
static void t_concurrent_ensure(void)
{
	enum { N = 8 };
	pid_t pids[N];
	int status;

	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0);
		if (pids[i] == 0)
			_exit(masq_ensure(2, 2, NULL) < 0 || masq_ensure(2, 2, NULL) < 0);
	}
	for (int i = 0; i < N; i++)
		CHECK(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
		      WEXITSTATUS(status) == 0);
	CHECK(count_rules("inet", "masq-net1", NULL) == 2);
	CHECK_OK(masq_check("10.88.0.5", 2, &_e));
	CHECK_OK(masq_check("fd00:88::5", 2, &_e));
}

/* ---- the policy table (common/nft/policy.h) ------------------------------------------------ */

static const char *const pol_v1 =
	"{\"sets\": {\"a4-1\": {\"family\": 4, \"ranges\": \"10.1.0.0-10.1.0.255,10.1.0.7,"
	"10.1.1.0-10.1.1.9,10.2.0.1\"},"
	" \"a6-1\": {\"family\": 6, \"ranges\": \"fd00::1\"}},"
	" \"chains\": {\"pi-a\": {\"dir\": \"in\", \"rules\": [{\"set\": \"a4-1\", \"proto\": 6, "
	"\"lo\": 80, \"hi\": 81}, {\"set\": \"a6-1\"}, {\"proto\": 17}]},"
	" \"po-a\": {\"dir\": \"out\", \"rules\": [{\"proto\": 6, \"lo\": 53, \"hi\": 53}]}},"
	" \"in\": {\"10.9.0.2\": \"pi-a\", \"fd00:9::2\": \"pi-a\"},"
	" \"out\": {\"10.9.0.2\": \"po-a\"}}";

static void pol_apply_text(struct nft_pol **st, const char *text)
{
	json_t *want = json_loads(text, 0, NULL);

	CHECK(want);
	CHECK_OK(nft_pol_apply(st, want, NULL, &_e));
	json_decref(want);
}

/* Is what in the listing of the policy table? (Prints the table when it is not and should be.) */
static bool listed(const char *what, bool want)
{
	char *out = sh_out("nft list table inet " NFT_POL_TABLE " 2>/dev/null");
	bool found = out && strstr(out, what);

	if (found != want)
		fprintf(stderr, "%s the table: %s\n%s", want ? "not in" : "in", what,
			out ? out : "(no table)\n");
	free(out);
	return found;
}
#define HAS(s)	 CHECK(listed(s, true))
#define HASNT(s) CHECK(!listed(s, false))

static void t_policy_table(void)
{
	struct nft_pol *st = NULL;

	sh("nft add table inet " NFT_POL_TABLE "; nft add chain inet " NFT_POL_TABLE " stray");
	pol_apply_text(&st, pol_v1);
	HASNT("chain stray"); /* a first apply replaces the table */
	HAS("10.1.0.0-10.1.1.9, 10.2.0.1");
	HAS("ip saddr @a4-1 tcp dport 80-81 accept");
	HAS("ip6 saddr @a6-1 accept");
	HAS("meta l4proto udp accept");
	HAS("tcp dport 53 return");
	HAS("10.9.0.2 : jump pi-a");
	HAS("fd00:9::2 : jump pi-a");
	HAS("ct state established,related accept");
	HAS("ip saddr vmap @out4");
	/* the same set with other content: elements go and come, the chain stays as it is */
	pol_apply_text(
		&st,
		"{\"sets\": {\"a4-1\": {\"family\": 4, \"ranges\": \"10.1.0.0-10.1.0.255,"
		"10.2.0.1,10.2.0.5\"}, \"a6-1\": {\"family\": 6, \"ranges\": \"fd00::1\"}},"
		" \"chains\": {\"pi-a\": {\"dir\": \"in\", \"rules\": [{\"set\": \"a4-1\", "
		"\"proto\": 6, \"lo\": 80, \"hi\": 81}, {\"set\": \"a6-1\"}, {\"proto\": 17}]},"
		" \"po-a\": {\"dir\": \"out\", \"rules\": [{\"proto\": 6, \"lo\": 53, "
		"\"hi\": 53}]}}, \"in\": {\"10.9.0.2\": \"pi-a\", \"fd00:9::2\": \"pi-a\"},"
		" \"out\": {\"10.9.0.2\": \"po-a\"}}");
	HAS("elements = { 10.1.0.0/24, 10.2.0.1,");
	HAS("10.2.0.5 }");
	HASNT("10.1.1.0-10.1.1.9");
	HAS("ip saddr @a4-1 tcp dport 80-81 accept");
	/* a change: one chain goes, a rule changes, a set is added, one goes */
	pol_apply_text(&st, "{\"sets\": {\"a4-2\": {\"family\": 4, \"ranges\": "
			    "\"10.3.0.0-10.3.0.255\"}}, \"chains\": {\"pi-a\": {\"dir\": \"in\", "
			    "\"rules\": [{\"set\": \"a4-2\", \"proto\": 132}]}}, "
			    "\"in\": {\"10.9.0.2\": \"pi-a\"}, \"out\": {}}");
	HAS("ip saddr @a4-2 meta l4proto sctp accept");
	HASNT("po-a");
	HASNT("a4-1");
	HASNT("fd00:9::2");
	/* nothing to enforce: the frame only */
	pol_apply_text(&st, "{}");
	HASNT("pi-a");
	HAS("ip daddr vmap @in4");
	nft_pol_free(st);
	CHECK_OK(nft_pol_remove(&_e));
	CHECK(sh_out("nft list table inet " NFT_POL_TABLE " 2>/dev/null") == NULL);
	CHECK_OK(nft_pol_remove(&_e));
}

/* A "plain" set: a hash set of single addresses (no interval flag); a change adds and deletes
 * single elements; the same name cannot turn into an interval set. */
static void t_policy_plain_set(void)
{
	struct nft_pol *st = NULL;
	struct cni_err e = {0};
	json_t *w;

	pol_apply_text(&st, "{\"sets\": {\"ps4-1\": {\"family\": 4, \"plain\": true, \"ranges\": "
			    "\"10.4.0.2,10.4.0.1,10.4.0.3,10.4.0.1\"}}, \"chains\": {\"pi-a\": "
			    "{\"dir\": \"in\", \"rules\": [{\"set\": \"ps4-1\"}]}}, "
			    "\"in\": {\"10.9.0.2\": \"pi-a\"}}");
	HASNT("flags interval");
	HAS("elements = { 10.4.0.1, 10.4.0.2,"); /* sorted, the duplicate dropped */
	HAS("10.4.0.3 }");
	pol_apply_text(&st, "{\"sets\": {\"ps4-1\": {\"family\": 4, \"plain\": true, \"ranges\": "
			    "\"10.4.0.1,10.4.0.3,10.4.0.9\"}}, \"chains\": {\"pi-a\": "
			    "{\"dir\": \"in\", \"rules\": [{\"set\": \"ps4-1\"}]}}, "
			    "\"in\": {\"10.9.0.2\": \"pi-a\"}}");
	HASNT("10.4.0.2");
	HAS("10.4.0.9");
	w = json_loads("{\"sets\": {\"ps4-1\": {\"family\": 4, \"ranges\": \"10.4.0.1\"}}}", 0,
		       NULL);
	CHECK(nft_pol_apply(&st, w, NULL, &e) < 0 && e.code == CNI_ERR_CONFIG);
	CHECK(strstr(e.msg, "kind"));
	json_decref(w);
	HAS("10.4.0.9"); /* the refused apply changed nothing */
	nft_pol_free(st);
	CHECK_OK(nft_pol_remove(&_e));
}

/* A want changed in place: only what before names is compared, and the kernel follows; a
 * guard coming builds the table again; a table edited behind the state is replaced whole. */
static void t_policy_touched(void)
{
	struct nft_pol *st = NULL;
	struct nft_pol_counts c;
	json_t *w = json_loads(pol_v1, 0, NULL), *before = json_object();
	json_t *sets, *chains;

	CHECK(w && before);
	CHECK_OK(nft_pol_apply_touched(&st, w, before, NULL, &_e)); /* no state: a whole apply */
	HAS("10.1.0.0-10.1.1.9, 10.2.0.1");
	sets = json_object_get(w, "sets");
	chains = json_object_get(w, "chains");
	/* a4-1 changes, po-a goes, a6-1 goes with the rule naming it, 10.9.0.3 comes */
	json_object_set_new(before, "sets",
			    json_pack("{s:O, s:O}", "a4-1", json_object_get(sets, "a4-1"), "a6-1",
				      json_object_get(sets, "a6-1")));
	json_object_set_new(before, "chains",
			    json_pack("{s:O, s:O}", "po-a", json_object_get(chains, "po-a"), "pi-a",
				      json_object_get(chains, "pi-a")));
	json_object_set_new(before, "out", json_pack("{s:s}", "10.9.0.2", "po-a"));
	json_object_set_new(before, "in", json_pack("{s:n}", "10.9.0.3"));
	json_object_set_new(sets, "a4-1",
			    json_pack("{s:i, s:s}", "family", 4, "ranges", "10.1.0.0-10.1.0.255"));
	json_object_del(sets, "a6-1");
	json_object_set_new(chains, "pi-a",
			    json_pack("{s:s, s:[{s:s, s:i}]}", "dir", "in", "rules", "set", "a4-1",
				      "proto", 17));
	json_object_del(chains, "po-a");
	json_object_del(json_object_get(w, "out"), "10.9.0.2");
	json_object_set_new(json_object_get(w, "in"), "10.9.0.3", json_string("pi-a"));
	CHECK_OK(nft_pol_apply_touched(&st, w, before, &c, &_e));
	CHECK(!c.replaced && c.sets_changed == 1 && c.sets_removed == 1 && c.chains_removed == 1);
	HAS("elements = { 10.1.0.0/24 }");
	HASNT("a6-1");
	HASNT("po-a");
	HAS("ip saddr @a4-1 meta l4proto udp accept");
	HAS("10.9.0.3 : jump pi-a");
	HAS("10.9.0.2 : jump pi-a"); /* untouched: still there */
	/* nothing touched: nothing sent, even after someone emptied a set behind our back */
	sh("nft flush set inet " NFT_POL_TABLE " a4-1");
	json_object_clear(before);
	CHECK_OK(nft_pol_apply_touched(&st, w, before, &c, &_e));
	HASNT("10.1.0.0/24");
	/* touching it again finds the kernel's table not as applied: replaced whole */
	json_object_set_new(before, "sets",
			    json_pack("{s:O}", "a4-1", json_object_get(sets, "a4-1")));
	json_object_set_new(sets, "a4-1",
			    json_pack("{s:i, s:s}", "family", 4, "ranges", "10.1.0.0-10.1.0.127"));
	CHECK_OK(nft_pol_apply_touched(&st, w, before, &c, &_e));
	CHECK(c.replaced);
	HAS("elements = { 10.1.0.0/25 }");
	json_decref(w);
	json_decref(before);
	nft_pol_free(st);
	CHECK_OK(nft_pol_remove(&_e));
}

static void t_policy_bad_input(void)
{
	struct nft_pol *st = NULL;
	struct cni_err e = {0};
	json_t *w = json_loads("{\"chains\": {\"bad name\": {\"dir\": \"in\"}}}", 0, NULL);

	CHECK(nft_pol_apply(&st, w, NULL, &e) < 0 && e.code == CNI_ERR_CONFIG);
	json_decref(w);
	w = json_loads("{\"sets\": {\"s\": {\"family\": 4, \"ranges\": \"10.0.0.9-10.0.0.1\"}}}", 0,
		       NULL);
	cni_err_clear(&e);
	CHECK(nft_pol_apply(&st, w, NULL, &e) < 0 && e.code == CNI_ERR_CONFIG);
	json_decref(w);
	w = json_loads("{\"sets\": {\"s\": {\"family\": 4, \"ranges\": [\"10.0.0.1\"]}}}", 0, NULL);
	cni_err_clear(&e);
	CHECK(nft_pol_apply(&st, w, NULL, &e) < 0 && e.code == CNI_ERR_CONFIG);
	json_decref(w);
	CHECK(st == NULL);
	CHECK(sh_out("nft list table inet " NFT_POL_TABLE " 2>/dev/null") == NULL);
}

/* The plugins' side: a compiled pod's addresses point at its chains and join the known sets;
 * another pod's ADD on an address clears it; the agent's next diff meets what the plugins did. */
static void pol_want(char *buf, size_t len, const char *tag, const char *known4, bool in)
{
	snprintf(buf, len,
		 "{\"sets\": {\"podnets4\": {\"family\": 4, \"ranges\": \"10.9.0.0-10.9.0.255\"},"
		 " \"known4\": {\"family\": 4, \"ranges\": \"%s\"},"
		 " \"podnets6\": {\"family\": 6, \"ranges\": \"\"},"
		 " \"known6\": {\"family\": 6, \"ranges\": \"\"}},"
		 " \"chains\": {\"pi-%s\": {\"dir\": \"in\", \"rules\": []}},"
		 " \"in\": {%s%s%s}, \"pods\": {\"%s\": 1}, \"guard\": true}",
		 known4, tag, in ? "\"10.9.0.7\": \"pi-" : "", in ? tag : "", in ? "\"" : "", tag);
}

static void pol_apply_counted(struct nft_pol **st, const char *text, struct nft_pol_counts *n)
{
	json_t *w = json_loads(text, 0, NULL);

	CHECK(w);
	CHECK_OK(nft_pol_apply(st, w, n, &_e));
	json_decref(w);
}

static void t_policy_attach(void)
{
	struct nft_pol *st = NULL;
	struct nft_pol_counts n = {0};
	struct inet_addr a[2];
	char tag[NFT_POL_TAG_LEN + 1], want[2048], jump[64];

	CHECK(inet_addr_parse("10.9.0.7", &a[0]) == 0 && inet_addr_parse("fd00:9::7", &a[1]) == 0);
	CHECK_OK(nft_pol_attach("x", "d", a, 2, &_e)); /* no table: nothing */
	CHECK(sh_out("nft list table inet " NFT_POL_TABLE " 2>/dev/null") == NULL);
	nft_pol_pod_tag("x", "d", tag);
	pol_want(want, sizeof(want), tag, "10.9.0.2-10.9.0.3", false);
	pol_apply_text(&st, want);
	HAS("10.9.0.2, 10.9.0.3"); /* known4 holds single addresses */
	CHECK_OK(nft_pol_attach("x", "d", a, 2, &_e));
	snprintf(jump, sizeof(jump), "10.9.0.7 : jump pi-%s", tag);
	HAS(jump);
	snprintf(jump, sizeof(jump), "fd00:9::7 : jump pi-%s", tag);
	HAS(jump);
	HAS("10.9.0.7 }"); /* known4 (the maps' elements have a verdict after them) */
	HAS("elements = { fd00:9::7 }");
	HASNT("out4 {\n\t\ttype ipv4_addr : verdict\n\t\telements"); /* not egress-isolated */
	CHECK_OK(nft_pol_attach("x", "d", a, 2, &_e));		     /* again: all right already */
	/* the agent learns the address: adding elements that are there is no failure */
	pol_want(want, sizeof(want), tag, "10.9.0.2-10.9.0.3,10.9.0.7", true);
	pol_apply_counted(&st, want, &n);
	CHECK(!n.replaced);
	/* a pod the runtime does not name takes the IPv4 address: cleared */
	CHECK_OK(nft_pol_attach(NULL, NULL, a, 1, &_e));
	HASNT("10.9.0.7");
	/* the agent's diff deletes what is gone already: the table is replaced, and it says so */
	pol_want(want, sizeof(want), tag, "10.9.0.2-10.9.0.3", false);
	pol_apply_counted(&st, want, &n);
	CHECK(n.replaced && strstr(n.why, "10.9.0.7") == NULL && n.why[0]);
	HASNT("fd00:9::7"); /* the replace dropped what the agent does not know */
	HAS("10.9.0.2, 10.9.0.3 }");
	nft_pol_free(st);
	CHECK_OK(nft_pol_remove(&_e));
}

#define LIVE(fn)                                                                                   \
	static void test_##fn(void **state)                                                        \
	{                                                                                          \
		in_netns(fn);                                                                      \
	}
LIVE(t_ensure_v4_v6)
LIVE(t_ensure_commits_once)
LIVE(t_ensure_subnets_and_exclusions)
LIVE(t_flush)
LIVE(t_legacy_rules)
LIVE(t_nothing_there)
LIVE(t_foreign_untouched)
LIVE(t_macspoof)
LIVE(t_names_and_limits)
LIVE(t_gc_many)
LIVE(t_error_is_reported)
LIVE(t_concurrent_ensure)
LIVE(t_policy_table)
LIVE(t_policy_plain_set)
LIVE(t_policy_touched)
LIVE(t_policy_bad_input)
LIVE(t_policy_attach)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_t_ensure_v4_v6),
		cmocka_unit_test(test_t_ensure_commits_once),
		cmocka_unit_test(test_t_ensure_subnets_and_exclusions),
		cmocka_unit_test(test_t_flush),
		cmocka_unit_test(test_t_legacy_rules),
		cmocka_unit_test(test_t_nothing_there),
		cmocka_unit_test(test_t_foreign_untouched),
		cmocka_unit_test(test_t_macspoof),
		cmocka_unit_test(test_t_names_and_limits),
		cmocka_unit_test(test_t_gc_many),
		cmocka_unit_test(test_t_error_is_reported),
		cmocka_unit_test(test_t_concurrent_ensure),
		cmocka_unit_test(test_t_policy_table),
		cmocka_unit_test(test_t_policy_plain_set),
		cmocka_unit_test(test_t_policy_touched),
		cmocka_unit_test(test_t_policy_bad_input),
		cmocka_unit_test(test_t_policy_attach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The IPAM store's readers on a hostile network directory: reservation files, legacy ones,
 * last_reserved_ip.N, the .weft index and state, a stale temp, plus symlinks, FIFOs and
 * directories planted where files go. The input is a list of records, each
 *   <type byte> <name> NUL <content> NUL
 * which the harness materialises under a private dataDir; then the store is opened, locked
 * (adopting or not), and find / last_get / count / reserve / index_add / release / gc /
 * rebuild run on it.
 * Invariants: no crash, leak or UB; a symlink is never followed (the canary file outside the
 * dataDir keeps its content); a FIFO never blocks (-timeout); no fd is leaked; a reservation
 * made for ctr1/eth0 is found; after a release under an adopting lock (as DEL takes it) no
 * reservation of ctr1/eth0 remains. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tests/fuzz/fuzz-util.h"
#include "common/naming.h"
#include "ipam/range.h"
#include "ipam/store-internal.h"

/* fuzz-max-len: 4096 */

#define MAX_RECORDS 48
#define CANARY	    "canary: must never change\n"

static char base[64], data_dir[96], net_dir[128], canary[96];

static void rm_rf_at(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd >= 0 && (d = fdopendir(fd))) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				rm_rf_at(fd, de->d_name);
		closedir(d);
		(void)unlinkat(dfd, name, AT_REMOVEDIR);
		return;
	}
	if (fd >= 0)
		close(fd);
	(void)unlinkat(dfd, name, 0);
}

static void cleanup(void)
{
	rm_rf_at(AT_FDCWD, base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	fuzz_quiet();
	setenv("WEFT_LOCK_TIMEOUT_MS", "100", 1);
	/* WEFT_FUZZ_TMP (run.sh removes it, even after an abort skipped atexit), else tmpfs when
	 * there is one: the store writes a file per reservation */
	const char *tmp = getenv("WEFT_FUZZ_TMP");

	if (!tmp || !*tmp)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(base, sizeof(base), "%.40s/weft-fuzz-store.XXXXXX", tmp);
	if (!mkdtemp(base))
		abort();
	snprintf(data_dir, sizeof(data_dir), "%s/data", base);
	snprintf(net_dir, sizeof(net_dir), "%s/net", data_dir);
	snprintf(canary, sizeof(canary), "%s/canary", base);
	fd = open(canary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, CANARY, strlen(CANARY)) != (ssize_t)strlen(CANARY))
		abort();
	close(fd);
	if (mkdir(data_dir, 0700) < 0)
		abort();
	atexit(cleanup);
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void put_file(int dfd, const char *name, const char *content, size_t len)
{
	/* O_NONBLOCK: the name may be a FIFO an earlier record planted */
	int fd = openat(dfd, name,
			O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	if (write(fd, content, len) < 0) {
		/* a full tmpfs only means a smaller directory */
	}
	close(fd);
}

/* A name usable in one directory: no '/', not "", "." or "..". */
static bool name_ok(const char *n)
{
	return *n && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..") && strlen(n) < 64;
}

static void index_name(const char *spec, char *buf, size_t len)
{
	char id[64], *ifname;
	const char *parts[2];

	snprintf(id, sizeof(id), "%s", spec);
	ifname = strchr(id, '\t');
	if (ifname)
		*ifname++ = '\0';
	parts[0] = id;
	parts[1] = ifname ? ifname : "";
	snprintf(buf, len, "a.%016llx", (unsigned long long)naming_hash(parts, 2));
}

static void record(int dfd, int idx, unsigned type, const char *name, const char *content,
		   size_t clen)
{
	char buf[64];

	switch (type % 8) {
	case 0: /* a reservation (or anything else named like one) */
		if (name_ok(name))
			put_file(dfd, name, content, clen);
		break;
	case 1:
		snprintf(buf, sizeof(buf), IPAM_STORE_LAST_PFX "%u", (unsigned char)name[0] % 4);
		put_file(dfd, buf, content, clen);
		break;
	case 2: /* an index entry for "id\tifname" */
		index_name(name, buf, sizeof(buf));
		put_file(idx, buf, content, clen);
		break;
	case 3:
		put_file(idx, "state", content, clen);
		break;
	case 4:
		if (name_ok(name))
			(void)symlinkat(canary, dfd, name);
		break;
	case 5:
		if (name_ok(name))
			(void)mkfifoat(dfd, name, 0600);
		break;
	case 6:
		if (name_ok(name))
			(void)mkdirat(dfd, name, 0700);
		break;
	case 7:
		put_file(dfd, IPAM_STORE_TMP_NAME, content, clen);
		break;
	}
}

/* Materialises the records; returns the flags byte (first input byte). */
static unsigned populate(const uint8_t *data, size_t size)
{
	_cleanup_close_ int dfd = -1, idx = -1;
	size_t off = 1;
	unsigned flags = size ? data[0] : 0;

	rm_rf_at(AT_FDCWD, net_dir);
	if (mkdir(net_dir, 0755) < 0 || (dfd = open(net_dir, O_RDONLY | O_DIRECTORY)) < 0)
		abort();
	if (!(flags & 1) && mkdirat(dfd, IPAM_STORE_INDEX_DIR, 0700) == 0)
		idx = openat(dfd, IPAM_STORE_INDEX_DIR, O_RDONLY | O_DIRECTORY);
	for (int n = 0; off < size && n < MAX_RECORDS; n++) {
		unsigned type = data[off++];
		const char *name = (const char *)data + off, *content;
		const uint8_t *nul = memchr(data + off, 0, size - off);
		size_t clen;

		if (!nul)
			break;
		off = (size_t)(nul - data) + 1;
		content = (const char *)data + off;
		nul = memchr(data + off, 0, size - off);
		clen = nul ? (size_t)(nul - data) - off : size - off;
		off += clen + 1;
		record(dfd, idx, type, name, content, clen);
	}
	if (flags & 1) /* the index dir replaced by a symlink to the canary */
		(void)symlinkat(canary, dfd, IPAM_STORE_INDEX_DIR);
	return flags;
}

static void canary_check(void)
{
	char buf[sizeof(CANARY) + 8];
	_cleanup_close_ int fd = open(canary, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	struct stat st;

	FUZZ_ASSERT(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	FUZZ_ASSERT(n == (ssize_t)strlen(CANARY) && memcmp(buf, CANARY, (size_t)n) == 0);
	FUZZ_ASSERT(lstat(canary, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1);
}

/* Counts reservation files still holding exactly ctr1/eth0. */
static int exact_cb(struct ipam_store *s, const char *name, const struct inet_addr *ip,
		    char *content, void *data)
{
	if (strcmp(content, "ctr1\r\neth0") == 0)
		(*(int *)data)++;
	return 0;
}

static void exercise(struct ipam_store *s, unsigned flags)
{
	struct inet_addr ips[IPAM_STORE_MAX_IPS], ip, last;
	struct cni_attachment valid[] = {{"ctr2", "eth0"}, {"legacy1", "eth0"}};
	struct cni_args a = {.command = CNI_CMD_GC,
			     .has_valid_attachments = true,
			     .valid_attachments = valid,
			     .n_valid_attachments = 2};
	struct ipam_range rg = {0};
	struct ipam_range_set set = {.n = 1, .r = &rg};
	struct cni_err err = {0};
	int n, exact = 0;

	if (ipam_store_prepare(s, "ctr1", "eth0", 1, &err) < 0 ||
	    ((flags & 2) ? ipam_store_lock_adopt(s, &err) : ipam_store_lock(s, &err)) < 0) {
		fuzz_err_ok(&err);
		return;
	}
	n = ipam_store_find(s, "ctr1", "eth0", flags & 4, ips, IPAM_STORE_MAX_IPS, &err);
	FUZZ_ASSERT(n <= IPAM_STORE_MAX_IPS);
	(void)ipam_store_find(s, "legacy1", "eth9", true, ips, IPAM_STORE_MAX_IPS, &err);
	for (size_t i = 0; i < 4; i++)
		(void)ipam_store_last_get(s, i, &last);
	if (inet_prefix_parse("10.0.0.0/24", &rg.subnet) == 0 &&
	    inet_addr_parse("10.0.0.1", &rg.start) == 0 &&
	    inet_addr_parse("10.0.0.254", &rg.end) == 0 &&
	    inet_addr_parse("10.0.0.1", &rg.gateway) == 0)
		(void)ipam_store_count(s, &set);
	cni_err_clear(&err);
	if (inet_addr_parse(flags & 8 ? "10.0.0.2" : "fd00::2", &ip) == 0 &&
	    ipam_store_reserve(s, &ip, &err) == 1) {
		(void)ipam_store_index_add(s, &ip, 1, &err);
		n = ipam_store_find(s, "ctr1", "eth0", false, ips, IPAM_STORE_MAX_IPS, &err);
		FUZZ_ASSERT(n >= 1);
		ipam_store_last_set(s, 0, &ip);
	}
	cni_err_clear(&err);
	(void)ipam_store_release(s, "ctr1", "eth0", &err);
	/* DEL locks with adopt (a stale index is rebuilt first): then nothing of ctr1/eth0 stays */
	if (flags & 2)
		FUZZ_ASSERT(ipam_store_scan(s, exact_cb, &exact) >= 0 && exact == 0);
	cni_err_clear(&err);
	if (flags & 32)
		(void)ipam_store_gc(s, &a, &err);
	else
		(void)ipam_store_index_rebuild(s, &err);
	ipam_store_unlock(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipam_store *s = NULL;
	struct cni_err err = {0};
	int fds = count_fds();
	unsigned flags;

	flags = populate(data, size);
	if (ipam_store_open(data_dir, "net", false, &s, &err) < 0) {
		fuzz_err_ok(&err);
	} else {
		exercise(s, flags);
		ipam_store_close(s);
	}
	canary_check();
	FUZZ_ASSERT(count_fds() == fds);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/lock.h"
#include "ipam/store-internal.h"

#define DIR_MODE  0755 /* as the reference (os.MkdirAll(dir, 0755)) */
#define IDX_MODE  0700
#define FILE_MODE 0600
#define STATE_HDR "weft host-local state v1\n"

/* ---- small helpers ------------------------------------------------------------------------- */

ssize_t ipam_store_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	size_t used = 0, start = 0;
	struct stat st;
	ssize_t n;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		used += (size_t)n;
	}
	if (used + 1 >= len && st.st_size >= (off_t)len)
		return -EFBIG;
	while (used > 0 && isspace((unsigned char)buf[used - 1]))
		used--;
	while (start < used && isspace((unsigned char)buf[start]))
		start++;
	memmove(buf, buf + start, used - start);
	buf[used - start] = '\0';
	return (ssize_t)(used - start);
}

int ipam_store_write_at(int dirfd, const char *name, const char *buf, size_t len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	size_t done = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
		    FILE_MODE);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	/* Nothing past len unless the file was longer (a truncate is a journalled change). */
	if (st.st_size <= (off_t)len)
		return 0;
	return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

bool ipam_store_split_owner(char *content, const char **ret_id, const char **ret_ifname)
{
	char *sep = strstr(content, "\r\n");

	*ret_ifname = "";
	if (sep) {
		*sep = '\0';
		*ret_ifname = sep + 2;
	}
	*ret_id = content;
	return cni_valid_id(content);
}

bool ipam_store_fmt_owner(const char *id, const char *ifname, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s\r\n%s", id, ifname);

	return n > 0 && (size_t)n < len;
}

int ipam_store_unlink_if(struct ipam_store *s, const char *name, const char *expect)
{
	char buf[STORE_CONTENT_MAX];
	ssize_t n = ipam_store_read_at(s->dirfd, name, buf, sizeof(buf));

	if (n == -ENOENT || n == -EFBIG || n == -EINVAL || n == -ELOOP)
		return 0;
	if (n < 0)
		return (int)n;
	if (strcmp(buf, expect) != 0)
		return 0;
	n = ipam_store_spare_put(s, s->dirfd, name);
	if (n < 0)
		return n == -ENOENT ? 0 : (int)n;
	return 1;
}

/* ---- spare inodes (store-internal.h) ----------------------------------------------------------
 */

static void spare_name(int k, char *buf, size_t len)
{
	snprintf(buf, len, "spare.%d", k);
}

bool ipam_store_is_spare(const char *name)
{
	return strncmp(name, "spare.", 6) == 0 || strncmp(name, "claim.", 6) == 0;
}

int ipam_store_spare_put(struct ipam_store *s, int at, const char *name)
{
	char spare[16];

	for (int k = 0; s->idxfd >= 0 && k < STORE_SPARES; k++) {
		spare_name(k, spare, sizeof(spare));
		if (renameat2(at, name, s->idxfd, spare, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == ENOENT)
			return -ENOENT;
		if (errno != EEXIST)
			break; /* no RENAME_NOREPLACE here (EINVAL), or worse: unlink */
	}
	return unlinkat(at, name, 0) < 0 ? -errno : 0;
}

/* A name for a claim: this pid (for GC) and a nonce, so that a process of another pid
 * namespace with the same pid never shares it (the renames refuse an existing name anyway). */
static void claim_name(size_t slot, unsigned attempt, char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, len, "claim.%ld.%zu.%lx", (long)getpid(), slot,
		 (unsigned long)ts.tv_nsec ^ ((unsigned long)attempt << 32));
}

/* A spare moved to a claim name of slot (s->claim[slot]) and rewritten with the owner's
 * content; false when there is none (or it could not be used: the slot then takes an
 * O_TMPFILE). */
static bool spare_claim(struct ipam_store *s, size_t slot)
{
	char *claim = s->claim[slot], spare[16];

	if (s->idxfd < 0)
		return false;
	for (int k = 0; k < STORE_SPARES; k++) {
		spare_name(k, spare, sizeof(spare));
		claim_name(slot, (unsigned)k, claim, sizeof(s->claim[slot]));
		if (renameat2(s->idxfd, spare, s->idxfd, claim, RENAME_NOREPLACE) < 0)
			continue;
		if (ipam_store_write_at(s->idxfd, claim, s->content, s->content_len) == 0)
			return true;
		(void)unlinkat(s->idxfd, claim, 0);
		break;
	}
	claim[0] = '\0';
	return false;
}

/* The claim of slot -> name. -EEXIST: taken; -ENOENT: the claim went (an index rebuild). A
 * claim exists only where RENAME_NOREPLACE worked (spare_claim), so it works here too. */
static int claim_link(struct ipam_store *s, size_t slot, const char *name)
{
	if (renameat2(s->idxfd, s->claim[slot], s->dirfd, name, RENAME_NOREPLACE) < 0)
		return -errno;
	return 0;
}

/* An unused claim goes back to the spares. */
static void claim_return(struct ipam_store *s, size_t slot)
{
	(void)ipam_store_spare_put(s, s->idxfd, s->claim[slot]);
	s->claim[slot][0] = '\0';
}

/* ---- open / close ---------------------------------------------------------------------------- */

/* Opens a directory, making it (and, with parents, the path to it) when it is missing and
 * create says so: the common case, everything there, is one open. */
static int open_dir_at(int at, const char *name, bool create, bool parents, int flags)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	int r;

	if (fd >= 0 || errno != ENOENT || !create)
		return fd < 0 ? -errno : fd;
	r = parents ? fs_mkdir_p(name, DIR_MODE) : mkdirat(at, name, DIR_MODE) < 0 ? -errno : 0;
	if (r < 0 && r != -EEXIST)
		return r;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
	return fd < 0 ? -errno : fd;
}

static int open_net_dir(struct ipam_store *s, const char *data_dir, const char *network,
			bool create, struct cni_err *err)
{
	_cleanup_close_ int dfd = open_dir_at(AT_FDCWD, data_dir, create, true, 0);

	if (dfd < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -dfd, "open dataDir %s", data_dir);
	int fd = open_dir_at(dfd, network, create, false, O_NOFOLLOW);

	if (fd == -ELOOP || fd == -ENOTDIR)
		return cni_err_set(err, CNI_ERR_IPAM, -fd,
				   "%s is not a directory (symlinks are not followed)", s->path);
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -fd, "open %s", s->path);
	s->dirfd = fd;
	return 0;
}

/* .weft: made on ADD; elsewhere used when present. Unusable (a symlink, a file) = no index. */
static void open_index_dir(struct ipam_store *s, bool create)
{
	s->idxfd = openat(s->dirfd, IPAM_STORE_INDEX_DIR,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (s->idxfd >= 0 || errno != ENOENT || !create)
		return;
	if (mkdirat(s->dirfd, IPAM_STORE_INDEX_DIR, IDX_MODE) < 0 && errno != EEXIST)
		return;
	s->idxfd = openat(s->dirfd, IPAM_STORE_INDEX_DIR,
			  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

int ipam_store_open(const char *data_dir, const char *network, bool create, struct ipam_store **ret,
		    struct cni_err *err)
{
	struct ipam_store *s;
	int r;

	if (!cni_valid_id(network))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "invalid network name \"%s\"", network);
	s = calloc(1, sizeof(*s));
	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	s->dirfd = s->lockfd = s->idxfd = -1;
	if ((size_t)snprintf(s->path, sizeof(s->path), "%s/%s", data_dir, network) >=
	    sizeof(s->path)) {
		free(s);
		return cni_err_set(err, CNI_ERR_CONFIG, ENAMETOOLONG, "dataDir is too long");
	}
	r = open_net_dir(s, data_dir, network, create, err);
	if (r < 0) {
		ipam_store_close(s);
		return r;
	}
	open_index_dir(s, create);
	*ret = s;
	return 0;
}

void ipam_store_close(struct ipam_store *s)
{
	if (!s)
		return;
	ipam_store_unlock(s);
	for (size_t i = 0; i < s->n_tmp; i++)
		if (s->claim[i][0])
			claim_return(s, i);
	for (size_t i = 0; i < s->n_tmp; i++)
		if (s->tmp[i] >= 0)
			close(s->tmp[i]);
	if (s->idxfd >= 0)
		close(s->idxfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s);
}

/* ---- reservations ---------------------------------------------------------------------------- */

/* An O_TMPFILE holding the content into *ret; *ret -1 (no_tmpfile set) when the filesystem has
 * none. */
static int tmpfile_open(struct ipam_store *s, int *ret, struct cni_err *err)
{
	_cleanup_close_ int fd = -1;
	int r;

	*ret = -1;
	fd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, FILE_MODE);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		s->no_tmpfile = true;
		return 0;
	}
	if (fd < 0)
		return cni_err_set(err, CNI_ERR_IPAM, errno, "create reservation in %s", s->path);
	r = fs_write_all(fd, s->content, s->content_len);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "write reservation in %s", s->path);
	*ret = TAKE_FD(fd);
	return 0;
}

/* The next slot: a file holding the owner's content, complete before it gets a name: a spare
 * claimed, else an unnamed O_TMPFILE (else nothing: the named temp at reserve time). Not
 * fsync'd (see store.h): the sync was a quarter of a host-local ADD, and it only mattered for a
 * power cut, which takes the pods along. */
static int tmpfile_new(struct ipam_store *s, struct cni_err *err)
{
	size_t i = s->n_tmp;
	int r;

	if (i >= STORE_MAX_TMP)
		return cni_err_set(err, CNI_ERR_INTERNAL, 0,
				   "store: too many reservations at once");
	s->tmp[i] = -1;
	if (spare_claim(s, i)) {
		s->n_tmp++;
		return 0;
	}
	if (s->no_tmpfile)
		return 0;
	r = tmpfile_open(s, &s->tmp[i], err);
	if (r >= 0 && s->tmp[i] >= 0)
		s->n_tmp++;
	return r;
}

int ipam_store_prepare(struct ipam_store *s, const char *id, const char *ifname, size_t n,
		       struct cni_err *err)
{
	int r;

	if (!cni_valid_id(id) || !cni_valid_ifname(ifname) ||
	    (size_t)snprintf(s->id, sizeof(s->id), "%s", id) >= sizeof(s->id) ||
	    (size_t)snprintf(s->ifname, sizeof(s->ifname), "%s", ifname) >= sizeof(s->ifname) ||
	    !ipam_store_fmt_owner(id, ifname, s->content, sizeof(s->content)))
		return cni_err_set(err, CNI_ERR_ENV, 0,
				   "invalid container ID \"%s\" or ifname \"%s\"", id, ifname);
	s->content_len = strlen(s->content);
	for (size_t i = 0; i < n && i < STORE_MAX_TMP && (!s->no_tmpfile || s->n_tmp == i); i++) {
		r = tmpfile_new(s, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* O_TMPFILE -> name: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works without. */
static int link_tmpfile(struct ipam_store *s, int fd, const char *name)
{
	char proc[64];

	if (linkat(fd, "", s->dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, s->dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}

/* Fallback for filesystems without O_TMPFILE: a named temp, made under the lock. */
static int link_named(struct ipam_store *s, const char *name)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = openat(s->dirfd, IPAM_STORE_TMP_NAME,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
	if (fd < 0 && errno == EEXIST)
		goto link; /* ours, from the previous (taken) candidate */
	if (fd < 0)
		return -errno;
	r = fs_write_all(fd, s->content, s->content_len);
	if (r < 0) {
		(void)unlinkat(s->dirfd, IPAM_STORE_TMP_NAME, 0);
		return r;
	}
link:
	if (linkat(s->dirfd, IPAM_STORE_TMP_NAME, s->dirfd, name, 0) < 0)
		return -errno;
	(void)unlinkat(s->dirfd, IPAM_STORE_TMP_NAME, 0);
	return 0;
}

/* The next slot's prepared file (a claim, an O_TMPFILE), else the named temp, -> name: 0,
 * -EEXIST when name is taken, or -errno. A claim that went (an index rebuild by a process that
 * predates spares) leaves this one to the named temp. */
static int slot_link(struct ipam_store *s, const char *name)
{
	size_t i = s->next_tmp;
	int r;

	if (i < s->n_tmp && s->claim[i][0]) {
		r = claim_link(s, i, name);
		if (r != -ENOENT) {
			if (r == 0) {
				s->claim[i][0] = '\0';
				s->next_tmp++;
			}
			return r;
		}
		s->claim[i][0] = '\0';
		s->no_tmpfile = true;
	}
	if (i < s->n_tmp && s->tmp[i] >= 0) {
		r = link_tmpfile(s, s->tmp[i], name);
		if (r == 0) {
			close(s->tmp[i]);
			s->tmp[i] = -1;
			s->next_tmp++;
		}
		return r;
	}
	r = link_named(s, name);
	if (r == 0 && i < s->n_tmp)
		s->next_tmp++;
	return r;
}

int ipam_store_reserve(struct ipam_store *s, const struct inet_addr *ip, struct cni_err *err)
{
	char name[INET6_ADDRSTRLEN];
	int r;

	if (!s->content_len || s->lockfd < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, EINVAL,
				   "store: reserve before prepare/lock");
	inet_addr_fmt(ip, name, sizeof(name));
	if (s->next_tmp >= s->n_tmp) {
		r = tmpfile_new(s, err);
		if (r < 0)
			return r;
	}
	r = slot_link(s, name);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return cni_err_set(err, CNI_ERR_IPAM, -r, "reserve %s in %s", name, s->path);
	return 1;
}

int ipam_store_release_ip(struct ipam_store *s, const struct inet_addr *ip)
{
	char name[INET6_ADDRSTRLEN];

	inet_addr_fmt(ip, name, sizeof(name));
	return ipam_store_unlink_if(s, name, s->content);
}

int ipam_store_last_get(struct ipam_store *s, size_t set, struct inet_addr *ret)
{
	char name[64], buf[INET6_ADDRSTRLEN + 8];
	ssize_t n;

	snprintf(name, sizeof(name), IPAM_STORE_LAST_PFX "%zu", set);
	n = ipam_store_read_at(s->dirfd, name, buf, sizeof(buf));
	if (n < 0)
		return -ENOENT;
	return inet_addr_parse(buf, ret) < 0 ? -ENOENT : 0;
}

void ipam_store_last_set(struct ipam_store *s, size_t set, const struct inet_addr *ip)
{
	char name[64], buf[INET6_ADDRSTRLEN];

	snprintf(name, sizeof(name), IPAM_STORE_LAST_PFX "%zu", set);
	inet_addr_fmt(ip, buf, sizeof(buf));
	(void)ipam_store_write_at(s->dirfd, name, buf, strlen(buf));
}

bool ipam_store_is_reserved(const struct ipam_store *s, const struct inet_addr *ip)
{
	char name[INET6_ADDRSTRLEN];
	struct stat st;

	inet_addr_fmt(ip, name, sizeof(name));
	return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

int64_t ipam_store_count(struct ipam_store *s, const struct ipam_range_set *set)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int64_t n = 0;
	int fd;

	fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct inet_addr a;

		const struct ipam_range *r;

		if (de->d_name[0] == '.' || inet_addr_parse(de->d_name, &a) < 0)
			continue;
		r = ipam_range_set_find(set, &a);
		if (r && !inet_addr_eq(&a, &r->gateway))
			n++;
	}
	return n;
}

/* ---- lock and index state ----------------------------------------------------------------------
 */

static bool state_matches(struct ipam_store *s)
{
	char buf[256], want[256];
	struct stat st;

	if (s->idxfd < 0 || fstat(s->dirfd, &st) < 0)
		return false;
	if (ipam_store_read_at(s->idxfd, "state", buf, sizeof(buf)) < 0)
		return false;
	snprintf(want, sizeof(want), STATE_HDR "%llu %lld %ld", (unsigned long long)st.st_ino,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	return strcmp(buf, want) == 0;
}

/* After the last change of this lock hold. Reading the mtime also makes the kernel give the
 * next change a fine-grained timestamp (multigrain timestamps), so a change by another tool
 * right after ours is seen as a different mtime. */
static void state_record(struct ipam_store *s)
{
	char buf[256];
	struct stat st;
	int n;

	if (s->idxfd < 0 || fstat(s->dirfd, &st) < 0)
		return;
	n = snprintf(buf, sizeof(buf), STATE_HDR "%llu %lld %ld\n", (unsigned long long)st.st_ino,
		     (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	/* A torn or failed write reads back as "no match": a rebuild, never a wrong "complete". */
	(void)ipam_store_write_at(s->idxfd, "state", buf, (size_t)n);
}

int ipam_store_lock(struct ipam_store *s, struct cni_err *err)
{
	int fd;

	if (s->lockfd >= 0)
		return 0;
	fd = lock_acquire_at(s->dirfd, IPAM_STORE_LOCK_NAME, -1, err);
	if (fd < 0)
		return cni_err_wrap(err, "%s", s->path);
	s->lockfd = fd;
	s->complete = state_matches(s);
	/* Only a lock holder writes it: whatever is there was left by a killed process. */
	(void)unlinkat(s->dirfd, IPAM_STORE_TMP_NAME, 0);
	return 0;
}

void ipam_store_unlock(struct ipam_store *s)
{
	if (!s || s->lockfd < 0)
		return;
	if (s->no_tmpfile)
		(void)unlinkat(s->dirfd, IPAM_STORE_TMP_NAME, 0);
	if (s->complete)
		state_record(s);
	close(s->lockfd);
	s->lockfd = -1;
	s->complete = false;
}

bool ipam_store_index_complete(const struct ipam_store *s)
{
	return s->lockfd >= 0 && s->complete;
}

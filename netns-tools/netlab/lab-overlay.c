/* SPDX-License-Identifier: Apache-2.0 */
/* overlay: OverlayFS as in the classic exercise: two read-only lower layers, an upper layer, a work
 * dir and the merged view (mounted in a private mount namespace held by a small process, so the
 * host never sees the mount). verify does the exercise's steps in the merged view (read, create,
 * modify = copy-up, delete = whiteout, replace a directory = opaque) and checks each layer.
 * The exercise: image layers, copy-on-write and whiteouts (docs/netlab.md). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

struct ovl {
	char base[384], layer1[400], layer2[400], upper[400], work[400], merged[400], log[400];
};

static void ovl_paths(const char *dir, struct ovl *o)
{
	snprintf(o->base, sizeof(o->base), "%s/overlay", dir);
	snprintf(o->layer1, sizeof(o->layer1), "%s/layer1", o->base);
	snprintf(o->layer2, sizeof(o->layer2), "%s/layer2", o->base);
	snprintf(o->upper, sizeof(o->upper), "%s/upper", o->base);
	snprintf(o->work, sizeof(o->work), "%s/work", o->base);
	snprintf(o->merged, sizeof(o->merged), "%s/merged", o->base);
	snprintf(o->log, sizeof(o->log), "%s/holder.log", dir);
}

static int put(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX * 2];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (!f || fputs(text, f) < 0)
		return -errno;
	return 0;
}

static char *get(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX * 2];
	_cleanup_fclose_ FILE *f = NULL;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (f)
		n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return f ? buf : NULL;
}

/* The exercise's files: a base layer, an app layer on top, and an upper that overrides. */
static int populate(const struct ovl *o)
{
	const char *dirs[] = {o->base, o->layer1, o->layer2, o->upper, o->work, o->merged};
	char etc[PATH_MAX + 8];
	int r = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0755) < 0)
			return -errno;
	snprintf(etc, sizeof(etc), "%s/etc", o->layer1);
	if (mkdir(etc, 0755) < 0)
		return -errno;
	r = r ?: put(o->layer1, "base.txt", "base file\n");
	r = r ?: put(o->layer1, "config.txt", "config v1\n");
	r = r ?: put(o->layer1, "old.txt", "to be deleted\n");
	r = r ?: put(etc, "hosts", "127.0.0.1 localhost\n");
	r = r ?: put(o->layer2, "lib.txt", "app layer\n");
	r = r ?: put(o->upper, "app.txt", "app file\n");
	r = r ?: put(o->upper, "config.txt", "config v2\n");
	return r;
}

/* `netlab __overlay DIR`: mounts the overlay in a new mount namespace, says "ready", waits. */
static int ovl_helper(int argc, char **argv)
{
	struct ovl o;
	char opts[PATH_MAX * 4];

	if (argc != 2)
		return 2;
	ovl_paths(argv[1], &o);
	snprintf(opts, sizeof(opts), "lowerdir=%s:%s,upperdir=%s,workdir=%s", o.layer2, o.layer1,
		 o.upper, o.work);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("overlay", o.merged, "overlay", 0, opts) < 0) {
		perror("netlab overlay holder");
		return 1;
	}
	printf("mount -t overlay overlay -o %s %s\nready\n", opts, o.merged);
	fflush(stdout);
	for (;;)
		pause();
}

static bool wait_ready(const char *log)
{
	struct timespec ts = {0, 50 * 1000 * 1000};
	char buf[PATH_MAX * 4];

	for (int i = 0; i < 200; i++) {
		char dir[PATH_MAX], *slash;

		snprintf(dir, sizeof(dir), "%s", log);
		slash = strrchr(dir, '/');
		*slash = '\0';
		if (get(dir, slash + 1, buf, sizeof(buf)) && strstr(buf, "\nready"))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static int ovl_up(struct lab *lab)
{
	struct ovl o;
	char *const argv[] = {lab->self, "__overlay", lab->dir, NULL};
	int r;

	ovl_paths(lab->dir, &o);
	r = populate(&o);
	if (r < 0)
		return r;
	if (lab_spawn(lab, argv, o.log, NULL) < 0)
		return -EIO;
	if (!wait_ready(o.log)) {
		fprintf(stderr, "netlab: the overlay holder did not come up (see %s)\n", o.log);
		return -ETIMEDOUT;
	}
	return 0;
}

static pid_t holder_pid(const struct lab *lab)
{
	const json_t *r = lab_find(lab, "proc", "argv0", NULL);

	return r && lab_proc_alive(r) ? (pid_t)json_integer_value(json_object_get(r, "pid")) : -1;
}

static void list_dir(const char *dir, char *buf, size_t len)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.')
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 used ? " " : "", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
}

struct ovl_ctx {
	struct ovl o;
	int fd;
	bool mutate;
};

/* The exercise's steps, done in the merged view. Idempotent, so verify can run again. */
static void mutate(const struct ovl *o)
{
	char buf[256], etc[PATH_MAX + 16], hosts[PATH_MAX + 32], path[PATH_MAX + 16];

	put(o->merged, "new.txt", "new content\n");
	if (!strstr(get(o->merged, "base.txt", buf, sizeof(buf)) ?: "", "changed")) {
		_cleanup_fclose_ FILE *f = NULL;

		snprintf(path, sizeof(path), "%s/base.txt", o->merged);
		f = fopen(path, "ae");
		if (f)
			fputs("changed in the container\n", f);
	}
	snprintf(path, sizeof(path), "%s/old.txt", o->merged);
	unlink(path);
	snprintf(etc, sizeof(etc), "%s/etc", o->merged);
	snprintf(hosts, sizeof(hosts), "%s/hosts", etc);
	if (access(hosts, F_OK) == 0 && unlink(hosts) == 0 && rmdir(etc) == 0 &&
	    mkdir(etc, 0755) == 0)
		put(etc, "resolv.conf", "nameserver 10.0.0.53\n");
}

static int merged_ops(void *arg)
{
	const struct ovl_ctx *x = arg;
	_cleanup_fclose_ FILE *out = fdopen(x->fd, "w");
	char buf[1024], etc[PATH_MAX + 8];

	if (!out)
		return -1;
	fprintf(out, "config=%s\n", get(x->o.merged, "config.txt", buf, sizeof(buf)) ?: "");
	list_dir(x->o.merged, buf, sizeof(buf));
	fprintf(out, "ls=%s\n", buf);
	if (x->mutate)
		mutate(&x->o);
	fprintf(out, "base=%s\n", get(x->o.merged, "base.txt", buf, sizeof(buf)) ?: "");
	list_dir(x->o.merged, buf, sizeof(buf));
	fprintf(out, "ls_after=%s\n", buf);
	snprintf(etc, sizeof(etc), "%s/etc", x->o.merged);
	list_dir(etc, buf, sizeof(buf));
	fprintf(out, "etc=%s\n", buf);
	return 0;
}

/* Runs merged_ops in the holder's mount namespace; its report into buf ("\nk=v\n..."). */
static bool merged_report(const struct lab *lab, bool do_mutate, char *buf, size_t len)
{
	struct ovl_ctx x = {.mutate = do_mutate};
	pid_t pid = holder_pid(lab);
	int p[2];
	ssize_t n = 0, k;

	buf[0] = '\n';
	buf[1] = '\0';
	ovl_paths(lab->dir, &x.o);
	if (pid <= 0 || pipe(p) < 0)
		return false;
	x.fd = p[1];
	lab_in_mntns(pid, merged_ops, &x);
	close(p[1]);
	while ((k = read(p[0], buf + 1 + n, len - 2 - (size_t)n)) > 0)
		n += k;
	close(p[0]);
	buf[1 + n] = '\0';
	return n > 0;
}

static const char *field(const char *rep, const char *key, char *buf, size_t len)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\n%s=", key);
	p = strstr(rep, pat);
	snprintf(buf, len, "%.*s", p ? (int)strcspn(p + strlen(pat), "\n") : 0,
		 p ? p + strlen(pat) : "");
	return buf;
}

static bool has_word(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

static void ovl_verify(struct lab *lab)
{
	char rep[4096], v[1024], b[256], path[PATH_MAX + 16];
	struct ovl o;
	struct stat st;

	ovl_paths(lab->dir, &o);
	if (!lab_check(lab, merged_report(lab, true, rep, sizeof(rep)),
		       "the merged view is mounted in the holder's mount namespace"))
		return;
	field(rep, "ls", v, sizeof(v));
	lab_check(lab,
		  has_word(v, "app.txt") && has_word(v, "base.txt") && has_word(v, "config.txt") &&
			  has_word(v, "lib.txt"),
		  "merged = upper + layer2 + layer1: %s", v);
	lab_check(lab, strcmp(field(rep, "config", v, sizeof(v)), "config v2") == 0,
		  "config.txt in both: the upper one wins ('%s')", v);
	lab_check(lab, get(o.upper, "new.txt", b, sizeof(b)) && !get(o.layer1, "new.txt", v, 8),
		  "a new file goes to upper only (upper/new.txt '%s')", b);
	lab_check(lab,
		  strstr(get(o.upper, "base.txt", b, sizeof(b)) ?: "", "changed") &&
			  strcmp(get(o.layer1, "base.txt", v, sizeof(v)) ?: "", "base file") == 0,
		  "modifying base.txt copied it up; layer1/base.txt is untouched ('%s')", v);
	snprintf(path, sizeof(path), "%s/old.txt", o.upper);
	lab_check(lab, lstat(path, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0),
		  "deleting old.txt left a whiteout in upper (char device 0/0)");
	lab_check(lab,
		  get(o.layer1, "old.txt", b, sizeof(b)) &&
			  !has_word(field(rep, "ls_after", v, sizeof(v)), "old.txt"),
		  "old.txt is still in layer1 but gone from the merged view");
	snprintf(path, sizeof(path), "%s/etc", o.upper);
	memset(b, 0, sizeof(b));
	lab_check(lab,
		  getxattr(path, "trusted.overlay.opaque", b, sizeof(b) - 1) > 0 && b[0] == 'y',
		  "replacing etc/ made upper/etc opaque (trusted.overlay.opaque=y)");
	lab_check(lab, strcmp(field(rep, "etc", v, sizeof(v)), "resolv.conf") == 0,
		  "merged etc/ hides layer1's hosts: '%s'", v);
	list_dir(o.merged, v, sizeof(v));
	lab_check(lab, v[0] == '\0', "on the host, %s is an empty directory (no mount)", o.merged);
}

static char *one_line(char *s)
{
	for (char *c = s; *c; c++)
		if (*c == '\n')
			*c = '/';
	return s;
}

static void layer_group(struct topo *t, const char *title, const char *dir)
{
	struct dirent **ents = NULL;
	int g = lab_topo_group(t, "dir", "%s (%s)", title, dir),
	    n = scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		char path[PATH_MAX + 300], b[128], x[4] = "";
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (ents[i]->d_name[0] != '.' && lstat(path, &st) == 0) {
			if (S_ISCHR(st.st_mode))
				lab_topo_node(t, g, ents[i]->d_name, "whiteout (char 0/0)");
			else if (S_ISDIR(st.st_mode))
				lab_topo_node(t, g, ents[i]->d_name, "dir%s",
					      getxattr(path, "trusted.overlay.opaque", x, 3) > 0
						      ? ", opaque"
						      : "");
			else if (get(dir, ents[i]->d_name, b, sizeof(b)))
				lab_topo_node(t, g, ents[i]->d_name, "\"%s\"", one_line(b));
		}
		free(ents[i]);
	}
	free(ents);
}

static int ovl_show(struct lab *lab, struct topo *t)
{
	char rep[4096], v[1024];
	struct ovl o;
	int g;

	ovl_paths(lab->dir, &o);
	snprintf(t->title, sizeof(t->title),
		 "overlay: lowerdir=layer2:layer1, upperdir, workdir "
		 "-> merged");
	g = lab_topo_group(t, "netns", "merged (in the mount namespace of pid %d)",
			   (int)holder_pid(lab));
	if (merged_report(lab, false, rep, sizeof(rep)))
		lab_topo_node(t, g, "ls", "%s", field(rep, "ls", v, sizeof(v)));
	layer_group(t, "upper (rw)", o.upper);
	layer_group(t, "layer2 (ro, top)", o.layer2);
	layer_group(t, "layer1 (ro, bottom)", o.layer1);
	lab_topo_note(t, "lookup: upper, then layer2, then layer1; the first hit wins");
	lab_topo_note(t,
		      "write to a lower file: copy-up to upper; delete: whiteout; replace a dir: "
		      "opaque");
	return 0;
}

const struct scenario lab_overlay = {
	.name = "overlay",
	.origin = "container image layers with OverlayFS: copy-on-write, whiteouts, opaque dirs",
	.summary = "OverlayFS lower/upper/work/merged: copy-up, whiteout, opaque dir",
	.up = ovl_up,
	.verify = ovl_verify,
	.show = ovl_show,
	.helper = ovl_helper,
};

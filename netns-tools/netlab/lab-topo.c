/* SPDX-License-Identifier: Apache-2.0 */
/* Topology pictures: groups (namespaces, cgroups, directories) holding nodes (interfaces,
 * files, limits), edges between nodes (veth pairs, bridge ports). Text for the terminal,
 * Graphviz DOT, and SVG/PNG through `dot` when graphviz is installed. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

int lab_topo_group(struct topo *t, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (t->ng >= TOPO_MAX_GROUPS)
		return (int)t->ng - 1;
	snprintf(t->g[t->ng].kind, sizeof(t->g[t->ng].kind), "%s", kind);
	va_start(ap, fmt);
	vsnprintf(t->g[t->ng].title, sizeof(t->g[t->ng].title), fmt, ap);
	va_end(ap);
	return (int)t->ng++;
}

int lab_topo_node(struct topo *t, int group, const char *label, const char *fmt, ...)
{
	struct topo_node *n;
	va_list ap;

	if (t->nn >= TOPO_MAX_NODES)
		return -1;
	n = &t->n[t->nn];
	n->group = group;
	snprintf(n->label, sizeof(n->label), "%s", label);
	va_start(ap, fmt);
	vsnprintf(n->detail, sizeof(n->detail), fmt ? fmt : "", ap);
	va_end(ap);
	return (int)t->nn++;
}

void lab_topo_edge(struct topo *t, int a, int b, const char *label)
{
	if (t->ne >= TOPO_MAX_EDGES || a < 0 || b < 0)
		return;
	t->e[t->ne].a = a;
	t->e[t->ne].b = b;
	snprintf(t->e[t->ne].label, sizeof(t->e[t->ne].label), "%s", label ? label : "");
	t->ne++;
}

void lab_topo_note(struct topo *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nnotes >= TOPO_MAX_NOTES)
		return;
	va_start(ap, fmt);
	vsnprintf(t->notes[t->nnotes++], sizeof(t->notes[0]), fmt, ap);
	va_end(ap);
}

/* Display width of UTF-8 text (every code point counts one column). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void repeat(FILE *out, const char *s, size_t n)
{
	while (n--)
		fputs(s, out);
}

static void node_line(const struct topo_node *n, size_t label_w, char *buf, size_t len)
{
	snprintf(buf, len, "%-*s  %s", (int)label_w, n->label, n->detail);
}

static size_t box_width(const struct topo *t, size_t label_w)
{
	char line[320];
	size_t w = 20;

	for (size_t i = 0; i < t->ng; i++)
		if (width(t->g[i].title) + 4 > w)
			w = width(t->g[i].title) + 4;
	for (size_t i = 0; i < t->nn; i++) {
		node_line(&t->n[i], label_w, line, sizeof(line));
		if (width(line) + 2 > w)
			w = width(line) + 2;
	}
	return w;
}

static void print_box(const struct topo *t, size_t g, size_t w, size_t label_w, FILE *out)
{
	char line[320];

	fprintf(out, "┌─ %s ", t->g[g].title);
	repeat(out, "─", w - width(t->g[g].title) - 3);
	fputs("┐\n", out);
	for (size_t i = 0; i < t->nn; i++) {
		if (t->n[i].group != (int)g)
			continue;
		node_line(&t->n[i], label_w, line, sizeof(line));
		fprintf(out, "│ %s", line);
		repeat(out, " ", w - width(line) - 1);
		fputs("│\n", out);
	}
	fputs("└", out);
	repeat(out, "─", w);
	fputs("┘\n", out);
}

/* "group:label", the group by its short name (its title up to " ("). */
static const char *endpoint(const struct topo *t, int n, char *buf, size_t len)
{
	const char *title = t->g[t->n[n].group].title, *paren = strstr(title, " (");
	int tl = paren ? (int)(paren - title) : (int)strlen(title);

	snprintf(buf, len, "%.*s:%s", tl, title, t->n[n].label);
	return buf;
}

void lab_topo_print_text(const struct topo *t, FILE *out)
{
	size_t label_w = 0, w;
	char a[160], b[160];

	for (size_t i = 0; i < t->nn; i++)
		if (strlen(t->n[i].label) > label_w)
			label_w = strlen(t->n[i].label);
	w = box_width(t, label_w);
	fprintf(out, "%s\n\n", t->title);
	for (size_t g = 0; g < t->ng; g++)
		print_box(t, g, w, label_w, out);
	if (t->ne)
		fputs("\nlinks:\n", out);
	for (size_t i = 0; i < t->ne; i++)
		fprintf(out, "  %s ◄──%s%s%s──► %s\n", endpoint(t, t->e[i].a, a, sizeof(a)),
			t->e[i].label[0] ? " " : "", t->e[i].label, t->e[i].label[0] ? " " : "",
			endpoint(t, t->e[i].b, b, sizeof(b)));
	if (t->nnotes)
		fputc('\n', out);
	for (size_t i = 0; i < t->nnotes; i++)
		fprintf(out, "  * %s\n", t->notes[i]);
}

/* DOT string literal: quotes and backslashes escaped; " | " becomes a line break. */
static void dot_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (strncmp(s, " | ", 3) == 0) {
			fputs("\\n", out);
			s += 2;
		} else if (*s == '"' || *s == '\\') {
			fprintf(out, "\\%c", *s);
		} else {
			fputc(*s, out);
		}
	}
	fputc('"', out);
}

static const char *group_color(const char *kind)
{
	if (strcmp(kind, "host") == 0)
		return "#fde2c8";
	if (strcmp(kind, "cgroup") == 0)
		return "#e4d9f7";
	if (strcmp(kind, "dir") == 0)
		return "#f4f1d0";
	if (strcmp(kind, "outside") == 0)
		return "#e0e0e0";
	return "#d9ecf7";
}

void lab_topo_print_dot(const struct topo *t, FILE *out)
{
	fputs("graph netlab {\n\tgraph [fontname=\"Helvetica\", rankdir=LR, label=", out);
	dot_str(out, t->title);
	fputs(", labelloc=t];\n\tnode [shape=box, style=\"rounded,filled\", fillcolor=white, "
	      "fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\", fontsize=10];\n",
	      out);
	for (size_t g = 0; g < t->ng; g++) {
		fprintf(out, "\tsubgraph cluster_%zu {\n\t\tlabel=", g);
		dot_str(out, t->g[g].title);
		fprintf(out, ";\n\t\tstyle=\"rounded,filled\"; fillcolor=\"%s\";\n",
			group_color(t->g[g].kind));
		for (size_t i = 0; i < t->nn; i++) {
			char label[320];

			if (t->n[i].group != (int)g)
				continue;
			snprintf(label, sizeof(label), "%s%s%s", t->n[i].label,
				 t->n[i].detail[0] ? " | " : "", t->n[i].detail);
			fprintf(out, "\t\tn%zu [label=", i);
			dot_str(out, label);
			fputs("];\n", out);
		}
		fputs("\t}\n", out);
	}
	for (size_t i = 0; i < t->ne; i++) {
		fprintf(out, "\tn%d -- n%d [label=", t->e[i].a, t->e[i].b);
		dot_str(out, t->e[i].label);
		fputs("];\n", out);
	}
	if (t->nnotes) {
		char notes[TOPO_MAX_NOTES * 200 + 64] = "";

		for (size_t i = 0; i < t->nnotes; i++) {
			strcat(notes, t->notes[i]);
			if (i + 1 < t->nnotes)
				strcat(notes, " | ");
		}
		fputs("\tnotes [shape=note, fillcolor=\"#ffffe0\", label=", out);
		dot_str(out, notes);
		fputs("];\n", out);
	}
	fputs("}\n", out);
}

int lab_topo_render(const struct topo *t, const char *format, const char *path)
{
	char fmt[16];
	int p[2], st;
	pid_t pid;
	FILE *f;

	snprintf(fmt, sizeof(fmt), "-T%s", format);
	if (access("/usr/bin/dot", X_OK) < 0 && access("/usr/local/bin/dot", X_OK) < 0)
		return -ENOENT;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(p[0]);
		close(p[1]);
		return -e;
	}
	if (pid == 0) {
		dup2(p[0], STDIN_FILENO);
		execlp("dot", "dot", fmt, "-o", path, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	f = fdopen(p[1], "w");
	if (f) {
		lab_topo_print_dot(t, f);
		fclose(f);
	} else {
		close(p[1]);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

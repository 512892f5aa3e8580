/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/naming.h"
#include "plugins/lib/peers.h"

#define BAD(err, ...) cni_err_set(err, CNI_ERR_CONFIG, 0, __VA_ARGS__)

void peers_free(struct peers *p)
{
	if (!p)
		return;
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct peer *)a)->name, ((const struct peer *)b)->name);
}

static int set_name(struct peer *p, const char *name, const char *source, size_t i,
		    struct cni_err *err)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > PEER_NAME_MAX)
		return BAD(err, "%s: entry %zu: \"name\" missing, empty or longer than %d", source,
			   i, PEER_NAME_MAX);
	for (const char *c = name; *c; c++)
		if (*c <= ' ' || *c == '/' || *c == 0x7f)
			return BAD(err, "%s: entry %zu: invalid node name \"%s\"", source, i, name);
	memcpy(p->name, name, n + 1);
	return 0;
}

static int set_addrs(struct peer *p, const char *ip, const char *cidr, const char *source,
		     struct cni_err *err)
{
	struct inet_prefix c;

	if (!ip || inet_addr_parse(ip, &p->node_ip) < 0)
		return BAD(err, "%s: node \"%s\": invalid nodeIP \"%s\"", source, p->name,
			   ip ? ip : "(missing)");
	if (!cidr || inet_prefix_parse(cidr, &c) < 0)
		return BAD(err, "%s: node \"%s\": invalid podCIDR \"%s\"", source, p->name,
			   cidr ? cidr : "(missing)");
	inet_prefix_network(&c, &p->pod_cidr);
	return 0;
}

static int parse_entry(const json_t *e, const char *source, size_t i, struct peer *p,
		       struct cni_err *err)
{
	const char *ip, *cidr;

	if (!json_is_object(e))
		return BAD(err, "%s: entry %zu is not an object", source, i);
	if (set_name(p, json_string_value(json_object_get(e, "name")), source, i, err) < 0)
		return -EINVAL;
	ip = json_string_value(json_object_get(e, "nodeIP"));
	cidr = json_string_value(json_object_get(e, "podCIDR"));
	return set_addrs(p, ip, cidr, source, err);
}

/* spec.podCIDR, else spec.podCIDRs[0]; NULL when not assigned. */
static const char *node_cidr(const json_t *spec)
{
	const char *c = json_string_value(json_object_get(spec, "podCIDR"));

	if (c && *c)
		return c;
	c = json_string_value(json_array_get(json_object_get(spec, "podCIDRs"), 0));
	return c && *c ? c : NULL;
}

/* The first InternalIP of the pod CIDR's family, else the first InternalIP. */
static const char *node_ip(const json_t *status, const char *cidr)
{
	const json_t *a, *addrs = json_object_get(status, "addresses");
	const char *first = NULL, *ip;
	bool v6 = cidr && strchr(cidr, ':');
	size_t i;

	json_array_foreach(addrs, i, a)
	{
		if (!json_is_string(json_object_get(a, "type")) ||
		    strcmp(json_string_value(json_object_get(a, "type")), "InternalIP") != 0)
			continue;
		ip = json_string_value(json_object_get(a, "address"));
		if (!ip)
			continue;
		if (!first)
			first = ip;
		if (!!strchr(ip, ':') == v6)
			return ip;
	}
	return first;
}

int peers_parse_node(const json_t *e, const char *source, size_t i, struct peer *p,
		     struct cni_err *err)
{
	const char *cidr, *ip;

	if (!json_is_object(e))
		return BAD(err, "%s: items[%zu] is not an object", source, i);
	if (set_name(p, json_string_value(json_object_get(json_object_get(e, "metadata"), "name")),
		     source, i, err) < 0)
		return -EINVAL;
	cidr = node_cidr(json_object_get(e, "spec"));
	ip = node_ip(json_object_get(e, "status"), cidr);
	if (!cidr || !ip)
		return 0;
	return set_addrs(p, ip, cidr, source, err) < 0 ? -EINVAL : 1;
}

void peers_sort(struct peers *p)
{
	qsort(p->v, p->n, sizeof(*p->v), name_cmp);
}

static int check_unique(const struct peers *p, const char *source, struct cni_err *err)
{
	for (size_t i = 1; i < p->n; i++)
		if (strcmp(p->v[i - 1].name, p->v[i].name) == 0)
			return BAD(err, "%s: node \"%s\" is listed twice", source, p->v[i].name);
	return 0;
}

int peers_parse(const json_t *j, const char *source, struct peers *ret, struct cni_err *err)
{
	bool nodelist = json_is_object(j);
	const json_t *list = nodelist ? json_object_get(j, "items") : j;
	_cleanup_free_ struct peer *v = NULL;
	struct peers p = {0};
	size_t n = json_array_size(list);
	int r;

	if (!json_is_array(list))
		return BAD(err, "%s: expected a list of peers or a NodeList with \"items\"",
			   source);
	if (n > PEERS_MAX)
		return BAD(err, "%s: %zu nodes, more than %d", source, n, PEERS_MAX);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "%s", source);
	for (size_t i = 0; i < n; i++) {
		if (nodelist)
			r = peers_parse_node(json_array_get(list, i), source, i, &v[p.n], err);
		else
			r = parse_entry(json_array_get(list, i), source, i, &v[p.n], err) < 0 ? -1
											      : 1;
		if (r < 0)
			return -EINVAL;
		p.n += (size_t)r;
	}
	qsort(v, p.n, sizeof(*v), name_cmp);
	p.v = v;
	r = check_unique(&p, source, err);
	if (r < 0)
		return r;
	peers_free(ret);
	ret->v = TAKE_PTR(v);
	ret->n = p.n;
	return 0;
}

static int read_bounded(const char *path, char **ret, struct cni_err *err)
{
	int r = fs_read_file(path, PEERS_FILE_MAX, ret, NULL);

	if (r == -EFBIG || r == -EINVAL)
		return cni_err_set(err, CNI_ERR_CONFIG, EINVAL,
				   "peersFile \"%s\" is not a regular file of at most %u bytes",
				   path, PEERS_FILE_MAX);
	if (r == -ENOMEM)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "peersFile \"%s\"", path);
	if (r < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, -r, "peersFile \"%s\" is unreadable", path);
	return 0;
}

int peers_load_file(const char *path, struct peers *ret, struct cni_err *err)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_json_ json_t *j = NULL;
	json_error_t je;
	int r;

	r = read_bounded(path, &buf, err);
	if (r < 0)
		return r;
	j = json_loads(buf, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return cni_err_setd(err, CNI_ERR_CONFIG, EINVAL, je.text,
				    "peersFile \"%s\" is not valid JSON (line %d)", path, je.line);
	return peers_parse(j, path, ret, err);
}

/* The first index whose name is not below name (p sorted). */
static size_t lower_bound(const struct peers *p, const char *name)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(p->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

long peers_find(const struct peers *p, const char *name)
{
	size_t i = lower_bound(p, name);

	return i < p->n && strcmp(p->v[i].name, name) == 0 ? (long)i : -1;
}

void peers_remove(struct peers *p, const char *name)
{
	long i = peers_find(p, name);

	if (i < 0)
		return;
	memmove(&p->v[i], &p->v[i + 1], (p->n - (size_t)i - 1) * sizeof(*p->v));
	p->n--;
}

int peers_insert(struct peers *p, const struct peer *x)
{
	size_t i = lower_bound(p, x->name);
	struct peer *v;

	if (i < p->n && strcmp(p->v[i].name, x->name) == 0) {
		p->v[i] = *x;
		return 0;
	}
	v = realloc(p->v, (p->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	p->v = v;
	memmove(&v[i + 1], &v[i], (p->n - i) * sizeof(*v));
	v[i] = *x;
	p->n++;
	return 0;
}

int peers_copy(const struct peers *in, struct peers *ret)
{
	struct peer *v = realloc(ret->v, (in->n + 1) * sizeof(*v)); /* its pages reused */

	if (!v)
		return -ENOMEM;
	if (in->n)
		memcpy(v, in->v, in->n * sizeof(*v));
	ret->v = v;
	ret->n = in->n;
	return 0;
}

int peers_take_self(struct peers *p, const char *self, struct peer *ret_self)
{
	long i = peers_find(p, self);

	if (i < 0)
		return 0;
	*ret_self = p->v[i];
	memmove(&p->v[i], &p->v[i + 1], (p->n - (size_t)i - 1) * sizeof(*p->v));
	p->n--;
	return 1;
}

bool peers_eq(const struct peer *a, const struct peer *b)
{
	return strcmp(a->name, b->name) == 0 && inet_addr_eq(&a->node_ip, &b->node_ip) &&
	       a->pod_cidr.len == b->pod_cidr.len &&
	       inet_addr_eq(&a->pod_cidr.addr, &b->pod_cidr.addr);
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct peer *x = *(const struct peer *const *)a, *y = *(const struct peer *const *)b;
	int c = inet_addr_cmp(&x->pod_cidr.addr, &y->pod_cidr.addr);

	return c ? c : (int)x->pod_cidr.len - (int)y->pod_cidr.len;
}

static int ip_cmp(const void *a, const void *b)
{
	const struct peer *x = *(const struct peer *const *)a, *y = *(const struct peer *const *)b;

	return inet_addr_cmp(&x->node_ip, &y->node_ip);
}

/* Sorted by network address, two prefixes overlap only if some adjacent pair does (anything
 * sorted between a prefix and one it contains lies inside it too). */
static int check_pairs(const struct peer **s, size_t n, struct cni_err *err)
{
	char a[INET_PREFIX_STRLEN], b[INET_PREFIX_STRLEN];

	qsort(s, n, sizeof(*s), cidr_cmp);
	for (size_t i = 1; i < n; i++)
		if (inet_prefix_overlaps(&s[i - 1]->pod_cidr, &s[i]->pod_cidr))
			return BAD(
				err, "podCIDR %s of node \"%s\" overlaps podCIDR %s of node \"%s\"",
				inet_prefix_fmt(&s[i]->pod_cidr, a, sizeof(a)), s[i]->name,
				inet_prefix_fmt(&s[i - 1]->pod_cidr, b, sizeof(b)), s[i - 1]->name);
	qsort(s, n, sizeof(*s), ip_cmp);
	for (size_t i = 1; i < n; i++)
		if (inet_addr_eq(&s[i - 1]->node_ip, &s[i]->node_ip))
			return BAD(err, "nodes \"%s\" and \"%s\" have the same nodeIP %s",
				   s[i - 1]->name, s[i]->name,
				   inet_addr_fmt(&s[i]->node_ip, a, sizeof(a)));
	return 0;
}

int peers_validate_self(const struct peer *self, const struct inet_prefix *local, size_t n_local,
			struct cni_err *err)
{
	char a[INET_PREFIX_STRLEN], b[INET_PREFIX_STRLEN];
	struct inet_prefix l;

	for (size_t j = 0; self && j < n_local; j++) {
		inet_prefix_network(&local[j], &l);
		if (inet_prefix_covers(&self->pod_cidr, &l))
			continue;
		return BAD(err,
			   "podCIDR %s of this node (\"%s\") does not contain the local range %s%s",
			   inet_prefix_fmt(&self->pod_cidr, a, sizeof(a)), self->name,
			   inet_prefix_fmt(&l, b, sizeof(b)),
			   self->pod_cidr.addr.family != l.addr.family
				   ? " (one pod CIDR per node: dual-stack is not supported)"
				   : "");
	}
	return 0;
}

static int check_local(const struct peers *p, const struct inet_prefix *local, size_t n_local,
		       struct cni_err *err)
{
	char a[INET_PREFIX_STRLEN], b[INET_PREFIX_STRLEN];
	struct inet_prefix l;

	for (size_t j = 0; j < n_local; j++) {
		inet_prefix_network(&local[j], &l);
		for (size_t i = 0; i < p->n; i++)
			if (inet_prefix_overlaps(&p->v[i].pod_cidr, &l))
				return BAD(err,
					   "podCIDR %s of node \"%s\" overlaps the local range %s",
					   inet_prefix_fmt(&p->v[i].pod_cidr, a, sizeof(a)),
					   p->v[i].name, inet_prefix_fmt(&l, b, sizeof(b)));
	}
	return 0;
}

int peers_validate(const struct peers *p, const struct peer *self, const struct inet_prefix *local,
		   size_t n_local, struct cni_err *err)
{
	_cleanup_free_ const struct peer **s = calloc(p->n + 1, sizeof(*s));
	size_t n = 0;
	int r;

	if (!s)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "validate peers");
	for (size_t i = 0; i < p->n; i++)
		s[n++] = &p->v[i];
	if (self)
		s[n++] = self;
	r = check_pairs(s, n, err);
	if (r >= 0)
		r = peers_validate_self(self, local, n_local, err);
	if (r >= 0)
		r = check_local(p, local, n_local, err);
	return r;
}

static uint64_t mix(uint64_t h, uint64_t x)
{
	h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 32);
}

/* One peer's share of the digest: its name eight bytes at a time, then its two addresses'
 * hashes, finished so that the sum of many stays spread over all 64 bits. */
static uint64_t peer_hash(const struct peer *p)
{
	size_t n = strlen(p->name);
	uint64_t h = mix(NAMING_HASH_INIT, n), x;

	for (size_t i = 0; i < n; i += 8) {
		x = 0;
		memcpy(&x, p->name + i, n - i < 8 ? n - i : 8);
		h = mix(h, x);
	}
	h = mix(h, inet_prefix_hash(&p->node_ip, 0));
	h = mix(h, inet_prefix_hash(&p->pod_cidr.addr, p->pod_cidr.len));
	return naming_mix64(h);
}

void peers_digest(const struct peers *p, const struct peer *extra, const char *params, char buf[17])
{
	uint64_t sum = extra ? peer_hash(extra) : 0, n = p->n + !!extra, h;

	for (size_t i = 0; i < p->n; i++)
		sum += peer_hash(&p->v[i]);
	h = naming_hash_bytes(NAMING_HASH_INIT, params ? params : "",
			      params ? strlen(params) + 1 : 1);
	h = naming_hash_bytes(h, &n, sizeof(n));
	h = naming_hash_bytes(h, &sum, sizeof(sum));
	snprintf(buf, 17, "%016llx", (unsigned long long)h);
}

void peers_vtep_mac(const char *network, const char *node, const struct inet_addr *node_ip,
		    uint8_t mac[6])
{
	char ip[INET6_ADDRSTRLEN];
	const char *parts[] = {"weft-vtep", network, node, inet_addr_fmt(node_ip, ip, sizeof(ip))};
	uint64_t h = naming_hash(parts, ARRAY_SIZE(parts));

	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * (7 - i)));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02); /* unicast, locally administered */
}

static char *put_str(char *d, const char *s)
{
	*d++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20)
			d += sprintf(d, "\\u%04x", c);
		else {
			if (c == '"' || c == '\\')
				*d++ = '\\';
			*d++ = (char)c;
		}
	}
	*d++ = '"';
	return d;
}

static char *put_lit(char *d, const char *s)
{
	size_t n = strlen(s);

	memcpy(d, s, n);
	return d + n;
}

static char *put_peer(char *d, const struct peer *p)
{
	char a[INET_PREFIX_STRLEN];

	d = put_str(put_lit(d, "{\"name\":"), p->name);
	d = put_str(put_lit(d, ",\"nodeIP\":"), inet_addr_fmt(&p->node_ip, a, sizeof(a)));
	d = put_str(put_lit(d, ",\"podCIDR\":"), inet_prefix_fmt(&p->pod_cidr, a, sizeof(a)));
	*d++ = '}';
	return d;
}

char *peers_json_write(char *d, const struct peers *p, const struct peer *extra)
{
	bool first = true;

	*d++ = '[';
	for (size_t i = 0; i <= p->n; i++) {
		if (extra && (i == p->n || strcmp(extra->name, p->v[i].name) < 0)) {
			d = put_peer(first ? d : put_lit(d, ","), extra);
			first = false;
			extra = NULL;
		}
		if (i < p->n) {
			d = put_peer(first ? d : put_lit(d, ","), &p->v[i]);
			first = false;
		}
	}
	*d++ = ']';
	*d = '\0';
	return d;
}

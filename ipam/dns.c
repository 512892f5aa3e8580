/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ipam/dns.h"

#define MAX_FIELDS 64

struct dns_acc {
	json_t *nameservers, *search, *options;
	const char *domain;
	size_t domain_len;
};

/* Splits line[0..len) on whitespace into (ptr, len) pairs. Returns the field count. */
static size_t split_fields(const char *line, size_t len, const char **f, size_t *fl, size_t max)
{
	size_t n = 0, i = 0;

	while (i < len && n < max) {
		while (i < len && isspace((unsigned char)line[i]))
			i++;
		if (i == len)
			break;
		f[n] = line + i;
		while (i < len && !isspace((unsigned char)line[i]))
			i++;
		fl[n] = (size_t)(line + i - f[n]);
		n++;
	}
	return n;
}

static int append_fields(json_t *arr, const char **f, const size_t *fl, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		if (json_array_append_new(arr, json_stringn(f[i], fl[i])) < 0)
			return -ENOMEM;
	return 0;
}

static int dns_line(struct dns_acc *acc, const char *line, size_t len)
{
	const char *f[MAX_FIELDS];
	size_t fl[MAX_FIELDS], n;

	n = split_fields(line, len, f, fl, MAX_FIELDS);
	if (n < 2 || f[0][0] == '#' || f[0][0] == ';')
		return 0;
	if (fl[0] == 10 && !memcmp(f[0], "nameserver", 10))
		return append_fields(acc->nameservers, f, fl, 1, 2);
	if (fl[0] == 6 && !memcmp(f[0], "domain", 6)) {
		acc->domain = f[1];
		acc->domain_len = fl[1];
		return 0;
	}
	if (fl[0] == 6 && !memcmp(f[0], "search", 6))
		return append_fields(acc->search, f, fl, 1, n);
	if (fl[0] == 7 && !memcmp(f[0], "options", 7))
		return append_fields(acc->options, f, fl, 1, n);
	return 0;
}

static int dns_build(struct dns_acc *acc, json_t **ret)
{
	_cleanup_json_ json_t *o = json_object();

	if (!o)
		return -ENOMEM;
	if (json_array_size(acc->nameservers))
		json_object_set(o, "nameservers", acc->nameservers);
	if (acc->domain)
		json_object_set_new(o, "domain", json_stringn(acc->domain, acc->domain_len));
	if (json_array_size(acc->search))
		json_object_set(o, "search", acc->search);
	if (json_array_size(acc->options))
		json_object_set(o, "options", acc->options);
	*ret = json_object_size(o) ? TAKE_PTR(o) : NULL;
	return 0;
}

/* Parses text: "nameserver X" (appended), "domain X" (last wins), "search A B" and
 * "options A B" (appended); '#' and ';' start comment lines; lines with one field are skipped.
 * *ret = {nameservers?, domain?, search?, options?} with only the non-empty keys, or NULL when
 * nothing was found. */
static int ipam_dns_parse(const char *text, size_t len, json_t **ret, struct cni_err *err)
{
	_cleanup_json_ json_t *ns = json_array(), *search = json_array(), *opts = json_array();
	struct dns_acc acc = {.nameservers = ns, .search = search, .options = opts};
	size_t i = 0;

	if (!ns || !search || !opts)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (text + i)) : len - i;

		if (dns_line(&acc, text + i, l) < 0)
			return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
		i += l + 1;
	}
	if (dns_build(&acc, ret) < 0)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	return 0;
}

int ipam_dns_parse_file(const char *path, json_t **ret, struct cni_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	_cleanup_free_ char *buf = NULL;
	size_t used = 0;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return cni_err_set(err, CNI_ERR_CONFIG, errno, "resolvConf %s: cannot open", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return cni_err_set(err, CNI_ERR_CONFIG, 0, "resolvConf %s: not a regular file",
				   path);
	buf = malloc(IPAM_RESOLV_CONF_MAX);
	if (!buf)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "out of memory");
	while ((n = read(fd, buf + used, IPAM_RESOLV_CONF_MAX - used)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cni_err_set(err, CNI_ERR_IO, errno, "resolvConf %s: read", path);
		used += (size_t)n;
		if (used == IPAM_RESOLV_CONF_MAX)
			return cni_err_set(err, CNI_ERR_CONFIG, 0, "resolvConf %s: too large",
					   path);
	}
	return ipam_dns_parse(buf, used, ret, err);
}

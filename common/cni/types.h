/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI result model (one in-memory shape for every spec version) and CNI versions.
 * Encoding to and decoding from 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0 follows
 * docs/cni-contract.md sections 1.5-1.6. */
#ifndef WEFT_CNI_TYPES_H
#define WEFT_CNI_TYPES_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"
#include "common/inet.h"

/* Spec versions this toolkit speaks, oldest first. */
#define CNI_SUPPORTED_VERSIONS "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"
#define CNI_VERSION_LATEST     "1.1.0"

/* Parse "M.m.p" into a comparable integer (M*10000 + m*100 + p). Like Go's version.ParseVersion
 * "M" and "M.m" are accepted (missing parts are 0); m and p < 100, M < 10000. -EINVAL when
 * malformed (including ""). */
int cni_version_parse(const char *s, int *ret);
/* True when s is one of CNI_SUPPORTED_VERSIONS. */
bool cni_version_supported(const char *s);
/* Compares two well-formed version strings like strcmp. Malformed ones sort lowest. */
int cni_version_cmp(const char *a, const char *b);
/* The integer cni_version_parse() yields for M.m.p. */
#define CNI_VERSION_NUM(M, m, p) ((M)*10000 + (m)*100 + (p))
/* CNI_SUPPORTED_VERSIONS as an array (oldest first); returns its length. */
size_t cni_versions_list(const char *const **ret);

#define CNI_MAX_IFACES 16
#define CNI_MAX_IPS    16
#define CNI_MAX_ROUTES 64

struct cni_iface {
	char name[64];
	char mac[24];		/* "aa:bb:cc:dd:ee:ff" or empty */
	int mtu;		/* 0 = unset (1.1.0 only) */
	char sandbox[PATH_MAX]; /* netns path for container interfaces, empty on the host */
	char socket_path[256];	/* 1.1.0 only, empty = unset */
	char pci_id[64];	/* 1.1.0 only, empty = unset */
};

struct cni_ip {
	struct inet_prefix address; /* host bits kept */
	struct inet_addr gateway;   /* family 0 = none */
	int interface;		    /* index into ifaces, -1 = none */
};

struct cni_route {
	struct inet_prefix dst;
	struct inet_addr gw;			 /* family 0 = none */
	int mtu, advmss, priority, table, scope; /* -1 = unset (1.1.0 fields) */
};

struct cni_result {
	char cni_version[16]; /* version it was decoded from / should be encoded as */
	size_t n_ifaces, n_ips, n_routes;
	struct cni_iface ifaces[CNI_MAX_IFACES];
	struct cni_ip ips[CNI_MAX_IPS];
	struct cni_route routes[CNI_MAX_ROUTES];
	json_t *dns; /* owned; a JSON object {nameservers, domain, search, options} or NULL */
};

/* Heap-allocated, zeroed result (the struct is large; never put one on the stack). */
struct cni_result *cni_result_new(void);
void cni_result_free(struct cni_result *r); /* NULL-safe */
static inline void cni_result_freep(struct cni_result **r)
{
	cni_result_free(*r);
}
#define _cleanup_result_ __attribute__((cleanup(cni_result_freep)))
/* Drops everything, keeps the allocation. */
void cni_result_reset(struct cni_result *r);

/* Append helpers. Return the new index, or -ENOSPC (with err set, code 100). */
int cni_result_add_iface(struct cni_result *r, const char *name, const char *mac,
			 const char *sandbox, struct cni_err *err);
int cni_result_add_ip(struct cni_result *r, const struct inet_prefix *address,
		      const struct inet_addr *gateway, int interface, struct cni_err *err);
int cni_result_add_route(struct cni_result *r, const struct inet_prefix *dst,
			 const struct inet_addr *gw, struct cni_err *err);

/* Encode as the given version (0.1.0 .. 1.1.0). 0.1.0/0.2.0 with no IP fails with code 100 and
 * "cannot convert: no valid IP addresses". Returns a new reference in *ret. */
int cni_result_encode(const struct cni_result *r, const char *version, json_t **ret,
		      struct cni_err *err);
/* Decode a result of any version. The version is taken from j's "cniVersion", else from
 * default_version (the config's), else 0.1.0. Bad shape: code 6 (CNI_ERR_DECODE), the message
 * names the field ("ips[1].address: ..."). ret is reset first and left empty on failure.
 * Tolerated: no "interfaces", "interface": -1 or absent, null members; an "interface" index
 * past the decoded interfaces is a bad shape. DNS is kept only when it carries a value. */
int cni_result_decode(const json_t *j, const char *default_version, struct cni_result *ret,
		      struct cni_err *err);

#endif

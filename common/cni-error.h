/* SPDX-License-Identifier: Apache-2.0 */
/* One error type for the whole toolkit. It maps 1:1 onto the CNI error JSON
 * {"cniVersion", "code", "msg", "details"}.
 *
 * Convention: fallible functions return >= 0 on success and -errno on failure. The failure
 * site sets the error and returns in one line:
 *	return cni_err_set(err, CNI_ERR_NETLINK, -r, "add veth '%s'", name);
 * upper layers only add context:
 *	return cni_err_wrap(err, "bridge '%s'", conf->bridge);
 * err == NULL means "best effort, do not record" (rollback paths keep the first error). */
#ifndef WEFT_CNI_ERROR_H
#define WEFT_CNI_ERROR_H

#include <stdio.h>

enum cni_code {
	CNI_OK = 0,
	CNI_ERR_VERSION = 1,	  /* incompatible CNI version */
	CNI_ERR_UNSUPPORTED = 2,  /* unsupported field; msg names key and value */
	CNI_ERR_NO_CTR = 3,	  /* container unknown or does not exist */
	CNI_ERR_ENV = 4,	  /* invalid necessary environment variable; msg names it */
	CNI_ERR_IO = 5,		  /* I/O failure, e.g. reading stdin */
	CNI_ERR_DECODE = 6,	  /* failed to decode content (JSON syntax, version string) */
	CNI_ERR_CONFIG = 7,	  /* invalid network configuration */
	CNI_ERR_TRY_AGAIN = 11,	  /* transient: lock timeout, EAGAIN/EBUSY */
	CNI_ERR_UNAVAILABLE = 50, /* STATUS: plugin cannot service ADD */
	CNI_ERR_UNAVAILABLE_DEGRADED = 51, /* STATUS: and existing containers may suffer */
	CNI_ERR_INTERNAL = 100,		   /* weft's own codes start at 100 */
	CNI_ERR_NETLINK = 101,
	CNI_ERR_NFT = 102,
	CNI_ERR_BPF = 103,
	CNI_ERR_IPAM_FULL = 104, /* no address left in a range set */
	CNI_ERR_IPAM = 105,	 /* other IPAM store failure */
	CNI_ERR_NETNS = 106,	 /* cannot open / enter the container netns */
	CNI_ERR_DELEGATE = 107,	 /* a delegated plugin failed without a CNI error of its own */
};

struct cni_err {
	enum cni_code code;
	int sys_errno;	   /* positive errno, 0 when synthetic */
	char msg[256];	   /* context chain, outermost first: "setup veth: add link 'veth3f2a'" */
	char details[512]; /* root cause: strerror() text, the kernel's extack text, ... */
};

/* Records code + message (+ strerror(sys_errno) into details when details is empty).
 * Returns -sys_errno, or -EINVAL when sys_errno is 0. NULL err: returns the same, records nothing.
 */
int cni_err_set(struct cni_err *err, enum cni_code code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Like cni_err_set but also sets details. */
int cni_err_setd(struct cni_err *err, enum cni_code code, int sys_errno, const char *details,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Prefixes msg with "<context>: ". Returns -sys_errno (or -EINVAL). */
int cni_err_wrap(struct cni_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends text to details (separated by "; "). */
void cni_err_add_details(struct cni_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cni_err_clear(struct cni_err *err);
static inline int cni_err_is_set(const struct cni_err *err)
{
	return err && err->code != CNI_OK;
}
/* Writes {"cniVersion":..,"code":..,"msg":..,"details":..} and a newline.
 * cni_version may be NULL (then omitted); details omitted when empty. */
int cni_err_write_json(const struct cni_err *err, const char *cni_version, FILE *out);

#endif

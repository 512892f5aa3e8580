/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink base over libmnl: one socket per netns, a per-socket sequence counter, requests
 * acknowledged (NLM_F_ACK) and matched by seq/portid, the kernel's extended-ack text copied into
 * err->details, dumps retried when the kernel flags them inconsistent (NLM_F_DUMP_INTR).
 *
 * A socket opened inside a netns keeps acting on it: nl_open(&ctr, nsfd, err) enters nsfd,
 * opens the socket and comes back, so a plugin never has to "live" in the container netns. */
#ifndef WEFT_NL_H
#define WEFT_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "common/cni-error.h"

#define NL_NETNS_SELF (-1)
/* Request buffers: every message weft builds fits (a veth with its peer is < 200 bytes). */
#define NL_REQ_SIZE 1024
/* Dumps tried again this many times when the kernel flags NLM_F_DUMP_INTR. */
#define NL_DUMP_RETRIES 10

struct nl;

/* Opens a NETLINK_ROUTE socket in netns_fd (NL_NETNS_SELF: the current one). */
int nl_open(struct nl **ret_nl, int netns_fd, struct cni_err *err);
void nl_close(struct nl *nl); /* NULL-safe */
static inline void nl_closep(struct nl **nl)
{
	nl_close(*nl);
}
#define _cleanup_nl_ __attribute__((cleanup(nl_closep)))

/* Sends one request (seq assigned, NLM_F_ACK added) and runs cb (may be NULL) on every reply
 * until the kernel's ACK. A kernel error is returned as -errno with err set to
 * (CNI_ERR_NETLINK, errno, "netlink") and the extack text in details; callers wrap it. */
int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, struct cni_err *err);
/* Sends a dump request (NLM_F_DUMP added) and runs cb on every entry. When the kernel flags
 * the dump as interrupted, reset(data) is called (may be NULL) and the dump starts over,
 * at most NL_DUMP_RETRIES times, then -EINTR (code 11: try again). */
int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void (*reset)(void *data), void *data,
	    struct cni_err *err);

/* Starts a request in buf (NL_REQ_SIZE bytes, zeroed here): header with type and flags, then a
 * zeroed family header of hdr_len bytes, returned in *ret_hdr. */
struct nlmsghdr *nl_msg_start(void *buf, size_t len, uint16_t type, uint16_t flags, size_t hdr_len,
			      void **ret_hdr);

/* Validated attribute table for libmnl parse callbacks: tb[type] = attr when type <= max and
 * the payload is at least as large as the type's table entry says. Unknown types are skipped.
 * sizes[type] = 0 means "any length"; NL_ATTR_STR means a NUL-terminated string. */
#define NL_ATTR_STR ((uint16_t)0xffff)
struct nl_attr_tb {
	const struct nlattr **tb;
	const uint16_t *sizes; /* may be NULL: no length checks */
	uint16_t max;
};
int nl_attr_tb_cb(const struct nlattr *attr, void *data);
/* Parses the attributes of nlh after a family header of hdr_len bytes into tb[0..max]
 * (zeroed first). Returns 0 or -EINVAL when the message is malformed. */
int nl_parse(const struct nlmsghdr *nlh, size_t hdr_len, const struct nlattr **tb, uint16_t max,
	     const uint16_t *sizes);
/* Same for a nested attribute. */
int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max,
		    const uint16_t *sizes);

#endif

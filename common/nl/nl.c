/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "common/cleanup.h"
#include "common/netns.h"
#include "common/nl/nl.h"

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

/* Large enough for the biggest dump skb the kernel builds (32 KiB), so nothing is truncated. */
#define NL_RECV_SIZE 32768

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	char buf[NL_RECV_SIZE];
};

struct nl_open_req {
	struct mnl_socket *sock;
};

static int nl_open_cb(void *arg, struct cni_err *err)
{
	struct nl_open_req *q = arg;

	q->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!q->sock)
		return cni_err_set(err, CNI_ERR_NETLINK, errno, "open netlink socket");
	return 0;
}

static void nl_setopt(struct mnl_socket *sock, int opt)
{
	int one = 1;

	/* Options that only improve error text or filtering: an old kernel without them still
	 * works, so failures are ignored. */
	(void)mnl_socket_setsockopt(sock, opt, &one, sizeof(one));
}

int nl_open(struct nl **ret_nl, int netns_fd, struct cni_err *err)
{
	struct nl_open_req q = {0};
	struct nl *nl;
	int r;

	r = netns_exec(netns_fd, nl_open_cb, &q, err);
	if (r < 0) {
		if (q.sock)
			mnl_socket_close(q.sock);
		return r;
	}
	nl_setopt(q.sock, NETLINK_EXT_ACK);
	nl_setopt(q.sock, NETLINK_CAP_ACK);
	nl_setopt(q.sock, NETLINK_GET_STRICT_CHK);
	if (mnl_socket_bind(q.sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = cni_err_set(err, CNI_ERR_NETLINK, errno, "bind netlink socket");
		mnl_socket_close(q.sock);
		return r;
	}
	nl = malloc(sizeof(*nl));
	if (!nl) {
		mnl_socket_close(q.sock);
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "netlink socket");
	}
	nl->sock = q.sock;
	nl->portid = mnl_socket_get_portid(q.sock);
	nl->seq = 0;
	*ret_nl = nl;
	return 0;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

static int extack_cb(const struct nlattr *attr, void *data)
{
	const char **msg = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
		*msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* NLMSG_ERROR: 0 for an ACK, else -errno with the kernel's extack sentence in details. */
static int nl_ack(const struct nlmsghdr *nlh, struct cni_err *err)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const char *ext = NULL;
	size_t off = sizeof(*e);
	int code;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)))
		return cni_err_set(err, CNI_ERR_NETLINK, EBADMSG, "truncated netlink ack");
	if (e->error == 0)
		return 0;
	code = e->error < 0 ? -e->error : e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			(void)mnl_attr_parse(nlh, off, extack_cb, &ext);
	}
	cni_err_set(err, CNI_ERR_NETLINK, code, "netlink");
	if (ext && *ext)
		cni_err_add_details(err, "%s", ext);
	return -code;
}

struct nl_run {
	uint32_t seq;
	mnl_cb_t cb;
	void *data;
	bool intr;
	int cb_result; /* first callback failure, reported after draining */
};

/* One datagram. Returns 1 to keep reading, 0 when the request is complete, < 0 on error. */
static int nl_run_buf(struct nl *nl, struct nl_run *run, size_t n, struct cni_err *err)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		/* Replies to an earlier, abandoned request or from another sender: skip. */
		if (nlh->nlmsg_seq != run->seq || (nlh->nlmsg_pid && nlh->nlmsg_pid != nl->portid))
			continue;
		if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
			run->intr = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			continue;
		case NLMSG_ERROR:
			return nl_ack(nlh, err);
		case NLMSG_DONE: {
			const int *e = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int)) && *e < 0)
				return cni_err_set(err, CNI_ERR_NETLINK, -*e, "netlink dump");
			return 0;
		}
		default:
			if (run->cb && run->cb_result >= 0 && run->cb(nlh, run->data) < MNL_CB_STOP)
				run->cb_result = -EBADMSG;
		}
	}
	return 1;
}

static int nl_send_recv(struct nl *nl, struct nlmsghdr *req, struct nl_run *run,
			struct cni_err *err)
{
	ssize_t n;
	int r;

	req->nlmsg_seq = run->seq = ++nl->seq;
	req->nlmsg_pid = 0;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return cni_err_set(err, CNI_ERR_NETLINK, errno, "netlink send");
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cni_err_set(err, CNI_ERR_NETLINK, errno, "netlink receive");
		}
		r = nl_run_buf(nl, run, (size_t)n, err);
		if (r <= 0)
			break;
	}
	if (r == 0 && run->cb_result < 0)
		return cni_err_set(err, CNI_ERR_NETLINK, -run->cb_result,
				   "malformed netlink reply");
	return r;
}

int nl_talk(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data, struct cni_err *err)
{
	struct nl_run run = {.cb = cb, .data = data};

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	return nl_send_recv(nl, req, &run, err);
}

int nl_dump(struct nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void (*reset)(void *data), void *data,
	    struct cni_err *err)
{
	int r;

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_DUMP;
	for (int i = 0; i <= NL_DUMP_RETRIES; i++) {
		struct nl_run run = {.cb = cb, .data = data};

		r = nl_send_recv(nl, req, &run, err);
		if (r < 0 || !run.intr)
			return r;
		/* The kernel's view changed under the dump (plugins#1121): start over. */
		if (reset)
			reset(data);
	}
	return cni_err_set(err, CNI_ERR_TRY_AGAIN, EINTR, "netlink dump kept being interrupted");
}

struct nlmsghdr *nl_msg_start(void *buf, size_t len, uint16_t type, uint16_t flags, size_t hdr_len,
			      void **ret_hdr)
{
	struct nlmsghdr *nlh;
	void *hdr;

	memset(buf, 0, len);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	hdr = mnl_nlmsg_put_extra_header(nlh, hdr_len);
	if (ret_hdr)
		*ret_hdr = hdr;
	return nlh;
}

int nl_attr_tb_cb(const struct nlattr *attr, void *data)
{
	const struct nl_attr_tb *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, t->max) < 0)
		return MNL_CB_OK; /* newer kernel attribute: not ours to judge */
	if (t->sizes && t->sizes[type]) {
		if (t->sizes[type] == NL_ATTR_STR) {
			if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
				return MNL_CB_ERROR;
		} else if (mnl_attr_get_payload_len(attr) < t->sizes[type]) {
			return MNL_CB_ERROR;
		}
	}
	t->tb[type] = attr;
	return MNL_CB_OK;
}

int nl_parse(const struct nlmsghdr *nlh, size_t hdr_len, const struct nlattr **tb, uint16_t max,
	     const uint16_t *sizes)
{
	struct nl_attr_tb t = {.tb = tb, .sizes = sizes, .max = max};

	memset(tb, 0, sizeof(*tb) * (max + 1u));
	if (nlh->nlmsg_len < mnl_nlmsg_size(hdr_len))
		return -EINVAL;
	return mnl_attr_parse(nlh, hdr_len, nl_attr_tb_cb, &t) < 0 ? -EINVAL : 0;
}

int nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb, uint16_t max,
		    const uint16_t *sizes)
{
	struct nl_attr_tb t = {.tb = tb, .sizes = sizes, .max = max};

	memset(tb, 0, sizeof(*tb) * (max + 1u));
	return mnl_attr_parse_nested(nest, nl_attr_tb_cb, &t) < 0 ? -EINVAL : 0;
}

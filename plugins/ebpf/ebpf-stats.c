/* SPDX-License-Identifier: Apache-2.0 */
/* `ebpf stats <network> [--pin-root DIR] [--json]`: the per-endpoint counters of a network's
 * datapath in this host netns, one line (or JSON object) per pod. Run it in the netns and
 * mount namespace the plugin runs in. Not a CNI verb: the binary takes this path only when
 * CNI_COMMAND is unset. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/cleanup.h"
#include "plugins/ebpf/ebpf.h"
#include "plugins/lib/bpfkey.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ebpf stats <network> [--pin-root DIR] [--json]\n"
		   "  per pod of <network>: packets/bytes sent (tx), of those delivered by the\n"
		   "  program to a pod on this node (fwd) or to another node (remote), received\n"
		   "  (rx), ARP and NDP replies given.\n"
		   "  DIR defaults to /sys/fs/bpf/weft/<inode of this netns>.\n");
}

/* One pod: its endpoint entries (an address each) share the host veth and the counters. */
struct pod_row {
	const struct ebpf_dp_entry *e; /* the first entry: meta and ifindex */
	char ips[2 * INET6_ADDRSTRLEN + 1];
	json_t *ip_list;
};

static json_t *row_json(const struct pod_row *p, const struct weft_ep_stats *st)
{
	const struct ebpf_dp_entry *e = p->e;

	return json_pack(
		"{s:s, s:O, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I, s:I}",
		"ip", json_string_value(json_array_get(p->ip_list, 0)), "ips", p->ip_list,
		"containerID", e->meta.container_id, "ifname", e->meta.ifname, "hostVeth",
		e->meta.host_veth, "ifindex", (int)e->ep.ifindex, "txPackets",
		(json_int_t)st->tx_packets, "txBytes", (json_int_t)st->tx_bytes, "fwdPackets",
		(json_int_t)st->fwd_packets, "fwdBytes", (json_int_t)st->fwd_bytes, "rxPackets",
		(json_int_t)st->rx_packets, "rxBytes", (json_int_t)st->rx_bytes, "arpReplies",
		(json_int_t)st->arp_replies, "ndReplies", (json_int_t)st->nd_replies,
		"remotePackets", (json_int_t)st->remote_packets, "remoteBytes",
		(json_int_t)st->remote_bytes, "deniedPackets", (json_int_t)st->denied_packets);
}

static void row_line(const struct pod_row *p, const struct weft_ep_stats *st)
{
	const struct ebpf_dp_entry *e = p->e;

	printf("%-24s %-12.12s %-6s %-15s %10llu %12llu %10llu %10llu %10llu %12llu %6llu %6llu\n",
	       p->ips, e->meta.container_id, e->meta.ifname, e->meta.host_veth,
	       (unsigned long long)st->tx_packets, (unsigned long long)st->tx_bytes,
	       (unsigned long long)st->fwd_packets, (unsigned long long)st->remote_packets,
	       (unsigned long long)st->rx_packets, (unsigned long long)st->rx_bytes,
	       (unsigned long long)st->arp_replies, (unsigned long long)st->nd_replies);
}

/* Rows of entries, one per host ifindex, IPv4 first. */
static size_t rows_build(const struct ebpf_dp_entry *list, size_t n, struct pod_row *rows)
{
	size_t nr = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct inet_addr a;
			char ip[INET6_ADDRSTRLEN];
			size_t j = 0;

			if (!list[i].has_ep)
				continue; /* an ADD in progress (or killed): no counters yet */
			bpfkey_addr(list[i].key.addr, &a);
			if ((a.family == AF_INET6) != (pass == 1))
				continue;
			while (j < nr && rows[j].e->ep.ifindex != list[i].ep.ifindex)
				j++;
			if (j == nr) {
				rows[nr].e = &list[i];
				rows[nr].ips[0] = '\0';
				rows[nr++].ip_list = json_array();
			}
			inet_addr_fmt(&a, ip, sizeof(ip));
			snprintf(rows[j].ips + strlen(rows[j].ips),
				 sizeof(rows[j].ips) - strlen(rows[j].ips), "%s%s",
				 rows[j].ips[0] ? "," : "", ip);
			json_array_append_new(rows[j].ip_list, json_string(ip));
		}
	}
	return nr;
}

static int print_all(const struct ebpf_dp *dp, bool as_json, struct cni_err *err)
{
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	_cleanup_free_ struct pod_row *rows = NULL;
	_cleanup_json_ json_t *arr = json_array();
	size_t n = 0, nr;
	int r;

	r = ebpf_dp_list(dp, &list, &n, err);
	if (r < 0)
		return r;
	rows = calloc(n ? n : 1, sizeof(*rows));
	if (!rows)
		return cni_err_set(err, CNI_ERR_INTERNAL, ENOMEM, "allocate rows");
	nr = rows_build(list, n, rows);
	if (!as_json)
		printf("%-24s %-12s %-6s %-15s %10s %12s %10s %10s %10s %12s %6s %6s\n", "IP",
		       "CONTAINER", "IFNAME", "HOST-VETH", "TX-PKTS", "TX-BYTES", "FWD-PKTS",
		       "REMOTE-PKTS", "RX-PKTS", "RX-BYTES", "ARP", "ND");
	for (size_t i = 0; i < nr; i++) {
		struct weft_ep_stats st = {0};

		(void)ebpf_dp_stats(dp, rows[i].e->ep.ifindex, &st, NULL);
		if (as_json)
			json_array_append_new(arr, row_json(&rows[i], &st));
		else
			row_line(&rows[i], &st);
		json_decref(rows[i].ip_list);
	}
	if (as_json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	return 0;
}

int ebpf_stats_main(int argc, char **argv)
{
	static const struct option opts[] = {{"pin-root", required_argument, NULL, 'p'},
					     {"json", no_argument, NULL, 'j'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	struct ebpf_dp dp = EBPF_DP_INIT;
	struct cni_err err = {0};
	const char *pin_root = NULL;
	bool as_json = false;
	int c, r;

	optind = 2; /* argv[1] is "stats" */
	while ((c = getopt_long(argc, argv, "p:jh", opts, NULL)) != -1) {
		if (c == 'p')
			pin_root = optarg;
		else if (c == 'j')
			as_json = true;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	r = ebpf_dp_open(pin_root, argv[optind], false, &dp, &err);
	if (r >= 0)
		r = print_all(&dp, as_json, &err);
	ebpf_dp_close(&dp);
	if (r < 0) {
		fprintf(stderr, "ebpf stats: %s%s%s\n", err.msg, err.details[0] ? ": " : "",
			err.details);
		return 1;
	}
	return 0;
}

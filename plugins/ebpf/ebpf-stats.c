/* SPDX-License-Identifier: Apache-2.0 */
/* `ebpf stats <network> [--pin-root DIR] [--json]`: the per-endpoint counters of a network's
 * datapath in this host netns, one line (or JSON object) per pod. Run it in the netns and
 * mount namespace the plugin runs in. Not a CNI verb: the binary takes this path only when
 * CNI_COMMAND is unset. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "ebpf.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: ebpf stats <network> [--pin-root DIR] [--json]\n"
		   "  per pod of <network>: packets/bytes sent (tx), of those delivered by the\n"
		   "  program to a pod on this node (fwd), received (rx), ARP replies given.\n"
		   "  DIR defaults to /sys/fs/bpf/weft/<inode of this netns>.\n");
}

static json_t *entry_json(const struct ebpf_dp_entry *e, const struct weft_ep_stats *st,
			  const char *ip)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "ip", ip,
			 "containerID", e->meta.container_id, "ifname", e->meta.ifname, "hostVeth",
			 e->meta.host_veth, "ifindex", (int)e->ep.ifindex, "txPackets",
			 (json_int_t)st->tx_packets, "txBytes", (json_int_t)st->tx_bytes,
			 "fwdPackets", (json_int_t)st->fwd_packets, "fwdBytes",
			 (json_int_t)st->fwd_bytes, "rxPackets", (json_int_t)st->rx_packets,
			 "rxBytes", (json_int_t)st->rx_bytes, "arpReplies",
			 (json_int_t)st->arp_replies);
}

static void entry_line(const struct ebpf_dp_entry *e, const struct weft_ep_stats *st,
		       const char *ip)
{
	printf("%-15s %-12.12s %-6s %-15s %10llu %12llu %10llu %10llu %12llu %6llu\n", ip,
	       e->meta.container_id, e->meta.ifname, e->meta.host_veth,
	       (unsigned long long)st->tx_packets, (unsigned long long)st->tx_bytes,
	       (unsigned long long)st->fwd_packets, (unsigned long long)st->rx_packets,
	       (unsigned long long)st->rx_bytes, (unsigned long long)st->arp_replies);
}

static int print_all(const struct ebpf_dp *dp, bool as_json, struct cni_err *err)
{
	_cleanup_free_ struct ebpf_dp_entry *list = NULL;
	_cleanup_json_ json_t *arr = json_array();
	size_t n = 0;
	int r;

	r = ebpf_dp_list(dp, &list, &n, err);
	if (r < 0)
		return r;
	if (!as_json)
		printf("%-15s %-12s %-6s %-15s %10s %12s %10s %10s %12s %6s\n", "IP", "CONTAINER",
		       "IFNAME", "HOST-VETH", "TX-PKTS", "TX-BYTES", "FWD-PKTS", "RX-PKTS",
		       "RX-BYTES", "ARP");
	for (size_t i = 0; i < n; i++) {
		struct weft_ep_stats st = {0};
		char ip[INET_ADDRSTRLEN];

		if (!list[i].has_ep)
			continue; /* an ADD in progress (or killed): no counters yet */
		inet_ntop(AF_INET, &list[i].key.ip4, ip, sizeof(ip));
		(void)ebpf_dp_stats(dp, list[i].ep.ifindex, &st, NULL);
		if (as_json)
			json_array_append_new(arr, entry_json(&list[i], &st, ip));
		else
			entry_line(&list[i], &st, ip);
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

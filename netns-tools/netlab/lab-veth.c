/* SPDX-License-Identifier: Apache-2.0 */
/* veth: two network namespaces joined by a veth pair, 10.0.0.1/24 and 10.0.0.2/24, ping.
 * The classic first exercise (docs/netlab.md). The pair is created inside
 * ns1 with its peer born in ns2, so the machine's own namespace never holds it. */
#include <string.h>

#include "common/cleanup.h"
#include "netns-tools/netlab/lab.h"

static int veth_up(struct lab *lab)
{
	char ns1[96], ns2[96];
	int r;

	lab_name(lab, "ns1", ns1, sizeof(ns1));
	lab_name(lab, "ns2", ns2, sizeof(ns2));
	r = lab_netns_add(lab, ns1);
	if (r >= 0)
		r = lab_netns_add(lab, ns2);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", ns1, "link", "add", "veth1", "type", "veth", "peer",
			    "name", "veth2", "netns", ns2, NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", ns1, "addr", "add", "10.0.0.1/24", "dev", "veth1",
			    NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", ns1, "link", "set", "veth1", "up", NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", ns2, "addr", "add", "10.0.0.2/24", "dev", "veth2",
			    NULL);
	if (r >= 0)
		r = lab_cmd(lab, "ip", "-n", ns2, "link", "set", "veth2", "up", NULL);
	return r;
}

static void check_end(struct lab *lab, const char *ns, const char *ifname, const char *addr,
		      const char *peer_ns, const char *peer_if)
{
	_cleanup_json_ json_t *l = lab_link(lab, ns, ifname);
	_cleanup_json_ json_t *p = lab_link(lab, peer_ns, peer_if);
	_cleanup_json_ json_t *links = lab_links(lab, ns);
	const char *kind =
		json_string_value(json_object_get(json_object_get(l, "linkinfo"), "info_kind"));
	char addrs[128];

	lab_addrs(lab, ns, ifname, addrs, sizeof(addrs));
	lab_check(lab, kind && strcmp(kind, "veth") == 0, "%s has veth %s", ns, ifname);
	lab_check(lab, strcmp(addrs, addr) == 0, "%s %s has %s (found '%s')", ns, ifname, addr,
		  addrs);
	lab_check(lab, lab_link_is_up(l), "%s %s is UP with a carrier", ns, ifname);
	lab_check(lab,
		  l && p && json_object_get(l, "link_netnsid") &&
			  json_integer_value(json_object_get(l, "link_index")) ==
				  json_integer_value(json_object_get(p, "ifindex")),
		  "%s %s's peer is %s in %s", ns, ifname, peer_if, peer_ns);
	lab_check(lab, json_array_size(links) == 2,
		  "%s is isolated: only lo and %s (%zu interfaces)", ns, ifname,
		  json_array_size(links));
}

static void veth_verify(struct lab *lab)
{
	char ns1[96], ns2[96];

	lab_name(lab, "ns1", ns1, sizeof(ns1));
	lab_name(lab, "ns2", ns2, sizeof(ns2));
	check_end(lab, ns1, "veth1", "10.0.0.1/24", ns2, "veth2");
	check_end(lab, ns2, "veth2", "10.0.0.2/24", ns1, "veth1");
	lab_check(lab, lab_ping(ns1, "10.0.0.2", 3000), "ping %s -> 10.0.0.2 answered", ns1);
	lab_check(lab, lab_ping(ns2, "10.0.0.1", 3000), "ping %s -> 10.0.0.1 answered", ns2);
	lab_check(lab, !lab_ping(ns1, "10.0.0.3", 600), "ping %s -> 10.0.0.3 (nobody) unanswered",
		  ns1);
}

static int veth_show(struct lab *lab, struct topo *t)
{
	char ns1[96], ns2[96];
	const char *ns[] = {ns1, ns2}, *titles[] = {"ns1", "ns2"}, *kinds[] = {"netns", "netns"};

	lab_name(lab, "ns1", ns1, sizeof(ns1));
	lab_name(lab, "ns2", ns2, sizeof(ns2));
	snprintf(t->title, sizeof(t->title), "veth: two namespaces, one veth pair");
	lab_show_netns(lab, t, ns, titles, kinds, 2);
	lab_topo_note(t, "by hand: ip link add veth1 type veth peer name veth2; ip link set vethN "
			 "netns nsN");
	lab_topo_note(t, "try: ip netns exec %s ping 10.0.0.2", ns1);
	return 0;
}

const struct scenario lab_veth = {
	.name = "veth",
	.origin = "the classic exercise: two network namespaces joined by a veth pair",
	.summary = "two namespaces joined by a veth pair (10.0.0.1/24 - 10.0.0.2/24), ping",
	.up = veth_up,
	.verify = veth_verify,
	.show = veth_show,
};

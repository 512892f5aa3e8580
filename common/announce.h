/* SPDX-License-Identifier: Apache-2.0 */
/* Tells the neighbours that an address now lives at a MAC: a gratuitous ARP for IPv4, an
 * unsolicited neighbour advertisement (override flag) for IPv6. Sent from inside a netns right
 * after an address is configured, so a reused pod IP is not blackholed by a stale neighbour
 * entry on the host or in other pods (plugins#858). Neighbours that have an entry update it;
 * none is created. */
#ifndef WEFT_ANNOUNCE_H
#define WEFT_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "cni-error.h"
#include "inet.h"

/* Sends one announcement per address out of ifindex (in netns nsfd; < 0 = current). */
int announce_addrs(int nsfd, int ifindex, const uint8_t mac[6], const struct inet_addr *addrs,
		   size_t n, struct cni_err *err);

#endif

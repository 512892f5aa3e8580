/* SPDX-License-Identifier: Apache-2.0 */
/* The one user-space home of an address's form in the ebpf datapath's map keys
 * (bpf/include/cni-bpf.h): 16 bytes, IPv4 mapped into ::ffff:0:0/96. The ebpf plugin, the
 * remote map of multi-node ebpf (overlay-remote) and weft-node's policy maps write it. */
#ifndef WEFT_BPFKEY_H
#define WEFT_BPFKEY_H

#include <stdint.h>

#include "common/inet.h"

/* The key form of a (16 bytes, network order); bits: how many of its bits an IPv4 prefix
 * length lies above (96 for IPv4, 0 for IPv6). */
void bpfkey_of(const struct inet_addr *a, uint32_t ret[4]);
unsigned bpfkey_bits_above(const struct inet_addr *a);
/* Back from the key form: IPv4 when mapped, else IPv6. */
void bpfkey_addr(const uint32_t key[4], struct inet_addr *ret);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic names for host state (docs/design.md §3): everything a plugin leaves on a
 * host is findable from (network, container ID, ifname) alone. */
#ifndef WEFT_NAMING_H
#define WEFT_NAMING_H

#include <stddef.h>
#include <stdint.h>

#define NAMING_HASH_INIT 0xcbf29ce484222325ULL /* FNV-1a's offset basis */
/* FNV-1a of h (NAMING_HASH_INIT to start) continued over n bytes at p. */
uint64_t naming_hash_bytes(uint64_t h, const void *p, size_t n);
/* splitmix64's finalizer: every bit of x spread over all 64 (for hashes that are summed or
 * masked to their low bits). */
uint64_t naming_mix64(uint64_t x);
/* 64-bit FNV-1a over the parts, each followed by a 0 byte (so ("ab","c") != ("a","bc")). */
uint64_t naming_hash(const char *const *parts, size_t n);
/* Hash of a Kubernetes pod ("pod", namespace, name), never 0: its NetworkPolicy state (the
 * nftables chains' tag, the ebpf polpods key) is found by it. */
uint64_t naming_pod_hash(const char *ns, const char *name);
/* Hash of (network, container ID, ifname). */
uint64_t naming_attachment_hash(const char *network, const char *container_id, const char *ifname);
/* "veth" + 11 hex digits of the attachment hash; buf >= 16 bytes. */
void naming_host_veth_name(const char *network, const char *container_id, const char *ifname,
			   char buf[16]);
/* 16 hex digits of the attachment hash; buf >= 17 bytes. The tag of nft rules and bpf entries. */
void naming_attachment_tag(const char *network, const char *container_id, const char *ifname,
			   char buf[17]);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "common/naming.h"

#define FNV_PRIME 0x100000001b3ULL

uint64_t naming_hash_bytes(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * FNV_PRIME;
	return h;
}

uint64_t naming_mix64(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t naming_hash(const char *const *parts, size_t n)
{
	uint64_t h = NAMING_HASH_INIT;

	for (size_t i = 0; i < n; i++) {
		h = naming_hash_bytes(h, parts[i] ? parts[i] : "", parts[i] ? strlen(parts[i]) : 0);
		h *= FNV_PRIME; /* the 0 separator */
	}
	return h;
}

uint64_t naming_pod_hash(const char *ns, const char *name)
{
	const char *parts[] = {"pod", ns, name};
	uint64_t h = naming_hash(parts, 3);

	return h ? h : 1;
}

uint64_t naming_attachment_hash(const char *network, const char *container_id, const char *ifname)
{
	const char *parts[] = {network, container_id, ifname};

	return naming_hash(parts, 3);
}

void naming_host_veth_name(const char *network, const char *container_id, const char *ifname,
			   char buf[16])
{
	uint64_t h = naming_attachment_hash(network, container_id, ifname);

	snprintf(buf, 16, "veth%011llx", (unsigned long long)(h & 0xfffffffffffULL));
}

void naming_attachment_tag(const char *network, const char *container_id, const char *ifname,
			   char buf[17])
{
	snprintf(buf, 17, "%016llx",
		 (unsigned long long)naming_attachment_hash(network, container_id, ifname));
}

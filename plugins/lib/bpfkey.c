/* SPDX-License-Identifier: Apache-2.0 */
/* An address in the ebpf maps' key form (see bpfkey.h). */
#include <string.h>
#include <arpa/inet.h>

#include "bpf/include/cni-bpf.h"
#include "plugins/lib/bpfkey.h"

void bpfkey_of(const struct inet_addr *a, uint32_t ret[4])
{
	memset(ret, 0, 16);
	if (a->family == AF_INET6) {
		memcpy(ret, a->bytes, 16);
		return;
	}
	ret[2] = htonl(WEFT_V4_MAPPED);
	ret[3] = a->v4.s_addr;
}

unsigned bpfkey_bits_above(const struct inet_addr *a)
{
	return a->family == AF_INET ? 96u : 0u;
}

void bpfkey_addr(const uint32_t key[4], struct inet_addr *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!key[0] && !key[1] && key[2] == htonl(WEFT_V4_MAPPED)) {
		ret->family = AF_INET;
		ret->v4.s_addr = key[3];
		return;
	}
	ret->family = AF_INET6;
	memcpy(ret->bytes, key, 16);
}

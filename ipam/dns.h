/* SPDX-License-Identifier: Apache-2.0 */
/* resolv.conf -> result "dns" object, as the reference host-local's resolvConf option. */
#ifndef WEFT_IPAM_DNS_H
#define WEFT_IPAM_DNS_H

#include <stddef.h>

#include <jansson.h>

#include "common/cni-error.h"

/* Files larger than this are refused (code 7): resolv.conf is a few lines. */
#define IPAM_RESOLV_CONF_MAX (1u << 20)

/* Reads and parses the file. Missing/unreadable: code 7 naming the path. */
int ipam_dns_parse_file(const char *path, json_t **ret, struct cni_err *err);

#endif

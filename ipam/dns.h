/* SPDX-License-Identifier: Apache-2.0 */
/* resolv.conf -> result "dns" object, as the reference host-local's resolvConf option. */
#ifndef WEFT_IPAM_DNS_H
#define WEFT_IPAM_DNS_H

#include <stddef.h>

#include <jansson.h>

#include "cni-error.h"

/* Files larger than this are refused (code 7): resolv.conf is a few lines. */
#define IPAM_RESOLV_CONF_MAX (1u << 20)

/* Parses text: "nameserver X" (appended), "domain X" (last wins), "search A B" and
 * "options A B" (appended); '#' and ';' start comment lines; lines with one field are skipped.
 * *ret = {nameservers?, domain?, search?, options?} with only the non-empty keys, or NULL when
 * nothing was found. */
int ipam_dns_parse(const char *text, size_t len, json_t **ret, struct cni_err *err);
/* Reads and parses the file. Missing/unreadable: code 7 naming the path. */
int ipam_dns_parse_file(const char *path, json_t **ret, struct cni_err *err);

#endif

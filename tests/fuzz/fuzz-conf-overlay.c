/* SPDX-License-Identifier: Apache-2.0 */
/* The config of host-gw and vxlan as far as common/ parses it: podnet_parse (every bridge key
 * and IPAM) then overlay_parse (nodeName, stateDir, underlayInterface, clusterCIDR, and on ADD
 * the peers, validated against the local IPAM ranges), as plugins/host-gw/main.c chains them.
 * The first input byte's high bit names the plugin (host-gw or vxlan); for vxlan its own keys
 * (vni, port, udpChecksum, vxlanDevice) follow, as plugins/vxlan/main.c chains them.
 * A "peersFile" is redirected to a fixed valid peer list (fuzz-peers covers peers_parse): a
 * path chosen by the fuzzer could name a FIFO and block. See fuzz-conf.h. */
#include <unistd.h>

#include "plugins/lib/vxlan.h"
#include "tests/fuzz/fuzz-conf.h"
#include "plugins/lib/overlay.h"
#include "plugins/lib/podnet.h"

/* fuzz-max-len: 16384 */

static char peers_file[PATH_MAX];

static const char peers_list[] =
	"[{\"name\":\"node-a\",\"nodeIP\":\"192.168.1.10\",\"podCIDR\":\"10.244.1.0/24\"},"
	"{\"name\":\"node-b\",\"nodeIP\":\"192.168.1.11\",\"podCIDR\":\"10.244.2.0/24\"},"
	"{\"name\":\"node-c\",\"nodeIP\":\"fd00::11\",\"podCIDR\":\"fd10:244:3::/64\"}]";

static void peers_file_remove(void)
{
	unlink(peers_file);
}

static int parse_both(const struct cni_args *a, struct vxlan_conf *c, struct cni_err *err)
{
	int r = podnet_parse(a, &c->pod, err);

	return r < 0 ? r : overlay_parse(a, &c->ov, &c->pod, err);
}

static int overlay_fuzz_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	_cleanup_json_ json_t *copy = NULL;
	struct cni_args b;

	if (!json_is_string(json_object_get(a->conf, "peersFile")))
		return parse_both(a, conf, err);
	copy = json_deep_copy(a->conf);
	FUZZ_ASSERT(copy);
	FUZZ_ASSERT(json_object_set_new(copy, "peersFile", json_string(peers_file)) == 0);
	b = *a;
	b.conf = copy;
	return parse_both(&b, conf, err);
}

static int vxlan_fuzz_parse(const struct cni_args *a, void *conf, struct cni_err *err)
{
	int r = overlay_fuzz_parse(a, conf, err);

	return r < 0 ? r : vxlan_conf_parse_keys(a->conf, conf, err);
}

static void overlay_fuzz_conf_free(void *conf)
{
	struct vxlan_conf *c = conf;

	overlay_conf_free(&c->ov);
	podnet_conf_free(&c->pod);
}

static const char *const known[] = {"IP", "MAC", NULL};

static const struct cni_plugin plugins[] = {
	{
		.name = "host-gw",
		.conf_size = sizeof(struct vxlan_conf),
		.known_args = known,
		.parse = overlay_fuzz_parse,
		.conf_free = overlay_fuzz_conf_free,
	},
	{
		.name = "vxlan",
		.conf_size = sizeof(struct vxlan_conf),
		.known_args = known,
		.parse = vxlan_fuzz_parse,
		.conf_free = overlay_fuzz_conf_free,
	},
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("WEFT_FUZZ_TMP");
	FILE *f;

	fuzz_quiet();
	snprintf(peers_file, sizeof(peers_file), "%s/overlay-peers.%d.json",
		 tmp && tmp[0] ? tmp : "/tmp", (int)getpid());
	f = fopen(peers_file, "we");
	FUZZ_ASSERT(f);
	FUZZ_ASSERT(fputs(peers_list, f) >= 0);
	FUZZ_ASSERT(fclose(f) == 0);
	atexit(peers_file_remove);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	return fuzz_conf_run(&plugins[data[0] >> 7], data, size);
}

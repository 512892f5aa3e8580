#!/usr/bin/env bats
# deploy/: the manifest checked against the code (tests/deploy/check-manifest.py parses the YAML),
# the checker shown to catch what it claims to, and the node image built offline with podman in a
# private storage root, its binaries run inside it.

load helpers

setup() {
	weft_require_root
	T=$(mktemp -d /tmp/weft-deploy.XXXXXX)
	weft_track_path "$T"
}

teardown() {
	weft_teardown
}

fail() {
	echo "$*" >&2
	return 1
}

check_manifest() {
	python3 "$WEFT_ROOT/tests/deploy/check-manifest.py" "$1" "$BIN" "${@:2}"
}

@test "deploy: weft.yaml agrees with the binaries it runs" {
	run check_manifest "$WEFT_ROOT/deploy/weft.yaml"
	[ "$status" -eq 0 ] || fail "$output"
}

@test "deploy: the checker catches an unknown flag, a missing mount, a privileged pod, a writing role" {
	m=$WEFT_ROOT/deploy/weft.yaml
	sed 's|--metrics-addr=|--metrics-adress=|' "$m" >"$T/flag.yaml"
	run check_manifest "$T/flag.yaml"
	[ "$status" -eq 1 ] && [[ "$output" == *"no flag --metrics-adress"* ]] || fail "$output"
	python3 - "$m" "$T/mount.yaml" <<-'PY'
		import sys, yaml
		docs = list(yaml.safe_load_all(open(sys.argv[1])))
		for d in docs:
		    if d and d["kind"] == "DaemonSet":
		        c = d["spec"]["template"]["spec"]["containers"][0]
		        c["volumeMounts"] = [v for v in c["volumeMounts"] if v["mountPath"] != "/run/weft"]
		        c["securityContext"]["privileged"] = True
		    if d and d["kind"] == "ClusterRole":
		        d["rules"][0]["verbs"].append("update")
		yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
	PY
	run check_manifest "$T/mount.yaml"
	[ "$status" -eq 1 ] || fail "$output"
	[[ "$output" == *"/run/weft (weft writes it) is not mounted"* ]] || fail "$output"
	[[ "$output" == *"weft-node: privileged"* ]] || fail "$output"
	[[ "$output" == *"more than reading"* ]] || fail "$output"
	printf 'GET /api/v1/nodes?watch=1\nGET /api/v1/secrets\n' >"$T/api.log"
	run check_manifest "$m" --api-log "$T/api.log"
	[ "$status" -eq 1 ] && [[ "$output" == *"does not allow GET /api/v1/secrets"* ]] || fail "$output"
	[[ "$output" != *"/api/v1/nodes?watch=1"* ]] || fail "$output"
}

@test "deploy: make image builds FROM scratch offline; its binaries run inside it" {
	command -v podman >/dev/null || skip "podman not installed"
	# Private storage, nothing left in the machine's. This machine's root lacks CAP_SYS_RESOURCE:
	# podman's default rlimits (nofile, nproc raised for root) cannot be set, so none are.
	printf '[containers]\ndefault_ulimits = []\n' >"$T/containers.conf"
	export CONTAINERS_CONF=$T/containers.conf
	P="podman --root $T/storage --runroot $T/run --storage-driver vfs"
	run make -C "$WEFT_ROOT" -s image OUT="$(dirname "$BIN")" PODMAN="$P" IMAGE=localhost/weft:test
	[ "$status" -eq 0 ] || fail "$output"
	run $P image inspect localhost/weft:test --format '{{len .RootFS.Layers}}'
	[ "$output" = 1 ] || fail "not one layer FROM scratch: $output"
	run $P run --rm --ulimit host --network none localhost/weft:test --version
	[ "$status" -eq 0 ] && [[ "$output" == weft-node\ * ]] || fail "$output"
	mkdir -p "$T/host/bin" "$T/host/conf" "$T/host/peers" "$T/cfg"
	echo '{"backend": "vxlan", "clusterCIDR": "10.244.0.0/16"}' >"$T/cfg/net-conf.json"
	run $P run --rm --ulimit host --network none -e NODE_NAME=n1 -v "$T/host:/host" -v "$T/cfg:/etc/weft:ro" \
		--entrypoint /weft/weft-install localhost/weft:test --net-conf=/etc/weft/net-conf.json \
		--src-dir=/weft --bin-dir=/host/bin --conf-dir=/host/conf --peers-dir=/host/peers \
		--pod-cidr=10.244.7.0/24
	[ "$status" -eq 0 ] || fail "$output"
	cmp "$BIN/vxlan" "$T/host/bin/weft-vxlan" || fail "the image's plugin is not the build's"
	jq -e '.plugins[0].nodeName == "n1" and .plugins[0].ipam.ranges[0][0].subnet == "10.244.7.0/24"' \
		"$T/host/conf/10-weft.conflist"
	[ "$(cat "$T/host/peers/weft-nodes.json")" = "[]" ]
	$P rmi -f localhost/weft:test >/dev/null 2>&1 || true
}

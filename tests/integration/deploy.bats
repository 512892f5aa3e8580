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

# The API test double in the throwaway host netns, with a request log; sets KA_PORT, KA_ADMIN and
# writes $T/kubeconfig.
api_start() {
	weft_setup
	"$WEFT_ROOT/tests/kubeapi/mkcerts.sh" "$T/pki"
	ip netns exec "$HOST" python3 "$WEFT_ROOT/tests/kubeapi/kubeapi.py" --cert "$T/pki/server.crt" \
		--key "$T/pki/server.key" --token tok-$$ --ports-file "$T/ports" \
		--request-log "$T/api.log" >"$T/kubeapi.log" 2>&1 &
	for _ in $(seq 100); do [ -s "$T/ports" ] && break; sleep 0.05; done
	[ -s "$T/ports" ] || fail "kubeapi did not start: $(cat "$T/kubeapi.log")"
	KA_PORT=$(sed -n 's/.*api=\([0-9]*\).*/\1/p' "$T/ports")
	KA_ADMIN=$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' "$T/ports")
	printf '%s\n' 'apiVersion: v1' 'kind: Config' 'current-context: t' \
		'clusters:' '- name: k' '  cluster:' "    server: https://127.0.0.1:$KA_PORT" \
		'    certificate-authority: pki/ca.crt' 'contexts:' '- name: t' '  context:' \
		'    cluster: k' '    user: u' 'users:' '- name: u' '  user:' "    token: tok-$$" \
		>"$T/kubeconfig"
}

api_node() { # NAME PODCIDRS-JSON-ARRAY
	ip netns exec "$HOST" curl -sf "http://127.0.0.1:$KA_ADMIN/objects/api/v1/nodes" -XPOST -d \
		"{\"metadata\":{\"name\":\"$1\"},\"spec\":{\"podCIDRs\":$2},
		  \"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"192.168.77.${3:-1}\"}]}}" \
		>/dev/null
}

@test "deploy: weft-install reads the node's pod CIDRs from its Node; the ClusterRole allows every request weft makes" {
	api_start
	api_node n1 '["10.244.9.0/24", "fd00:244:9::/64"]'
	api_node n2 '["10.244.8.0/24"]' 2
	echo '{"backend": "vxlan", "clusterCIDR": "10.244.0.0/16"}' >"$T/net-conf.json"
	inst() {
		ip netns exec "$HOST" "$BIN/weft-install" --net-conf "$T/net-conf.json" \
			--kubeconfig "$T/kubeconfig" --src-dir "$BIN" --bin-dir "$T/bin" \
			--conf-dir "$T/conf" --peers-dir "$T/peers" "$@"
	}
	run inst --node-name n1
	[ "$status" -eq 0 ] || fail "$output"
	# vxlan across nodes is single-stack: the IPv6 pod CIDR is left out, with a warning
	jq -e '.plugins[0].ipam.ranges == [[{"subnet": "10.244.9.0/24"}]]' \
		"$T/conf/10-weft.conflist" || fail "$(cat "$T/conf/10-weft.conflist")"
	run inst --node-name n3
	[ "$status" -eq 1 ] && [[ "$output" == *"HTTP 404"* ]] || fail "$output"
	api_node n4 '[]'
	run inst --node-name n4
	[ "$status" -eq 1 ] && [[ "$output" == *"has no spec.podCIDR"* ]] || fail "$output"
	sed -i "s/tok-$$/wrong/" "$T/kubeconfig"
	run inst --node-name n1
	[ "$status" -eq 1 ] && [[ "$output" == *"HTTP 401"* ]] || fail "$output"
	sed -i "s/token: wrong/token: tok-$$/" "$T/kubeconfig"
	# the agent, on the conflist weft-install wrote (state kept in the test's dir), with n1's
	# InternalIP on a veth underlay, until it has written the peers
	jq --arg s "$T/state" '.plugins[0].stateDir = $s' "$T/conf/10-weft.conflist" >"$T/c" &&
		mv "$T/c" "$T/conf/10-weft.conflist"
	ip -n "$HOST" link add und0 type veth peer name und1
	ip -n "$HOST" addr add 192.168.77.1/24 dev und0
	ip -n "$HOST" link set und0 up
	ip netns exec "$HOST" "$BIN/weft-node" --kubeconfig "$T/kubeconfig" --node-name n1 \
		--cni-conf-dir "$T/conf" --metrics-addr 127.0.0.1:0 >"$T/agent.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q n2 "$T/peers/weft-nodes.json" 2>/dev/null && grep -q 'watch=' "$T/api.log" && break
		sleep 0.05
	done
	kill "$pid"
	wait "$pid" || true
	grep -q n2 "$T/peers/weft-nodes.json" || fail "agent: $(cat "$T/agent.log")"
	ip -n "$HOST" route show 10.244.8.0/24 | grep -q . || fail "no route to n2's pods: $(cat "$T/agent.log")"
	grep -q 'watch=' "$T/api.log" || fail "no watch in $(cat "$T/api.log")"
	run check_manifest "$WEFT_ROOT/deploy/weft.yaml" --api-log "$T/api.log"
	[ "$status" -eq 0 ] || fail "$output"
}

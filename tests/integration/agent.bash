# Helpers for agent.bats: weft-node on node A ($HOST, multinode.bash) against the Kubernetes
# API test double (tests/kubeapi/kubeapi.py) running in the same throwaway netns.
#   ka_setup [KUBEAPI-ARGS]    certificates, the API server, a kubeconfig ($DATA/kubeconfig)
#   ka_admin PATH [CURL-ARGS]  the test double's admin interface
#   ka_node NAME N [IP-N]      adds or replaces node NAME: podCIDR 10.244.N.0/24, InternalIP
#                              192.168.77.IP-N (default N)
#   ka_agent [ARGS]            starts weft-node on node A ($AGENT_PID, log in $DATA/agent.log)

KUBEAPI=$WEFT_ROOT/tests/kubeapi/kubeapi.py
KA_TOKEN=weft-test-token-$$

ka_setup() {
	"$WEFT_ROOT/tests/kubeapi/mkcerts.sh" "$DATA/pki"
	ip netns exec "$HOST" python3 "$KUBEAPI" --cert "$DATA/pki/server.crt" \
		--key "$DATA/pki/server.key" --token "$KA_TOKEN" --client-ca "$DATA/pki/ca.crt" \
		--ports-file "$DATA/ports" "$@" >"$DATA/kubeapi.log" 2>&1 &
	wait_until 10 test -s "$DATA/ports" || fail "kubeapi did not start: $(cat "$DATA/kubeapi.log")"
	KA_PORT=$(sed -n 's/.*api=\([0-9]*\).*/\1/p' "$DATA/ports")
	KA_ADMIN=$(sed -n 's/.*admin=\([0-9]*\).*/\1/p' "$DATA/ports")
	ka_kubeconfig "$DATA/kubeconfig" "token: $KA_TOKEN"
	mkdir -p "$DATA/net.d"
	MPORT=$((20000 + RANDOM % 20000))
	export KA_PORT KA_ADMIN MPORT
}

# ka_kubeconfig FILE USER-LINES...: a kubeconfig for the test double (CA file relative).
ka_kubeconfig() {
	local f=$1 l
	shift
	{
		printf 'apiVersion: v1\nkind: Config\ncurrent-context: test\n'
		printf 'clusters:\n- name: kubeapi\n  cluster:\n'
		printf '    server: https://127.0.0.1:%s\n    certificate-authority: pki/ca.crt\n' "$KA_PORT"
		printf 'contexts:\n- name: test\n  context:\n    cluster: kubeapi\n    user: agent\n'
		printf 'users:\n- name: agent\n  user:\n'
		for l in "$@"; do printf '    %s\n' "$l"; done
	} >"$f"
}

ka_admin() {
	local p=$1
	shift
	ip netns exec "$HOST" curl -sf "http://127.0.0.1:$KA_ADMIN$p" "$@"
}

ka_node_json() { # NAME N IP-N [PODCIDR]
	printf '{"metadata":{"name":"%s"},"spec":{"podCIDR":"%s"},"status":{"addresses":[{"type":"Hostname","address":"%s"},{"type":"InternalIP","address":"192.168.77.%s"}]}}' \
		"$1" "${4:-10.244.$2.0/24}" "$1" "$3"
}

ka_node() {
	ka_admin /objects/api/v1/nodes -XPOST -d "$(ka_node_json "$1" "$2" "${3:-$2}" "${4:-}")" >/dev/null
}

ka_agent() {
	ip netns exec "$HOST" "$BIN/weft-node" --kubeconfig "$DATA/kubeconfig" --node-name node-a \
		--cni-conf-dir "$DATA/net.d" --metrics-addr "127.0.0.1:$MPORT" "$@" \
		>>"$DATA/agent.log" 2>&1 &
	AGENT_PID=$!
	export AGENT_PID
}

# routes NS: weft's node routes as "dst via gw dev"
routes() {
	ip -n "$1" -j route show proto 0x57 | jq -r '.[] | "\(.dst) via \(.gateway) dev \(.dev)"' | sort
}

nroutes_are() { # nroutes_are N: node A has N weft node routes
	[ "$(ip -n "$HOST" route show proto 0x57 | wc -l)" -eq "$1" ]
}

routes_are() { # routes_are NS EXPECTED
	[ "$(routes "$1")" = "$2" ]
}

metric() { # metric NAME: its value on /metrics
	ip netns exec "$HOST" curl -sf "http://127.0.0.1:$MPORT/metrics" | sed -n "s/^weft_node_$1 //p"
}

agent_log() {
	cat "$DATA/agent.log"
}

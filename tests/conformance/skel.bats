#!/usr/bin/env bats
# The skel half of the CNI contract (docs/cni-contract.md §7: 1-15 and 48), run against
# every weft plugin binary present in $WEFT_BIN among host-local, bridge, host-gw, vxlan and
# ebpf. Test names carry the §7 case number.
#
# Environment and stdin failures happen before a plugin touches anything, so those cases exec
# the binary directly with exactly the variables they name (env -i). Cases that reach the
# plugin (a DEL, an ADD, a GC that must succeed) run inside the throwaway netns of weft_setup
# with a per-plugin minimal config (plugin_conf below); a plugin without one is skipped there
# (it says so in the test's output).

load ../integration/helpers

ALL_PLUGINS=(host-local bridge host-gw vxlan ebpf)
VERSIONS='["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]'
NET=wskel
REF=/usr/lib/cni

setup() {
	PLUGINS=()
	for p in "${ALL_PLUGINS[@]}"; do
		[ -x "$BIN/$p" ] && PLUGINS+=("$p")
	done
	[ ${#PLUGINS[@]} -gt 0 ] || skip "no weft plugin binary in $BIN"
	ERR=$BATS_TEST_TMPDIR/plugin.stderr
}

teardown() {
	weft_teardown
	if [ -n "${PIN:-}" ]; then
		umount "$PIN" 2>/dev/null || true
		rmdir "$PIN" 2>/dev/null || true
	fi
}

# cni PLUGIN STDIN [VAR=VALUE...]: runs $BIN/PLUGIN with only these variables. Use with `run`;
# $output is then the plugin's stdout alone (stderr goes to $ERR).
cni() {
	local p=$1 in=$2
	shift 2
	printf '%s' "$in" | env -i "$@" "$BIN/$p" 2>>"$ERR"
}

ENV_OK=(CNI_CONTAINERID=ctr1 CNI_NETNS=/run/netns/nowhere CNI_IFNAME=eth0 CNI_PATH=/nowhere)

conf_min() { # conf_min PLUGIN [VERSION]: name/type/cniVersion only (enough for skel failures)
	printf '{"cniVersion":"%s","name":"%s","type":"%s"}' "${2:-1.0.0}" "$NET" "$1"
}

# expect_err N: the last `run` failed with exit status 1 and stdout is exactly one JSON object
# {"code": N, "msg": <non-empty string>, ...}; nothing else on stdout.
expect_err() {
	if [ "$status" -ne 1 ]; then
		echo "expected exit 1 with code $1, got exit $status: $output"
		return 1
	fi
	if ! jq -se --argjson c "$1" 'length == 1 and (.[0].code | type) == "number" and
			.[0].code == $c and (.[0].msg | type) == "string" and .[0].msg != ""' \
			<<<"$output" >/dev/null; then
		echo "expected code $1: $output"
		return 1
	fi
}

msg_has() { # msg_has TEXT: the error msg of the last `run` contains TEXT
	jq -e --arg t "$1" '.msg | contains($t)' <<<"$output" >/dev/null ||
		{ echo "msg lacks '$1': $output"; return 1; }
}

# plugin_conf PLUGIN VERSION: a config with which PLUGIN really works inside $HOST (fresh
# dataDir, own bpffs pin root). Fails for a plugin without one (the caller skips it).
plugin_conf() {
	local ipam
	ipam=$(jq -cn --arg d "$DATA" '{type: "host-local", dataDir: $d,
		ranges: [[{subnet: "10.77.0.0/24"}]]}')
	case $1 in
	host-local) jq -cn --arg v "$2" --arg n "$NET" --argjson i "$ipam" \
		'{cniVersion: $v, name: $n, type: "host-local", ipam: $i}' ;;
	bridge) jq -cn --arg v "$2" --arg n "$NET" --argjson i "$ipam" \
		'{cniVersion: $v, name: $n, type: "bridge", bridge: "wskbr0", isGateway: true,
		  ipam: $i}' ;;
	ebpf) jq -cn --arg v "$2" --arg n "$NET" --arg p "$PIN" --argjson i "$ipam" \
		'{cniVersion: $v, name: $n, type: "ebpf", pinRoot: $p, ipam: $i}' ;;
	host-gw | vxlan) # a one-node cluster: this node is its only peer (underlay: netns_setup)
		jq -cn --arg v "$2" --arg n "$NET" --arg t "$1" --arg d "$DATA" --argjson i "$ipam" \
			'{cniVersion: $v, name: $n, type: $t, bridge: "wskbr0", isGateway: true,
			  vni: 42, nodeName: "node-a", stateDir: ($d + "/state"),
			  peers: [{name: "node-a", nodeIP: "192.168.77.1", podCIDR: "10.77.0.0/24"}],
			  ipam: $i}' ;;
	*) return 1 ;;
	esac
}

# Sets up the throwaway netns (root only), a private bpffs for ebpf and, in $HOST, the
# underlay address host-gw and vxlan give as this node's nodeIP.
netns_setup() {
	weft_setup
	ip -n "$HOST" link add wskul0 type veth peer name wskul1
	ip -n "$HOST" addr add 192.168.77.1/24 dev wskul0
	ip -n "$HOST" link set wskul0 up
	ip -n "$HOST" link set wskul1 up
	if [ -x "$BIN/ebpf" ]; then
		PIN=$(mktemp -d /tmp/weft-pin.XXXXXX)
		mount -t bpf bpf "$PIN"
	fi
}

# ---- VERSION --------------------------------------------------------------------------------

@test "skel 1: VERSION with no other env and empty stdin lists every version" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "" CNI_COMMAND=VERSION
		[ "$status" -eq 0 ]
		jq -e --argjson all "$VERSIONS" '(.cniVersion | type) == "string" and
			.supportedVersions == $all' <<<"$output"
	done
}

@test "skel 2: VERSION echoes the cniVersion of its stdin" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" '{"cniVersion":"0.4.0"}' CNI_COMMAND=VERSION
		[ "$status" -eq 0 ]
		[ "$(jq -r .cniVersion <<<"$output")" = 0.4.0 ]
	done
}

@test "skel 3: VERSION with garbage stdin still answers" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" '{{{ not json' CNI_COMMAND=VERSION
		[ "$status" -eq 0 ]
		jq -e '.cniVersion == "1.1.0" and (.supportedVersions | index("1.1.0"))' <<<"$output"
	done
}

@test "skel 3: VERSION as podman/containerd send it (dummy env, empty container ID)" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" '{"cniVersion":"1.1.0"}' CNI_COMMAND=VERSION CNI_CONTAINERID= \
			CNI_NETNS=dummy CNI_IFNAME=dummy CNI_PATH=dummy
		[ "$status" -eq 0 ]
		jq -e --argjson all "$VERSIONS" '.cniVersion == "1.1.0" and
			.supportedVersions == $all' <<<"$output"
	done
}

@test "skel 3: VERSION does not wait for a stdin that never closes" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		# the writer keeps the pipe open for 30 s; the answer must come long before
		exec {in}< <(sleep 30)
		writer=$!
		SECONDS=0
		run timeout 5 env -i CNI_COMMAND=VERSION "$BIN/$p" <&"$in"
		exec {in}<&-
		kill "$writer" 2>/dev/null || true
		[ "$status" -eq 0 ]
		[ "$SECONDS" -le 2 ]
		jq -e '.supportedVersions | length == 7' <<<"$output"
	done
}

# ---- environment ----------------------------------------------------------------------------

@test "skel 4: run by hand (CNI_COMMAND unset or empty): what it is on stderr, exit 0" {
	local want
	want=$(git -C "$BATS_TEST_DIRNAME" describe --tags --always --dirty 2>/dev/null || true)
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run "$BIN/$p" --version
		[ "$status" -eq 0 ]
		[[ "$output" =~ ^$p\ [^\ ]+$ ]]
		# the checkout's describe, give or take -dirty (built before or after an edit)
		[ -z "$want" ] || [ "${output%-dirty}" = "$p ${want%-dirty}" ] ||
			{ echo "version '$output', checkout '$want'"; false; }
		printf 'weft %s plugin %s\nCNI protocol versions supported: %s\n' "$p" \
			"${output#* }" "0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0" >"$ERR.want"
		for env in "" CNI_COMMAND=; do
			: >"$ERR"
			run cni "$p" "$(conf_min "$p")" $env "${ENV_OK[@]}"
			[ "$status" -eq 0 ]
			[ -z "$output" ] # nothing on stdout: a runtime never mistakes it for a result
			diff "$ERR.want" "$ERR"
		done
	done
}

@test "skel 5: unknown CNI_COMMAND is code 4" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=FOO "${ENV_OK[@]}"
		expect_err 4
		[ "$(jq -r .msg <<<"$output")" = "unknown CNI_COMMAND: FOO" ]
	done
}

@test "skel 6: missing CNI_CONTAINERID on ADD, DEL, CHECK is code 4 naming it" {
	for p in "${PLUGINS[@]}"; do
		for cmd in ADD DEL CHECK; do
			echo "plugin $p $cmd"
			run cni "$p" "$(conf_min "$p")" CNI_COMMAND=$cmd CNI_NETNS=/run/netns/x \
				CNI_IFNAME=eth0 CNI_PATH=/nowhere
			expect_err 4
			[ "$(jq -r .msg <<<"$output")" = \
				"required env variables [CNI_CONTAINERID] missing" ]
		done
	done
}

@test "skel 6: every missing variable is named at once" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD
		expect_err 4
		[ "$(jq -r .msg <<<"$output")" = \
			"required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing" ]
	done
}

@test "skel 7: invalid container ID is code 4" {
	for p in "${PLUGINS[@]}"; do
		for id in "-bad/id" "a b" "_x" ".x"; do
			echo "plugin $p id '$id'"
			run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD "${ENV_OK[@]}" \
				"CNI_CONTAINERID=$id"
			expect_err 4
			msg_has CNI_CONTAINERID
		done
	done
}

@test "skel 8: missing CNI_NETNS on ADD and CHECK is code 4" {
	for p in "${PLUGINS[@]}"; do
		for cmd in ADD CHECK; do
			echo "plugin $p $cmd"
			run cni "$p" "$(conf_min "$p")" CNI_COMMAND=$cmd CNI_CONTAINERID=c \
				CNI_IFNAME=eth0 CNI_PATH=/nowhere
			expect_err 4
			[ "$(jq -r .msg <<<"$output")" = "required env variables [CNI_NETNS] missing" ]
		done
	done
}

@test "skel 8: DEL without CNI_NETNS succeeds with no output" {
	netns_setup
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		c=$(plugin_conf "$p" 1.0.0) || { echo "  no config for $p: skipped"; continue; }
		run run_plugin DEL "$p" "$c" ctr1 eth0 ""
		[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
		[ -z "$output" ]
	done
}

@test "skel 9: missing or invalid CNI_IFNAME is code 4" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD CNI_CONTAINERID=c \
			CNI_NETNS=/run/netns/x CNI_PATH=/nowhere
		expect_err 4
		[ "$(jq -r .msg <<<"$output")" = "required env variables [CNI_IFNAME] missing" ]
		for ifn in abcdefghijklmnop . .. a/b a:b "a b" "$(printf 'a\tb')"; do
			echo "plugin $p ifname '$ifn'"
			run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD "${ENV_OK[@]}" \
				"CNI_IFNAME=$ifn"
			expect_err 4
			msg_has CNI_IFNAME
		done
		run cni "$p" "$(conf_min "$p" 9.9.9)" CNI_COMMAND=ADD "${ENV_OK[@]}" \
			CNI_IFNAME=abcdefghijklmno
		expect_err 1 # 15 characters pass the env check; the version check fails next
	done
}

@test "skel 10: missing CNI_PATH is code 4 on GC, STATUS and ADD" {
	for p in "${PLUGINS[@]}"; do
		for cmd in GC STATUS; do
			echo "plugin $p $cmd"
			run cni "$p" "$(conf_min "$p" 1.1.0)" CNI_COMMAND=$cmd CNI_CONTAINERID= \
				CNI_NETNS= CNI_IFNAME= CNI_ARGS=
			expect_err 4
			[ "$(jq -r .msg <<<"$output")" = "required env variables [CNI_PATH] missing" ]
		done
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD CNI_CONTAINERID=c \
			CNI_NETNS=/run/netns/x CNI_IFNAME=eth0
		expect_err 4
		msg_has "[CNI_PATH]"
	done
}

# ---- stdin ----------------------------------------------------------------------------------

@test "skel 11: empty or non-JSON stdin is code 6; missing or invalid name is code 7" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "" CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 6
		run cni "$p" '{"cniVersion":' CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 6
		run cni "$p" '[]' CNI_COMMAND=DEL "${ENV_OK[@]}"
		expect_err 6
		run cni "$p" '{"cniVersion":"1.0.0","type":"x"}' CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 7
		[ "$(jq -r .msg <<<"$output")" = "missing network name" ]
		run cni "$p" '{"cniVersion":"1.0.0","name":"a b"}' CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 7
		[ "$(jq -r .details <<<"$output")" = "a b" ]
	done
}

@test "skel 11: stdin beyond the bound is code 5" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run bash -c "head -c 5000000 /dev/zero | env -i CNI_COMMAND=ADD ${ENV_OK[*]} \
			'$BIN/$p' 2>/dev/null"
		expect_err 5
	done
}

# ---- versions -------------------------------------------------------------------------------

@test "skel 12: unsupported cniVersion on ADD and DEL is code 1 listing what is supported" {
	for p in "${PLUGINS[@]}"; do
		for cmd in ADD DEL; do
			echo "plugin $p $cmd"
			run cni "$p" "$(conf_min "$p" 9.9.9)" CNI_COMMAND=$cmd "${ENV_OK[@]}"
			expect_err 1
			[ "$(jq -r .msg <<<"$output")" = "incompatible CNI versions" ]
			[ "$(jq -r .details <<<"$output")" = 'config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]' ]
		done
		run cni "$p" "$(conf_min "$p" abc)" CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 6
		run cni "$p" '{"cniVersion":1,"name":"n"}' CNI_COMMAND=ADD "${ENV_OK[@]}"
		expect_err 6
	done
}

@test "skel 12: missing cniVersion is 0.1.0: the ADD result has the 0.1/0.2 shape" {
	netns_setup
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		c=$(plugin_conf "$p" 1.0.0) || { echo "  no config for $p: skipped"; continue; }
		c=$(jq -c 'del(.cniVersion)' <<<"$c")
		run run_plugin ADD "$p" "$c" "c-$p"
		[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
		jq -e '.cniVersion == "0.1.0" and (.ip4.ip | startswith("10.77.0.")) and
			(has("interfaces") | not) and (has("ips") | not)' <<<"$output"
		run run_plugin DEL "$p" "$c" "c-$p"
		[ "$status" -eq 0 ]
	done
}

@test "skel 13: CHECK below 0.4.0, GC and STATUS below 1.1.0 are code 1" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "$(conf_min "$p" 0.3.1)" CNI_COMMAND=CHECK "${ENV_OK[@]}"
		expect_err 1
		[ "$(jq -r .msg <<<"$output")" = "config version does not allow CHECK" ]
		for cmd in GC STATUS; do
			run cni "$p" "$(conf_min "$p" 1.0.0)" CNI_COMMAND=$cmd CNI_PATH=/nowhere
			expect_err 1
			[ "$(jq -r .msg <<<"$output")" = "config version does not allow $cmd" ]
		done
	done
}

# ---- error shape, CNI_ARGS ------------------------------------------------------------------

@test "skel 14: error JSON on stdout only, with code, msg, details and the request's cniVersion" {
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		: >"$ERR"
		run cni "$p" "$(conf_min "$p" 0.4.0)" CNI_COMMAND=ADD "${ENV_OK[@]}" CNI_ARGS=FOO=1
		expect_err 4
		jq -e '.cniVersion == "0.4.0" and (.details | type) == "string" and
			(keys - ["cniVersion", "code", "msg", "details"] == [])' <<<"$output"
		# a one-line document and nothing after it
		[ "${#lines[@]}" -eq 1 ]
	done
}

@test "skel 15: containerd's CNI_ARGS are accepted; an unknown key is refused" {
	netns_setup
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD "${ENV_OK[@]}" CNI_ARGS=FOO=bar
		expect_err 4
		msg_has FOO
		run cni "$p" "$(conf_min "$p")" CNI_COMMAND=ADD "${ENV_OK[@]}" CNI_ARGS=FOO
		expect_err 4
		c=$(plugin_conf "$p" 1.0.0) || { echo "  no config for $p: ADD skipped"; continue; }
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=x;K8S_POD_NAMESPACE=y;K8S_POD_INFRA_CONTAINER_ID=z;K8S_POD_UID=u" \
			run run_plugin ADD "$p" "$c" "k-$p"
		[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
		jq -e '.cniVersion == "1.0.0" and (.ips | length) >= 1' <<<"$output"
		run run_plugin DEL "$p" "$c" "k-$p"
		[ "$status" -eq 0 ]
	done
}

# ---- GC / STATUS with libcni's environment --------------------------------------------------

@test "skel 48: GC and STATUS with empty CNI_CONTAINERID/CNI_NETNS/CNI_IFNAME succeed" {
	netns_setup
	for p in "${PLUGINS[@]}"; do
		echo "plugin $p"
		c=$(plugin_conf "$p" 1.1.0) || { echo "  no config for $p: skipped"; continue; }
		gc=$(jq -c '. + {"cni.dev/valid-attachments": [], "cni.dev/attachments": []}' <<<"$c")
		run run_plugin GC "$p" "$gc" "" "" ""
		[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
		[ -z "$output" ]
		run run_plugin STATUS "$p" "$c" "" "" ""
		[ "$status" -eq 0 ] || { echo "$output $(plugin_stderr)"; false; }
		[ -z "$output" ]
	done
}

# ---- the reference plugins answer the same ---------------------------------------------------

@test "skel 4-13: codes equal the reference plugin's for the same environment and stdin" {
	local n=0
	for p in "${PLUGINS[@]}"; do
		[ -x "$REF/$p" ] || continue
		n=$((n + 1))
		while IFS='|' read -r cmd env in; do
			[ -n "$cmd" ] || continue
			# shellcheck disable=SC2086 # $env is a word list on purpose
			ours=$(printf '%s' "$in" | env -i CNI_COMMAND=$cmd $env "$BIN/$p" 2>/dev/null |
				jq -c '{code, msg}')
			# shellcheck disable=SC2086
			ref=$(printf '%s' "$in" | env -i CNI_COMMAND=$cmd $env "$REF/$p" 2>/dev/null |
				jq -c '{code}')
			echo "plugin $p $cmd [$env] [$in]: ours $ours, reference $ref"
			[ "$(jq -c '{code}' <<<"$ours")" = "$ref" ]
		done <<'EOF'
FOO|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
DEL|CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=-bad/id CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
CHECK|CNI_CONTAINERID=c CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=abcdefghijklmnop CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=.. CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=a:b CNI_PATH=/p|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0|{"cniVersion":"1.0.0","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0"
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"1.0.0","name":"a b"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"9.9.9","name":"n"}
DEL|CNI_CONTAINERID=c CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"0.5.0","name":"n"}
CHECK|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":"0.3.1","name":"n"}
ADD|CNI_CONTAINERID=c CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/p|{"cniVersion":1,"name":"n"}
EOF
	done
	[ "$n" -gt 0 ] || skip "no reference plugin of the same name in $REF"
}

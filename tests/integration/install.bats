#!/usr/bin/env bats
# weft-install: the plugins and the node's conflist land atomically in temp CNI dirs, unchanged
# files are left alone, a foreign conflist is refused, --uninstall takes everything away, and
# the conflist it writes works through cnitool with the reference portmap and bandwidth chained.

load helpers

setup() {
	weft_setup
	T=$(mktemp -d /tmp/weft-install.XXXXXX)
	weft_track_path "$T"
	mkdir -p "$T/bin" "$T/conf"
	echo '{"backend": "bridge", "name": "winst", "bridge": "wibr0"}' >"$T/bridge.json"
	echo '{"backend": "vxlan", "clusterCIDR": "10.244.0.0/16"}' >"$T/vxlan.json"
}

teardown() {
	weft_teardown
}

fail() {
	echo "$*" >&2
	return 1
}

inst() {
	"$BIN/weft-install" --src-dir "$BIN" --bin-dir "$T/bin" --conf-dir "$T/conf" \
		--peers-dir "$T/peers" --node-name n1 "$@"
}

# want_version: the checkout's `git describe` ("" outside a git checkout).
want_version() {
	[ -e "$WEFT_ROOT/.git" ] || return 0
	git -C "$WEFT_ROOT" describe --tags --always --dirty 2>/dev/null || true
}

@test "install: every binary answers --version with one version, the checkout's" {
	local b v want all=()
	want=$(want_version)
	for b in bridge host-gw vxlan ebpf host-local nsrun netlab weft-node weft-install; do
		run "$BIN/$b" --version
		[ "$status" -eq 0 ] || fail "$b --version: exit $status: $output"
		[[ "$output" =~ ^$b\ ([^\ ]+)$ ]] || fail "$b --version: '$output'"
		all+=("${BASH_REMATCH[1]}")
	done
	v=${all[0]}
	for b in "${all[@]}"; do
		[ "$b" = "$v" ] || fail "versions differ: ${all[*]}"
	done
	# the checkout's describe, give or take -dirty (an edit after the build)
	[ -z "$want" ] || [ "${v%-dirty}" = "${want%-dirty}" ] || fail "built $v, checkout $want"
}

@test "install: the log names the version of each plugin copied, warns on another build's" {
	local v other
	v=$("$BIN/weft-install" --version | cut -d' ' -f2)
	other=$(tr -c '\n' z <<<"$v") # same length: the binary stays the same size
	mkdir "$T/src"
	cp "$BIN/bridge" "$BIN/host-gw" "$T/src/"
	LC_ALL=C sed "s/@(#)weft-version $v\x00/@(#)weft-version $other\x00/" "$BIN/vxlan" >"$T/src/vxlan"
	printf '#!/bin/sh\n' >"$T/src/ebpf"
	WEFT_LOG_LEVEL=info run inst --src-dir "$T/src" --net-conf "$T/bridge.json" \
		--pod-cidr 10.77.1.0/24
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"installed $T/bin/weft-bridge (weft $v)"* ]] || fail "$output"
	[[ "$output" == *"installed $T/bin/weft-host-gw (weft $v)"* ]] || fail "$output"
	[[ "$output" == *"installed $T/bin/weft-vxlan (weft $other)"* ]] || fail "$output"
	[[ "$output" == *"weft-vxlan is weft $other, weft-install is $v"* ]] || fail "$output"
	[[ "$output" == *"installed $T/bin/weft-ebpf: not a weft build"* ]] || fail "$output"
	[[ "$output" != *"weft-bridge is weft"* ]] || fail "$output"
	# the copies run by hand say what they are, on stderr, exit 0
	env -u CNI_COMMAND "$T/bin/weft-bridge" >"$T/out" 2>"$T/err" </dev/null || fail "exit $?"
	[ ! -s "$T/out" ] || fail "stdout: $(cat "$T/out")"
	[ "$(sed -n 1p "$T/err")" = "weft bridge plugin $v" ] || fail "$(cat "$T/err")"
	grep -qx 'CNI protocol versions supported: 0.1.0, .*, 1.1.0' "$T/err" || fail "$(cat "$T/err")"
}

@test "install: plugins and conflist written once, identical runs change nothing" {
	run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 0 ] || fail "$output"
	for p in bridge host-gw vxlan ebpf; do
		cmp "$BIN/$p" "$T/bin/weft-$p" || fail "weft-$p differs"
		[ -x "$T/bin/weft-$p" ]
	done
	jq -e '.weftInstall.version and .plugins[0].type == "weft-bridge" and
		.plugins[0].ipam.ranges[0][0].subnet == "10.77.1.0/24" and
		.plugins[1].type == "portmap" and .plugins[2].type == "bandwidth"' \
		"$T/conf/10-weft.conflist"
	ls "$T/bin" "$T/conf" | grep -q '\.tmp\.' && fail "temp file left"
	before=$(stat -c %i:%Y "$T/conf/10-weft.conflist" "$T/bin/weft-bridge")
	sleep 1
	WEFT_LOG_LEVEL=info run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$output" ] || fail "an unchanged install wrote: $output"
	[ "$(stat -c %i:%Y "$T/conf/10-weft.conflist" "$T/bin/weft-bridge")" = "$before" ]
	# a new pod CIDR rewrites only the conflist, by rename (new inode)
	WEFT_LOG_LEVEL=info run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.2.0/24
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" == *"wrote $T/conf/10-weft.conflist"* ]] || fail "$output"
	[[ "$output" != *installed* ]] || fail "$output"
	jq -e '.plugins[0].ipam.ranges[0][0].subnet == "10.77.2.0/24"' "$T/conf/10-weft.conflist"
}

@test "install: a conflist weft did not write is refused, --force takes it, --uninstall removes" {
	echo '{"name": "theirs", "plugins": []}' >"$T/conf/10-weft.conflist"
	run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 1 ]
	[[ "$output" == *"weft did not write it"*"--force"* ]] || fail "$output"
	grep -q theirs "$T/conf/10-weft.conflist"
	run "$BIN/weft-install" --uninstall --bin-dir "$T/bin" --conf-dir "$T/conf"
	[ "$status" -eq 1 ]
	grep -q theirs "$T/conf/10-weft.conflist"
	run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.1.0/24 --force
	[ "$status" -eq 0 ] || fail "$output"
	run "$BIN/weft-install" --uninstall --bin-dir "$T/bin" --conf-dir "$T/conf"
	[ "$status" -eq 0 ] || fail "$output"
	[ -z "$(find "$T/bin" "$T/conf" -mindepth 1)" ] || fail "left: $(find "$T/bin" "$T/conf")"
}

@test "install: bad input is refused with the key named, nothing written" {
	run env -u KUBERNETES_SERVICE_HOST "$BIN/weft-install" --net-conf "$T/vxlan.json" \
		--src-dir "$BIN" --bin-dir "$T/bin" --conf-dir "$T/conf" --node-name n1
	[ "$status" -eq 1 ]
	[[ "$output" == *"not in a cluster"*"--kubeconfig"* ]] || fail "$output"
	run env -u NODE_NAME "$BIN/weft-install" --net-conf "$T/vxlan.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 2 ]
	[[ "$output" == *"--node-name (or NODE_NAME)"* ]] || fail "$output"
	echo '{"backend": "flannel"}' >"$T/bad.json"
	run inst --net-conf "$T/bad.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 1 ]
	[[ "$output" == *'"backend" is "flannel"'* ]] || fail "$output"
	echo '{"backend": ' >"$T/bad.json"
	run inst --net-conf "$T/bad.json" --pod-cidr 10.77.1.0/24
	[ "$status" -eq 1 ]
	[[ "$output" == *"bad.json: line"* ]] || fail "$output"
	run inst --net-conf "$T/vxlan.json" --pod-cidr 10.77.1.5/24
	[ "$status" -eq 1 ]
	[[ "$output" == *"not a network prefix"* ]] || fail "$output"
	[ -z "$(find "$T/bin" "$T/conf" -mindepth 1)" ] || fail "written: $(find "$T/bin" "$T/conf")"
}

@test "install: a multi-node backend gets nodeName, clusterCIDR and an empty peersFile" {
	run inst --net-conf "$T/vxlan.json" --pod-cidr 10.244.3.0/24 --pod-cidr fd00:244:3::/64
	[ "$status" -eq 0 ] || fail "$output"
	[ "$(cat "$T/peers/weft-nodes.json")" = "[]" ]
	jq -e --arg p "$T/peers/weft-nodes.json" '.plugins[0] | .type == "weft-vxlan" and
		.nodeName == "n1" and .peersFile == $p and .clusterCIDR == "10.244.0.0/16" and
		.vni == 1 and .ipam.ranges == [[{"subnet": "10.244.3.0/24"}]]' "$T/conf/10-weft.conflist"
	echo '[{"name": "n2", "nodeIP": "192.0.2.2", "podCIDR": "10.244.2.0/24"}]' >"$T/peers/weft-nodes.json"
	run inst --net-conf "$T/vxlan.json" --pod-cidr 10.244.3.0/24
	[ "$status" -eq 0 ] || fail "$output"
	grep -q n2 "$T/peers/weft-nodes.json" || fail "the agent's peer list was overwritten"
}

@test "install: the written conflist serves cnitool add/del with portmap and bandwidth chained" {
	weft_need_cnitool
	[ -x /usr/lib/cni/portmap ] && [ -x /usr/lib/cni/bandwidth ] || skip "reference plugins missing"
	run inst --net-conf "$T/bridge.json" --pod-cidr 10.77.5.0/24
	[ "$status" -eq 0 ] || fail "$output"
	mkdir -p "$T/net.d"
	jq --arg d "$DATA" '.plugins[0].ipam.dataDir = $d' "$T/conf/10-weft.conflist" >"$T/net.d/10-weft.conflist"
	tool() {
		ip netns exec "$HOST" env NETCONFPATH="$T/net.d" CNI_PATH="$T/bin:/usr/lib/cni" \
			CAP_ARGS='{"portMappings": [{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"}],
				   "bandwidth": {"ingressRate": 8000000, "ingressBurst": 800000,
						 "egressRate": 8000000, "egressBurst": 800000}}' \
			"$CNITOOL" "$@" "/run/netns/$CTR"
	}
	run tool add winst
	[ "$status" -eq 0 ] || fail "$output"
	cache=$(ls /var/lib/cni/results/winst-cnitool-*-eth0)
	weft_track_path "$cache"
	ip=$(json_get "$output" '.ips[0].address')
	[[ "$ip" == 10.77.5.* ]] || fail "$output"
	ip netns exec "$HOST" ping -c1 -W2 "${ip%/*}" >/dev/null || fail "pod does not answer"
	ip netns exec "$HOST" iptables -t nat -S | grep -q 'dport 18080' || fail "no hostPort rule"
	ip -n "$HOST" -j link show | jq -e '.[] | select(.ifname | startswith("bwp"))' >/dev/null ||
		tc -n "$HOST" qdisc show | grep -q tbf || fail "bandwidth did not shape"
	run tool del winst
	[ "$status" -eq 0 ] || fail "$output"
	ip netns exec "$HOST" iptables -t nat -S | grep -q 'dport 18080' && fail "hostPort rule left"
	ip -n "$CTR" link show eth0 2>/dev/null && fail "pod veth left"
	[ "$(find "$DATA/winst" -maxdepth 1 -type f ! -name lock ! -name 'last_reserved_ip.*' \
		! -name '.*' | wc -l)" = 0 ] || fail "reservation left: $(ls -A "$DATA/winst")"
}

#!/usr/bin/env bats
# The C runtime side (netns-tools/runtime/) driven by `netlab cni`, against a fake plugin that
# logs every call, against real plugins, and against cnitool (libcni 1.1.2): an attachment
# added by one is checked and deleted by the other, through the shared result cache.

load helpers

setup() {
	weft_setup
	CONFDIR=$DATA/net.d
	PLUGINS=$DATA/bin
	LOG=$DATA/log
	CACHE=$DATA/cache
	mkdir -p "$CONFDIR" "$PLUGINS" "$LOG"
	write_fake_plugin "$PLUGINS/fake"
	NETLAB=$BIN/netlab
	NET=wft$$t$BATS_TEST_NUMBER
	export NETCONFPATH=$CONFDIR CNI_PATH=$PLUGINS WEFT_CNI_CACHE_DIR=$CACHE FAKE_LOG=$LOG
}

teardown() {
	# cnitool only knows /var/lib/cni: remove what this test's network left there.
	rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null || true
	weft_teardown
}

# A plugin that logs stdin and env per call (NNN-VERB-tag.json / .env), answers ADD with its
# prevResult or a fixed result, and fails with code 42 when the config says "failOn": VERB.
write_fake_plugin() {
	cat >"$1" <<'EOF'
#!/bin/bash
in=$(cat)
n=$(find "$FAKE_LOG" -name '*.json' | wc -l)
tag=$(jq -r '.tag // "x"' <<<"$in")
base=$FAKE_LOG/$(printf %03d "$n")-$CNI_COMMAND-$tag
printf '%s' "$in" >"$base.json"
env | grep '^CNI_' | sort >"$base.env"
if [ "$(jq -r '.failOn // ""' <<<"$in")" = "$CNI_COMMAND" ]; then
	echo '{"code":42,"msg":"told to fail","details":"failOn"}'
	exit 1
fi
if [ "$CNI_COMMAND" = ADD ]; then
	if jq -e .prevResult <<<"$in" >/dev/null; then
		jq -c '.prevResult | .dns = {"nameservers":["10.9.0.53"]}' <<<"$in"
	else
		jq -nc --arg v "$(jq -r .cniVersion <<<"$in")" --arg ns "$CNI_NETNS" \
			'{cniVersion:$v, interfaces:[{name:"eth0",sandbox:$ns}],
			  ips:[{address:"10.9.0.5/24",gateway:"10.9.0.1",interface:0}]}'
	fi
fi
exit 0
EOF
	chmod +x "$1"
}

two_plugin_list() { # NAME VERSION [EXTRA top-level JSON members]
	printf '{"cniVersion":"%s","name":"%s"%s,"plugins":[{"type":"fake","tag":"one","capabilities":{"portMappings":true,"mac":false}},{"type":"fake","tag":"two"}]}\n' \
		"$2" "$1" "${3:+,$3}"
}

calls() { # the VERB-tag sequence the fake plugin saw
	find "$LOG" -name '*.json' -printf '%f\n' | sort | sed 's/^[0-9]*-//; s/\.json$//' | paste -sd' '
}

@test "runtime: ADD runs the chain in order with prevResult and caches the result as libcni does" {
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/10-net.conflist"
	CAP_ARGS='{"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}],"mac":"c2:11:22:33:44:55"}' \
		run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two" ]
	# name and cniVersion injected; runtimeConfig only for the capability declared true
	jq -e '.name == "'"$NET"'" and .cniVersion == "1.0.0" and (.prevResult | not)
		and .runtimeConfig == {"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"}]}' \
		"$LOG"/000-ADD-one.json
	jq -e '.prevResult.ips[0].address == "10.9.0.5/24" and (.runtimeConfig | not)' "$LOG"/001-ADD-two.json
	grep -qx 'CNI_CONTAINERID=ctr1' "$LOG"/000-ADD-one.env
	grep -qx "CNI_NETNS=/run/netns/$CTR" "$LOG"/000-ADD-one.env
	grep -qx 'CNI_IFNAME=eth0' "$LOG"/000-ADD-one.env
	grep -qx "CNI_PATH=$PLUGINS" "$LOG"/000-ADD-one.env
	# the final result is printed and cached, 0600, in libcni's cniCacheV1 shape
	echo "$output" | jq -e '.dns.nameservers == ["10.9.0.53"]'
	f=$CACHE/results/$NET-ctr1-eth0
	[ "$(stat -c %a "$f")" = 600 ]
	jq -e '.kind == "cniCacheV1" and .containerId == "ctr1" and .ifName == "eth0"
		and .networkName == "'"$NET"'" and .netns == "/run/netns/'"$CTR"'"
		and .result.dns.nameservers == ["10.9.0.53"] and .capabilityArgs.mac == "c2:11:22:33:44:55"' "$f"
	# "config" is base64 of the conflist bytes, byte for byte
	cmp <(jq -r .config "$f" | base64 -d) "$CONFDIR/10-net.conflist"
}

@test "runtime: DEL runs in reverse with the cached result as prevResult, then drops the cache" {
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/10-net.conflist"
	CNI_ARGS='IgnoreUnknown=1;K8S_POD_NAME=web' run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	jq -e '.cniArgs == [["IgnoreUnknown","1"],["K8S_POD_NAME","web"]]' "$CACHE/results/$NET-ctr1-eth0"
	run "$NETLAB" cni del "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two DEL-two DEL-one" ]
	jq -e '.prevResult.dns.nameservers == ["10.9.0.53"]' "$LOG"/002-DEL-two.json
	jq -e '.prevResult.ips[0].address == "10.9.0.5/24"' "$LOG"/003-DEL-one.json
	[ ! -e "$CACHE/results/$NET-ctr1-eth0" ]
	# DEL again (nothing cached): still every plugin, without prevResult
	run "$NETLAB" cni del "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	jq -e '.prevResult | not' "$LOG"/004-DEL-two.json
}

@test "runtime: CHECK gets the cached result; disableCheck (string \"true\") skips the plugins" {
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/10-net.conflist"
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ctr1
	run "$NETLAB" cni check "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two CHECK-one CHECK-two" ]
	jq -e '.prevResult.dns.nameservers == ["10.9.0.53"]' "$LOG"/002-CHECK-one.json
	two_plugin_list "$NET" 1.0.0 '"disableCheck":"TRUE"' >"$CONFDIR/10-net.conflist"
	run "$NETLAB" cni check "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two CHECK-one CHECK-two" ]
	two_plugin_list "$NET" 0.3.1 >"$CONFDIR/10-net.conflist"
	run "$NETLAB" cni check "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -ne 0 ]
	[[ "$output" == *'does not support the CHECK command'* ]]
}

@test "runtime: a plugin's CNI error stops the chain and keeps its code; nothing is cached" {
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"fake","tag":"one","failOn":"ADD"},{"type":"fake","tag":"two"}]}' \
		"$NET" >"$CONFDIR/10-net.conflist"
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ctr1
	[ "$status" -eq 1 ]
	[[ "$output" == *'told to fail'* && "$output" == *failOn* ]]
	[ "$(calls)" = "ADD-one" ]
	[ ! -e "$CACHE/results/$NET-ctr1-eth0" ]
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id 'bad/id'
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid container ID'* ]]
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ctr1 --ifname 'way-too-long-ifname'
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid interface name'* ]]
}

@test "runtime: conf dir loading follows libcni (sorted conflists, .conf fallback, cniVersions, plugin dir)" {
	# two lists with the same name: the lexically first wins
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/20-b.conflist"
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"fake","tag":"first"}]}' "$NET" >"$CONFDIR/10-a.conflist"
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id c1
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-first" ]
	rm -f "$LOG"/*
	# cniVersions: the highest <= 1.1.0 is injected (9.9.9 is ignored)
	printf '{"cniVersion":"1.0.0","cniVersions":["0.4.0","1.1.0","9.9.9"],"name":"%s-v","plugins":[{"type":"fake","tag":"v"}]}' \
		"$NET" >"$CONFDIR/30-v.conflist"
	run "$NETLAB" cni add "$NET-v" "/run/netns/$CTR" --container-id c1
	[ "$status" -eq 0 ]
	jq -e '.cniVersion == "1.1.0"' "$LOG"/000-ADD-v.json
	rm -f "$LOG"/*
	# a single-plugin .conf is wrapped into a list
	printf '{"cniVersion":"0.4.0","name":"%s-single","type":"fake","tag":"single"}' "$NET" >"$CONFDIR/40-s.conf"
	run "$NETLAB" cni add "$NET-single" "/run/netns/$CTR" --container-id c1
	[ "$status" -eq 0 ]
	jq -e '.cniVersion == "0.4.0" and .type == "fake"' "$LOG"/000-ADD-single.json
	rm -f "$LOG"/*
	# plugins from <confdir>/<name>/*.conf are appended, unless loadOnlyInlinedPlugins
	mkdir "$CONFDIR/$NET-dir"
	printf '{"type":"fake","tag":"fromdir"}' >"$CONFDIR/$NET-dir/1.conf"
	printf '{"cniVersion":"1.0.0","name":"%s-dir","plugins":[{"type":"fake","tag":"inline"}]}' "$NET" >"$CONFDIR/50-d.conflist"
	run "$NETLAB" cni add "$NET-dir" "/run/netns/$CTR" --container-id c1
	[ "$(calls)" = "ADD-inline ADD-fromdir" ]
	rm -f "$LOG"/*
	printf '{"cniVersion":"1.0.0","name":"%s-dir","loadOnlyInlinedPlugins":"true","plugins":[{"type":"fake","tag":"inline"}]}' "$NET" >"$CONFDIR/50-d.conflist"
	run "$NETLAB" cni add "$NET-dir" "/run/netns/$CTR" --container-id c2
	[ "$(calls)" = "ADD-inline" ]
	# errors
	run "$NETLAB" cni add nosuchnet "/run/netns/$CTR"
	[ "$status" -eq 1 ]
	[[ "$output" == *'no net configuration with name "nosuchnet"'* ]]
	printf '{"cniVersion":"1.0.0","name":"x","disableCheck":"maybe","plugins":[{"type":"fake"}]}' >"$CONFDIR/00-bad.conflist"
	run "$NETLAB" cni add x "/run/netns/$CTR"
	[ "$status" -eq 1 ]
	[[ "$output" == *'invalid value "maybe" for disableCheck'* ]]
}

@test "runtime: GC deletes cached attachments that are not valid, then GCs the plugins; STATUS" {
	printf '{"cniVersion":"1.1.0","name":"%s","plugins":[{"type":"fake","tag":"one"}]}' "$NET" >"$CONFDIR/10-net.conflist"
	"$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id keep >/dev/null
	"$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id stale >/dev/null
	run "$NETLAB" cni gc "$NET" --valid keep/eth0
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-one DEL-one GC-one" ]
	grep -qx 'CNI_CONTAINERID=stale' "$LOG"/002-DEL-one.env
	[ -e "$CACHE/results/$NET-keep-eth0" ]
	[ ! -e "$CACHE/results/$NET-stale-eth0" ]
	jq -e '."cni.dev/valid-attachments" == [{"containerID":"keep","ifname":"eth0"}]
		and ."cni.dev/attachments" == [{"containerID":"keep","ifname":"eth0"}]' "$LOG"/003-GC-one.json
	grep -qx 'CNI_CONTAINERID=' "$LOG"/003-GC-one.env
	run "$NETLAB" cni status "$NET"
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-one DEL-one GC-one STATUS-one" ]
	# gc without --valid: every cached attachment of the network goes (as cnitool gc)
	run "$NETLAB" cni gc "$NET"
	[ "$status" -eq 0 ]
	[ ! -e "$CACHE/results/$NET-keep-eth0" ]
}

@test "runtime: weft ADD, then cnitool CHECK and DEL (shared /var/lib/cni cache, same container ID)" {
	weft_need_cnitool
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/10-net.conflist"
	unset WEFT_CNI_CACHE_DIR
	run "$NETLAB" cni add "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	cid=cnitool-$(printf %s "/run/netns/$CTR" | sha512sum | cut -c1-20)
	f=/var/lib/cni/results/$NET-$cid-eth0
	jq -e '.kind == "cniCacheV1"' "$f"
	run "$CNITOOL" check "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	jq -e '.prevResult.dns.nameservers == ["10.9.0.53"]' "$LOG"/002-CHECK-one.json
	grep -qx "CNI_CONTAINERID=$cid" "$LOG"/002-CHECK-one.env
	run "$CNITOOL" del "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two CHECK-one CHECK-two DEL-two DEL-one" ]
	[ ! -e "$f" ]
}

@test "runtime: cnitool ADD, then weft CHECK and DEL" {
	weft_need_cnitool
	two_plugin_list "$NET" 1.0.0 >"$CONFDIR/10-net.conflist"
	unset WEFT_CNI_CACHE_DIR
	run "$CNITOOL" add "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	cid=cnitool-$(printf %s "/run/netns/$CTR" | sha512sum | cut -c1-20)
	[ -e "/var/lib/cni/results/$NET-$cid-eth0" ]
	run "$NETLAB" cni check "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	jq -e '.prevResult.ips[0].address == "10.9.0.5/24"' "$LOG"/002-CHECK-one.json
	run "$NETLAB" cni del "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ "$(calls)" = "ADD-one ADD-two CHECK-one CHECK-two DEL-two DEL-one" ]
	jq -e '.prevResult.dns.nameservers == ["10.9.0.53"]' "$LOG"/004-DEL-two.json
	[ ! -e "/var/lib/cni/results/$NET-$cid-eth0" ]
}

# Real plugins, run in the throwaway "host" netns. weft_bridge_list NAME PLUGIN_DIR
bridge_list() {
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge","bridge":"wbr0","isGateway":true,"ipam":{"type":"host-local","subnet":"10.98.7.0/24","dataDir":"%s"}}]}\n' \
		"$1" "$DATA/ipam"
}

@test "runtime: weft bridge + host-local through the runtime; cnitool checks and deletes it" {
	weft_need_cnitool
	[ -x "$BIN/bridge" ] || skip "weft bridge plugin not built"
	bridge_list "$NET" >"$CONFDIR/10-net.conflist"
	unset WEFT_CNI_CACHE_DIR
	run ip netns exec "$HOST" env CNI_PATH="$BIN" "$NETLAB" cni add "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ips[0].address == "10.98.7.2/24"'
	ip -n "$CTR" -j addr show eth0 | jq -e '.[0].addr_info[] | select(.local == "10.98.7.2")'
	ip -n "$HOST" -j link show wbr0 | jq -e 'length == 1'
	[ -e "$DATA/ipam/$NET/10.98.7.2" ]
	run ip netns exec "$HOST" env CNI_PATH="$BIN" "$CNITOOL" check "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	run ip netns exec "$HOST" env CNI_PATH="$BIN" "$CNITOOL" del "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	run ip -n "$CTR" link show eth0
	[ "$status" -ne 0 ]
	[ ! -e "$DATA/ipam/$NET/10.98.7.2" ]
}

@test "runtime: drives the reference plugins too (containernetworking-plugins bridge + host-local)" {
	[ -x /usr/lib/cni/bridge ] || skip "containernetworking-plugins not installed"
	bridge_list "$NET" >"$CONFDIR/10-net.conflist"
	run ip netns exec "$HOST" env CNI_PATH=/usr/lib/cni "$NETLAB" cni add "$NET" "/run/netns/$CTR" --container-id ref1
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ips[0].address == "10.98.7.2/24"'
	ip -n "$CTR" -j addr show eth0 | jq -e '.[0].addr_info[] | select(.local == "10.98.7.2")'
	run ip netns exec "$HOST" env CNI_PATH=/usr/lib/cni "$NETLAB" cni check "$NET" "/run/netns/$CTR" --container-id ref1
	[ "$status" -eq 0 ]
	run ip netns exec "$HOST" env CNI_PATH=/usr/lib/cni "$NETLAB" cni del "$NET" "/run/netns/$CTR" --container-id ref1
	[ "$status" -eq 0 ]
	[ ! -e "$DATA/ipam/$NET/10.98.7.2" ]
	[ ! -e "$CACHE/results/$NET-ref1-eth0" ]
}

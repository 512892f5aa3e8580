#!/usr/bin/env bats
# host-local IPAM: the CNI contract for an IPAM plugin (docs/cni-contract.md §7: 18, 21,
# 22, 27-29, 32-38, 41, 43, 45-47), concurrency, kill -9 safety, interoperation with the
# reference host-local on one dataDir, and cnitool end to end. host-local touches no network
# namespace; every test still has its own netns pair and dataDir (helpers.bash).

load helpers

REF=/usr/lib/cni/host-local

setup() {
	weft_setup
	NET=hl$$t$BATS_TEST_NUMBER
	T=$BATS_TEST_TMPDIR
}

teardown() {
	[ -n "${HOLDER:-}" ] && kill -9 "$HOLDER" 2>/dev/null
	rm -f /var/lib/cni/results/"$NET"-* 2>/dev/null
	weft_teardown
}

# conf VERSION [IPAM_EXTRA] [TOP_EXTRA]: host-local config on network $NET in $DATA.
conf() {
	printf '{"cniVersion":"%s","name":"%s","ipam":{"type":"host-local","dataDir":"%s"%s}%s}' \
		"$1" "$NET" "$DATA" "${2-,\"subnet\":\"10.22.0.0/24\"}" "${3-}"
}

# hl CMD CONF [CID] [IFNAME] [NETNS]: our plugin through run_plugin (inside $HOST).
hl() {
	run_plugin "$1" host-local "$2" "${3-ctr1}" "${4-eth0}" "${5-/run/netns/$CTR}"
}

# hlx / refx CMD CONF CID [IFNAME]: ours / the reference, exec'd directly (no netns needed).
hlx() {
	printf '%s' "$2" | env CNI_COMMAND="$1" CNI_CONTAINERID="$3" CNI_IFNAME="${4-eth0}" \
		CNI_NETNS="/run/netns/$CTR" CNI_PATH="$BIN" CNI_ARGS="${CNI_ARGS:-}" "$BIN/host-local"
}
refx() {
	printf '%s' "$2" | env CNI_COMMAND="$1" CNI_CONTAINERID="$3" CNI_IFNAME="${4-eth0}" \
		CNI_NETNS="/run/netns/$CTR" CNI_PATH=/usr/lib/cni CNI_ARGS="${CNI_ARGS:-}" "$REF"
}

# Reservation files (IP-named) of the network, sorted.
ips_on_disk() {
	ls "$DATA/$NET" 2>/dev/null | grep -E '^[0-9a-f.:]+$' | grep -E '[.:]' | sort -V
}

# owner IP: the file's exact content, with \r\n shown as |.
owner() {
	local c
	c=$(cat "$DATA/$NET/$1"; printf x)
	c=${c%x}
	printf '%s' "${c//$'\r\n'/|}"
}

@test "host-local: ADD result per version: no interfaces, gateway = network+1 (§7.18)" {
	local v i=2
	for v in 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0; do
		run hl ADD "$(conf "$v")" "c$v"
		[ "$status" -eq 0 ]
		json_get "$output" '.cniVersion' | grep -qx "$v"
		echo "$output" | jq -e 'has("interfaces") | not'
		echo "$output" | jq -e --arg a "10.22.0.$i/24" '.ips | length == 1 and .[0].address == $a'
		echo "$output" | jq -e '.ips[0].gateway == "10.22.0.1" and (.ips[0] | has("interface") | not)'
		if [[ $v == 0.* ]]; then
			echo "$output" | jq -e '.ips[0].version == "4"'
		else
			echo "$output" | jq -e '.ips[0] | has("version") | not'
		fi
		[ "$(owner 10.22.0.$i)" = "c$v|eth0" ]
		i=$((i + 1))
	done
	run hl ADD "$(conf 0.2.0 ',"subnet":"10.22.0.0/24","gateway":"10.22.0.254"')" c020
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.ip4.ip == "10.22.0.7/24" and .ip4.gateway == "10.22.0.254"'
}

@test "host-local: dual stack, routes and resolvConf DNS in the result (§7.21)" {
	printf '# generated\nnameserver 10.22.0.53\nnameserver fd22::53\n; note\ndomain ex.test\nsearch a.ex.test b.ex.test\noptions ndots:2\n' >"$DATA/resolv.conf"
	local ipam=',"ranges":[[{"subnet":"10.22.0.0/24"}],[{"subnet":"fd22::/64","gateway":"fd22::ff"}]],"routes":[{"dst":"0.0.0.0/0"},{"dst":"fd00::/8","gw":"fd22::ff"}],"resolvConf":"'$DATA/resolv.conf'"'
	run hl ADD "$(conf 1.0.0 "$ipam")"
	[ "$status" -eq 0 ]
	# the v6 gateway is not network+1, so network+1 is handed out (as the reference does)
	echo "$output" | jq -e '[.ips[].address] == ["10.22.0.2/24","fd22::1/64"]'
	echo "$output" | jq -e '[.ips[].gateway] == ["10.22.0.1","fd22::ff"]'
	echo "$output" | jq -e '.routes == [{"dst":"0.0.0.0/0"},{"dst":"fd00::/8","gw":"fd22::ff"}]'
	echo "$output" | jq -e '.dns == {"nameservers":["10.22.0.53","fd22::53"],"domain":"ex.test","search":["a.ex.test","b.ex.test"],"options":["ndots:2"]}'
	[ "$(owner fd22::1)" = "ctr1|eth0" ]
}

@test "host-local: second ADD of one (cid, ifname) is refused, nothing leaks (§7.22)" {
	run hl ADD "$(conf 1.0.0)"
	[ "$status" -eq 0 ]
	run hl ADD "$(conf 1.0.0)"
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 105 ]
	[ "$(json_get "$output" .msg)" = "failed to allocate for range 0: 10.22.0.2 has been allocated to ctr1, duplicate allocation is not allowed" ]
	[ "$(ips_on_disk)" = "10.22.0.2" ]
}

@test "host-local: /30 holds one address; the second ADD fails, STATUS says 50 (§7.27, §7.43)" {
	local c
	c=$(conf 1.1.0 ',"subnet":"10.22.0.0/30"')
	run hl STATUS "$c" "" "" ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	run hl ADD "$c" a
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.2/30
	run hl ADD "$c" b
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 104 ]
	[ "$(json_get "$output" .msg)" = "failed to allocate for range 0: no IP addresses available in range set: 10.22.0.1-10.22.0.2" ]
	run hl STATUS "$c" "" "" ""
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 50 ]
	[ "$(json_get "$output" .msg)" = "no IP addresses available in range set: 10.22.0.1-10.22.0.2" ]
	run hl DEL "$c" a
	[ "$status" -eq 0 ]
	run hl STATUS "$c" "" "" ""
	[ "$status" -eq 0 ]
}

@test "host-local: requested IP via CNI_ARGS, args.cni.ips, runtimeConfig.ips (§7.28)" {
	CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.22.0.50" run hl ADD "$(conf 1.0.0)" a
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.50/24
	run hl ADD "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ',"args":{"cni":{"ips":["10.22.0.51"]}}')" b
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.51/24
	run hl ADD "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ',"runtimeConfig":{"ips":["10.22.0.52/24"]}')" c
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.52/24
	# the gateway, an address outside every range, a taken one
	CNI_ARGS="IP=10.22.0.1" run hl ADD "$(conf 1.0.0)" d
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .msg)" = "failed to allocate for range 0: requested ip 10.22.0.1 is subnet's gateway" ]
	CNI_ARGS="IP=10.99.0.1" run hl ADD "$(conf 1.0.0)" d
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .msg)" = "failed to allocate all requested IPs: 10.99.0.1" ]
	CNI_ARGS="IP=10.22.0.50" run hl ADD "$(conf 1.0.0)" d
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .msg)" = "failed to allocate for range 0: requested IP address 10.22.0.50 is not available in range set 10.22.0.1-10.22.0.254" ]
	CNI_ARGS="IP=banana" run hl ADD "$(conf 1.0.0)" d
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 4 ]
	[ "$(ips_on_disk | tr '\n' ' ')" = "10.22.0.50 10.22.0.51 10.22.0.52 " ]
	[ "$(owner 10.22.0.50)" = "a|eth0" ]
}

@test "host-local: round robin: a released IP is not reused before the wrap (§7.29)" {
	run hl ADD "$(conf 1.0.0)" a
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.2/24
	run hl DEL "$(conf 1.0.0)" a
	[ "$status" -eq 0 ]
	run hl ADD "$(conf 1.0.0)" b
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.3/24
	[ "$(cat "$DATA/$NET/last_reserved_ip.0")" = 10.22.0.3 ]
}

@test "host-local: DEL releases; twice, unknown, no netns, gone netns, prevResult (§7.32-38)" {
	local c prev
	c=$(conf 1.0.0)
	run hl DEL "$c" nobody
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ ! -e "$DATA/$NET" ] # DEL creates nothing
	run hl ADD "$c" a
	[ "$status" -eq 0 ]
	prev=$(echo "$output" | jq -c .)
	run hl DEL "$c" a
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ -z "$(ips_on_disk)" ]
	run hl DEL "$c" a
	[ "$status" -eq 0 ]
	# without CNI_NETNS, and with a netns path that no longer exists
	run hl ADD "$c" b
	run hl DEL "$c" b eth0 ""
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
	run hl ADD "$c" d
	run hl DEL "$c" d eth0 /run/netns/wft-gone-$$
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
	# with the prevResult of the ADD
	run hl ADD "$c" e
	prev=$(echo "$output" | jq -c .)
	run hl DEL "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ",\"prevResult\":$prev")" e
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
	[ "$(ls "$DATA/$NET")" = "$(printf 'last_reserved_ip.0\nlock')" ]
}

@test "host-local: DEL still releases when the ranges no longer validate" {
	run hl ADD "$(conf 1.0.0)" a
	[ "$status" -eq 0 ]
	run hl ADD "$(conf 1.0.0 ',"subnet":"10.22.0.9/24"')" b
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 7 ]
	run hl DEL "$(conf 1.0.0 ',"subnet":"10.22.0.9/24"')" a
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
}

@test "host-local: bad configs are code 7 with the reference's words" {
	run hl ADD "$(conf 1.0.0 '')"
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 7 ]
	[ "$(json_get "$output" .msg)" = "no IP ranges specified" ]
	run hl ADD "$(conf 1.0.0 ',"subnet":"10.22.0.5/24"')"
	[ "$(json_get "$output" .msg)" = "invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.22.0.0" ]
	run hl ADD "$(conf 1.0.0 ',"subnet":"10.22.0.0/31"')"
	[ "$(json_get "$output" .msg)" = "invalid range set 0: Network 10.22.0.0/31 too small to allocate from" ]
	run hl ADD "$(conf 1.0.0 ',"ranges":[[{"subnet":"10.22.0.0/24","rangeStart":"10.23.0.1"}]]')"
	[ "$(json_get "$output" .msg)" = "invalid range set 0: RangeStart 10.23.0.1 not in network 10.22.0.0/24" ]
	run hl ADD "$(conf 1.0.0 ',"ranges":[[{"subnet":"10.22.0.0/24"},{"subnet":"fd00::/64"}]]')"
	[ "$(json_get "$output" .msg)" = "invalid range set 0: mixed address families" ]
	run hl ADD "$(conf 1.0.0 ',"ranges":[[{"subnet":"10.22.0.0/24"}],[{"subnet":"10.22.0.128/25"}]]')"
	[ "$(json_get "$output" .msg)" = "range set 0 overlaps with 1" ]
	run hl ADD "$(conf 0.2.0 ',"ranges":[[{"subnet":"10.22.0.0/24"}],[{"subnet":"10.23.0.0/24"}]]')"
	[ "$(json_get "$output" .msg)" = "CNI version 0.2.0 does not support more than 1 address per family" ]
	run hl ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"$NET\"}"
	[ "$(json_get "$output" .msg)" = "IPAM config missing 'ipam' key" ]
	[ ! -e "$DATA/$NET" ]
}

@test "host-local: CHECK finds the reservation; fails once the file is gone (§7.41)" {
	local c prev
	c=$(conf 1.0.0)
	run hl ADD "$c" a
	prev=$(echo "$output" | jq -c .)
	run hl CHECK "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ",\"prevResult\":$prev")" a
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	rm "$DATA/$NET/10.22.0.2"
	run hl CHECK "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ",\"prevResult\":$prev")" a
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .msg)" = "host-local: Failed to find address added by container a" ]
	# the reservation now belongs to someone else: a prevResult naming it fails CHECK
	run hl ADD "$c" b
	run hl ADD "$c" a
	run hl CHECK "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ",\"prevResult\":$prev")" a
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .msg)" = "host-local: address 10.22.0.2 of prevResult is not reserved for container a" ]
}

@test "host-local: GC keeps valid attachments, lock and cursor; other networks untouched (§7.45-48)" {
	local c other
	c=$(conf 1.1.0)
	run hl ADD "$c" a
	run hl ADD "$c" b
	run hl ADD "$c" a eth1
	other=$(printf '%s' "$c" | sed "s/\"name\":\"$NET\"/\"name\":\"${NET}o\"/")
	run hl ADD "$other" z
	[ "$status" -eq 0 ]
	run hl GC "$(conf 1.1.0 ',"subnet":"10.22.0.0/24"' ',"cni.dev/valid-attachments":[{"containerID":"a","ifname":"eth0"}]')" "" "" ""
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	[ "$(ips_on_disk)" = 10.22.0.2 ]
	[ -f "$DATA/$NET/lock" ] && [ -f "$DATA/$NET/last_reserved_ip.0" ]
	# the legacy key alone
	run hl ADD "$c" b
	run hl GC "$(conf 1.1.0 ',"subnet":"10.22.0.0/24"' ',"cni.dev/attachments":[{"containerID":"b","ifname":"eth0"}]')" "" "" ""
	[ "$status" -eq 0 ]
	[ "$(ips_on_disk)" = 10.22.0.5 ]
	# an empty list: everything of this network goes, nothing of the other
	run hl GC "$(conf 1.1.0 ',"subnet":"10.22.0.0/24"' ',"cni.dev/valid-attachments":[]')" "" "" ""
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
	[ "$(ls "$DATA/$NET")" = "$(printf 'last_reserved_ip.0\nlock')" ]
	[ "$(owner ../${NET}o/10.22.0.2)" = "z|eth0" ]
	# GC is refused below 1.1.0 (skel), and deletes nothing
	run hl GC "$(conf 1.0.0 ',"subnet":"10.22.0.0/24"' ',"cni.dev/valid-attachments":[]')" "" "" ""
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 1 ]
}

@test "host-local: a held lock is a bounded wait: code 11, then success once free" {
	run hl ADD "$(conf 1.0.0)" a
	# one process holding the flock, so killing it by pid frees the lock
	(
		exec 9>>"$DATA/$NET/lock"
		flock 9
		exec sleep 30
	) &
	HOLDER=$!
	sleep 0.2
	WEFT_LOCK_TIMEOUT_MS=300 run hlx ADD "$(conf 1.0.0)" b
	[ "$status" -eq 1 ]
	[ "$(json_get "$output" .code)" = 11 ]
	kill -9 "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	HOLDER=
	run hlx ADD "$(conf 1.0.0)" b
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.3/24
}

@test "host-local: 200 concurrent ADDs get 200 distinct IPs; 200 concurrent DELs leave only lock and cursor" {
	local c i pids=() fail=0
	c=$(conf 1.0.0 ',"subnet":"10.22.0.0/23"')
	printf '%s' "$c" >"$T/conf"
	for i in $(seq 200); do
		env CNI_COMMAND=ADD CNI_CONTAINERID="c$i" CNI_IFNAME=eth0 CNI_NETNS=/x CNI_PATH="$BIN" \
			"$BIN/host-local" <"$T/conf" >"$T/add.$i" 2>>"$T/err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail=$((fail + 1)); done
	cat "$T/err" >&2 || true
	[ "$fail" -eq 0 ]
	[ "$(cat "$T"/add.* | jq -r '.ips[0].address' | sort -u | wc -l)" -eq 200 ]
	[ "$(ips_on_disk | wc -l)" -eq 200 ]
	for i in 1 77 200; do
		[ "$(owner "$(jq -r '.ips[0].address' "$T/add.$i" | cut -d/ -f1)")" = "c$i|eth0" ]
	done
	pids=()
	for i in $(seq 200); do
		env CNI_COMMAND=DEL CNI_CONTAINERID="c$i" CNI_IFNAME=eth0 CNI_PATH="$BIN" \
			"$BIN/host-local" <"$T/conf" >"$T/del.$i" 2>>"$T/err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || fail=$((fail + 1)); done
	[ "$fail" -eq 0 ]
	[ -z "$(cat "$T"/del.*)" ]
	[ "$(ls "$DATA/$NET")" = "$(printf 'last_reserved_ip.0\nlock')" ]
	# no index entry left either (empty buckets keep their header), no claim; at most two
	# spare inodes, which hold no reservation
	! cat "$DATA/$NET"/.weft/b.* | grep -q "$(printf '\t')"
	! ls "$DATA/$NET/.weft" | grep -q '^claim\.'
	[ "$(ls "$DATA/$NET/.weft" | grep -c '^spare\.')" -le 2 ]
}

@test "host-local: kill -9 at random moments during 100 ADDs: files complete, GC keeps exactly the survivors" {
	local c i killed survivors=() att ip
	c=$(conf 1.1.0 ',"subnet":"10.22.0.0/24"')
	printf '%s' "$c" >"$T/conf"
	# (a subshell with stderr closed: bash reports every killed job there)
	(
		for i in $(seq 100); do
			env CNI_COMMAND=ADD CNI_CONTAINERID="k$i" CNI_IFNAME=eth0 CNI_NETNS=/x \
				CNI_PATH="$BIN" "$BIN/host-local" <"$T/conf" >"$T/k.$i" &
			pid=$!
			case $((RANDOM % 5)) in
			1) sleep 0.0005 ;;
			2) sleep 0.001 ;;
			3) sleep 0.002 ;;
			4) sleep 0.02 ;;
			esac
			kill -9 "$pid" || true # it may have finished
			if wait "$pid"; then echo "k$i" >>"$T/survivors"; fi
		done
	) 2>/dev/null
	touch "$T/survivors"
	mapfile -t survivors <"$T/survivors"
	killed=$((100 - ${#survivors[@]}))
	echo "survivors ${#survivors[@]} killed $killed" >&3
	[ "$killed" -gt 0 ]
	# every reservation file is complete: exactly "k<N>\r\neth0"
	for ip in $(ips_on_disk); do
		[[ "$(owner "$ip")" =~ ^k[0-9]+\|eth0$ ]]
	done
	[ ! -e "$DATA/$NET/.weft-tmp" ]
	echo "reservations before GC: $(ips_on_disk | wc -l)" >&3
	att=$(jq -R '{containerID: ., ifname: "eth0"}' <"$T/survivors" | jq -sc .)
	[ -n "$att" ]
	run hlx GC "$(conf 1.1.0 ',"subnet":"10.22.0.0/24"' ",\"cni.dev/valid-attachments\":$att")" ""
	[ "$status" -eq 0 ]
	[ "$(ips_on_disk | wc -l)" -eq "${#survivors[@]}" ]
	for i in "${survivors[@]}"; do
		ip=$(jq -r '.ips[0].address' "$T/k.${i#k}" | cut -d/ -f1)
		[ "$(owner "$ip")" = "$i|eth0" ]
	done
	# and the store keeps working: a new ADD, a survivor's DEL
	run hlx ADD "$c" fresh
	[ "$status" -eq 0 ]
	if ((${#survivors[@]})); then
		run hlx DEL "$c" "${survivors[0]}"
		[ "$status" -eq 0 ]
		[ "$(ips_on_disk | wc -l)" -eq "${#survivors[@]}" ]
	fi
}

@test "host-local: a dataDir written by the reference host-local is honoured" {
	local c i
	c=$(conf 1.0.0 ',"subnet":"10.22.0.0/28"') # .2 - .14: 13 addresses
	for i in 1 2 3; do
		run refx ADD "$c" "r$i"
		[ "$status" -eq 0 ]
	done
	[ "$(ips_on_disk | tr '\n' ' ')" = "10.22.0.2 10.22.0.3 10.22.0.4 " ]
	# ours never hands those out, even on the wrap, and sees its cursor
	for i in $(seq 10); do
		run hlx ADD "$c" "w$i"
		[ "$status" -eq 0 ]
		[[ ! "$(json_get "$output" '.ips[0].address')" =~ ^10\.22\.0\.[234]/ ]]
	done
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.14/28
	run hlx ADD "$c" w11
	[ "$(json_get "$output" .code)" = 104 ]
	# duplicate check, CHECK and DEL by container ID on the reference's files
	run hlx ADD "$c" r1
	[ "$(json_get "$output" .msg)" = "failed to allocate for range 0: 10.22.0.2 has been allocated to r1, duplicate allocation is not allowed" ]
	run hlx CHECK "$c" r2
	[ "$status" -eq 0 ]
	run hlx DEL "$c" r2
	[ "$status" -eq 0 ]
	[ ! -e "$DATA/$NET/10.22.0.3" ]
	run hlx ADD "$c" w11
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.3/28
	# legacy id-only files of old host-local versions: released by container ID
	printf 'oldpod' >"$DATA/$NET/10.22.0.4.tmp"
	rm "$DATA/$NET/10.22.0.4"
	mv "$DATA/$NET/10.22.0.4.tmp" "$DATA/$NET/10.22.0.4"
	run hlx DEL "$c" oldpod eth7
	[ "$status" -eq 0 ]
	[ ! -e "$DATA/$NET/10.22.0.4" ]
}

@test "host-local: the reference host-local reads and releases what ours wrote" {
	local c i
	c=$(conf 1.0.0 ',"subnet":"10.22.0.0/28"')
	for i in 1 2 3; do run hlx ADD "$c" "w$i"; done
	[ "$(ips_on_disk | tr '\n' ' ')" = "10.22.0.2 10.22.0.3 10.22.0.4 " ]
	run refx ADD "$c" r1 # continues after our cursor
	[ "$status" -eq 0 ]
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.5/28
	run refx CHECK "$c" w2
	[ "$status" -eq 0 ]
	run refx ADD "$c" w2
	[ "$status" -ne 0 ]
	[[ "$(json_get "$output" .msg)" == *"10.22.0.3 has been allocated to w2, duplicate allocation is not allowed" ]]
	run refx DEL "$c" w1
	[ "$status" -eq 0 ]
	[ ! -e "$DATA/$NET/10.22.0.2" ]
	# the reference never took our index for a reservation
	[ -f "$DATA/$NET/.weft/state" ]
	[ "$(cat "$DATA/$NET"/.weft/b.* | grep -c "$(printf '\t')")" -ge 2 ] # w2, w3 still listed
	# ours sees the change: w1 is gone, r1 is there, the cursor moved on
	run hlx CHECK "$c" w1
	[ "$status" -eq 1 ]
	run hlx ADD "$c" r1
	[[ "$(json_get "$output" .msg)" == *"10.22.0.5 has been allocated to r1"* ]]
	run hlx ADD "$c" w4
	json_get "$output" '.ips[0].address' | grep -qx 10.22.0.6/28
	# alternate on one attachment: ref ADD, our DEL, ref ADD again
	run refx ADD "$c" alt
	[ "$status" -eq 0 ]
	run hlx DEL "$c" alt
	[ "$status" -eq 0 ]
	run refx ADD "$c" alt
	[ "$status" -eq 0 ]
	run refx DEL "$c" w3
	run refx DEL "$c" w2
	run hlx DEL "$c" alt
	run hlx DEL "$c" w4
	run refx DEL "$c" r1
	[ -z "$(ips_on_disk)" ]
}

@test "host-local: add, check, del through cnitool with a conflist (§7.52)" {
	local dir cache
	weft_need_cnitool
	dir=$T/net.d
	mkdir -p "$dir"
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"host-local","ipam":{"type":"host-local","dataDir":"%s","subnet":"10.22.0.0/24","routes":[{"dst":"0.0.0.0/0"}]}}]}' \
		"$NET" "$DATA" >"$dir/10-$NET.conflist"
	run env NETCONFPATH="$dir" CNI_PATH="$BIN" "$CNITOOL" add "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	echo "$output" | jq -e '.cniVersion == "1.0.0" and .ips[0].address == "10.22.0.2/24"'
	echo "$output" | jq -e '.routes == [{"dst":"0.0.0.0/0"}]'
	[[ "$(owner 10.22.0.2)" =~ ^cnitool-[0-9a-f]{20}\|eth0$ ]]
	cache=$(ls /var/lib/cni/results/"$NET"-cnitool-*-eth0)
	[ -f "$cache" ]
	run env NETCONFPATH="$dir" CNI_PATH="$BIN" "$CNITOOL" check "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	run env NETCONFPATH="$dir" CNI_PATH="$BIN" "$CNITOOL" del "$NET" "/run/netns/$CTR"
	[ "$status" -eq 0 ]
	[ -z "$(ips_on_disk)" ]
	[ ! -e "$cache" ]
	run env NETCONFPATH="$dir" CNI_PATH="$BIN" "$CNITOOL" check "$NET" "/run/netns/$CTR"
	[ "$status" -ne 0 ]
}

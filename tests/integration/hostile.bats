#!/usr/bin/env bats
# Hostile and broken input: every case answers a CNI error JSON with the right code
# and leaves nothing behind (no veth, no IP file, no nft rule, no bpf entry, nothing outside
# the dataDir). Run against every plugin present (host-local, bridge, ebpf; host-gw and vxlan
# once they exist). Also: DEL in degraded situations, and source rules (no shell-outs, CLOEXEC).

load helpers
load reliability

setup() {
	rel_setup
	OUTSIDE=$(mktemp -d /tmp/weft-outside.XXXXXX)
	weft_track_path "$OUTSIDE"
	echo precious >"$OUTSIDE/target"
}

teardown() {
	local pid
	# the netns sleepers of the vanish test, by pid (only those still sleeping)
	for pid in ${SLEEPERS:-}; do
		[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && kill -9 "$pid" 2>/dev/null
	done
	rel_teardown
}

# every_plugin FN: runs FN PLUGIN for each plugin present; fails on the first failure.
every_plugin() {
	local p n=0
	for p in $(rel_present); do
		n=$((n + 1))
		"$1" "$p" || {
			echo "... with plugin $p" >&2
			return 1
		}
	done
	[ "$n" -gt 0 ] || skip "no plugin built in $BIN"
}

# outside_untouched: the canary outside the dataDir is intact and alone.
outside_untouched() {
	[ "$(cat "$OUTSIDE/target")" = precious ] || return 1
	[ "$(find "$OUTSIDE" -mindepth 1 | wc -l)" -eq 1 ]
}

# expect P CODE CMD CONF [CID] [IFNAME] [NETNS]: the verb fails with CODE, nothing is left.
expect() {
	local p=$1 code=$2
	shift 2
	run run_plugin "$1" "$p" "$2" "${3-ctr1}" "${4-eth0}" "${5-/run/netns/$CTR}"
	rel_expect_code "$code" || return 1
	rel_assert_clean "$p $1 code $code" || return 1
	# nothing in the pod either
	[ "$(ip -n "$CTR" -j link show | jq '[.[] | select(.ifname != "lo")] | length')" -eq 0 ]
}

# ---- names: container ID, ifname, network name -------------------------------------------------

long300=$(printf 'a%.0s' $(seq 300))

names_case() {
	local p=$1 c bad
	c=$(rel_conf "$p")
	for bad in "a/b" "../../etc" ".." "-x" "a b" 'a;b' "$long300/x"; do
		expect "$p" 4 ADD "$c" "$bad" eth0 || return 1
		expect "$p" 4 DEL "$c" "$bad" eth0 || return 1
	done
	for bad in "a/b" ".." "." "$long300" "eth0:1" "e th0" "abcdefghijklmnop"; do
		expect "$p" 4 ADD "$c" ctr1 "$bad" || return 1
		expect "$p" 4 CHECK "$c" ctr1 "$bad" || return 1
	done
	for bad in "a/b" "../.." ".." "x y" "-n" "$long300/x"; do
		expect "$p" 7 ADD "$(jq -c --arg n "$bad" '.name = $n' <<<"$c")" || return 1
		expect "$p" 7 DEL "$(jq -c --arg n "$bad" '.name = $n' <<<"$c")" || return 1
	done
	# 300 valid characters (the spec sets no length limit on IDs and network names): accepted,
	# or refused with 4/7; either way DEL succeeds and nothing is left or escapes the dataDir
	long_case "$p" "$c" "$long300" ctr1 || return 1
	long_case "$p" "$(jq -c --arg n "$long300" '.name = $n' <<<"$c")" ctr1 ctr1 || return 1
	rel_assert_clean || return 1
	[ "$(find "$DATA" -mindepth 2 -type f ! -name lock ! -name 'last_reserved_ip.*' \
		! -path '*/.weft/*' | wc -l)" -eq 0 ]
	outside_untouched
}

# long_case P CONF CID _: ADD then DEL with a long (valid) ID or network name.
long_case() {
	local p=$1 c=$2 cid=$3 ns=l$RANDOM
	weft_netns_add "$ns" >/dev/null
	ns=$WEFT_PREFIX-$ns
	run run_plugin ADD "$p" "$c" "$cid" eth0 "/run/netns/$ns"
	local added=$status code
	code=$(jq -r .code <<<"$output")
	if [ "$added" -ne 0 ] && ! [[ $code =~ ^(4|7)$ ]]; then
		echo "long name: $output" >&2
		return 1
	fi
	# DEL: success, or (when ADD refused the name) the same refusal
	run run_plugin DEL "$p" "$c" "$cid" eth0 "/run/netns/$ns"
	if [ "$status" -ne 0 ] && { [ "$added" -eq 0 ] || [ "$(jq -r .code <<<"$output")" != "$code" ]; }; then
		echo "DEL long name: $output" >&2
		return 1
	fi
	rel_census
	[ "$(rel_veths) $(rel_rules) $(rel_bpf_entries)" = "0 0 0" ] || return 1
	[ "$(find "$DATA" -regextype posix-extended -regex '.*/[0-9a-f.:]+' | wc -l)" -eq 0 ]
}

@test "hostile: container IDs, ifnames, network names with /, .., 300 characters" {
	every_plugin names_case
}

# ---- the dataDir -------------------------------------------------------------------------------

# die MSG: report and fail (the plugins' last output included).
die() {
	echo "$*${output:+; last output: $output}" >&2
	return 1
}

symlink_case() {
	local p=$1 c cf ip
	c=$(rel_conf "$p" 1.1.0 '{"ipam": {"ranges": [[{"subnet": "10.77.0.0/29"}]]}}')
	cf=$(rel_conf_file "$p" 1.1.0 '{"ipam": {"ranges": [[{"subnet": "10.77.0.0/29"}]]}}')
	mkdir -p "$DATA/$NET"
	# the first candidate address is a symlink to a file outside: never followed, skipped
	ln -s "$OUTSIDE/target" "$DATA/$NET/10.77.0.2"
	ln -s "$OUTSIDE/target" "$DATA/$NET/last_reserved_ip.0"
	run run_plugin ADD "$p" "$c"
	[ "$status" -eq 0 ] || die "ADD beside planted symlinks failed"
	ip=$(jq -r '.ips[0].address' <<<"$output")
	[ "$ip" != 10.77.0.2/29 ] || die "got the address of the planted symlink"
	outside_untouched || die "ADD wrote through a symlink"
	run run_plugin DEL "$p" "$c"
	[ "$status" -eq 0 ] || die "DEL failed"
	rel_gc "$p" "$cf"
	[ "$status" -eq 0 ] || die "GC failed"
	outside_untouched || die "DEL/GC wrote through a symlink"
	[ -L "$DATA/$NET/10.77.0.2" ] || die "GC removed a symlink that is not a reservation"
	rm -f "$DATA/$NET/10.77.0.2" "$DATA/$NET/last_reserved_ip.0"
	rel_assert_clean || return 1
	# the lock file as a symlink: refused (no reservation), target untouched
	rm -f "$DATA/$NET/lock"
	ln -s "$OUTSIDE/target" "$DATA/$NET/lock"
	run run_plugin ADD "$p" "$c"
	[ "$status" -ne 0 ] && [ -n "$(jq -r .code <<<"$output")" ] || die "ADD with a symlinked lock"
	rel_assert_clean || return 1
	outside_untouched || die "the lock symlink was followed"
	rm -rf "${DATA:?}/$NET"
	# the network directory itself a symlink to a directory outside: refused, nothing written
	mkdir "$OUTSIDE/net" && ln -s "$OUTSIDE/net" "$DATA/$NET"
	run run_plugin ADD "$p" "$c"
	[ "$status" -ne 0 ] && [ -n "$(jq -r .code <<<"$output")" ] || die "ADD in a symlinked dir"
	[ "$(find "$OUTSIDE/net" -mindepth 1 | wc -l)" -eq 0 ] || die "wrote through the dir symlink"
	rm -f "${DATA:?}/$NET" && rmdir "$OUTSIDE/net"
	rel_assert_clean && outside_untouched
}

@test "hostile: symlinks planted in the dataDir are never followed" {
	every_plugin symlink_case
}

# ---- stdin ---------------------------------------------------------------------------------------

big_stdin_case() {
	local p=$1 t0 t1 rss
	t0=$(date +%s%N)
	# 100 MB that starts like a config; the plugin stops reading at its bound
	run bash -c '{ printf "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":\""; \
		head -c 100000000 /dev/zero | tr "\0" x; printf "\"}"; } |
		ip netns exec "$HOST" env CNI_COMMAND=ADD CNI_CONTAINERID=c CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$CTR CNI_PATH=$BIN /usr/bin/time -f "rss=%M" -o "$REL_CONFS/time" \
		"$BIN/$1" 2>/dev/null' _ "$p"
	t1=$(date +%s%N)
	rel_expect_code 5 || return 1
	# fast and bounded: well under the time to read 100 MB, a few MB of memory
	[ $(((t1 - t0) / 1000000)) -lt 10000 ] || return 1
	rss=$(sed -n 's/^rss=//p' "$REL_CONFS/time")
	echo "$p: 100 MB stdin refused in $(((t1 - t0) / 1000000)) ms, max RSS ${rss} kB" >&3
	[ "${rss:-0}" -lt 65536 ] || return 1
	rel_assert_clean
}

@test "hostile: 100 MB on stdin is code 5, fast, bounded memory" {
	[ -x /usr/bin/time ] || skip "needs GNU time"
	[ -z "${WEFT_VALGRIND:-}" ] || skip "timing is meaningless under valgrind"
	every_plugin big_stdin_case
}

nesting_case() {
	local p=$1 deep open close
	# 100000 levels: a JSON decode error (6), no stack overflow
	deep=$(printf '[%.0s' $(seq 100000))
	expect "$p" 6 ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"x\":$deep" || return 1
	# 1000 levels, well formed, where an object is expected (jq cannot build these)
	open=$(printf '[%.0s' $(seq 1000))
	close=$(printf ']%.0s' $(seq 1000))
	deep=$open$close
	expect "$p" 7 ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"$NET\",\"type\":\"$p\",\"ipam\":$deep}" ||
		return 1
	expect "$p" 7 ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"$NET\",\"type\":\"$p\",\"ipam\":{\"type\":\"host-local\",\"dataDir\":\"$DATA\",\"ranges\":$deep}}" ||
		return 1
	# as prevResult: a decode error
	expect "$p" 6 ADD "{\"cniVersion\":\"1.0.0\",\"name\":\"$NET\",\"type\":\"$p\",\"prevResult\":$deep}"
}

@test "hostile: deeply nested JSON is code 6 or 7, no stack overflow" {
	every_plugin nesting_case
}

types_case() {
	local p=$1 c e
	c=$(rel_conf "$p")
	expect "$p" 6 ADD "$(jq -c '.name = 5' <<<"$c")" || return 1
	expect "$p" 6 ADD "$(jq -c '.cniVersion = 1' <<<"$c")" || return 1
	expect "$p" 6 ADD '' || return 1
	expect "$p" 6 ADD '[1,2]' || return 1
	expect "$p" 6 ADD '{"cniVersion":"1.0.0","name":"n",}' || return 1
	for e in '.ipam = "host-local"' '.ipam.ranges = {}' '.ipam.ranges = [["10.1.0.0/24"]]' \
		'.ipam.ranges[0][0].subnet = 5' '.ipam.dataDir = []' '.ipam.routes = "x"' \
		'.ipam.ranges[0][0].subnet = "10.77.0.0/33"' \
		'.ipam.ranges[0][0].subnet = "300.1.2.0/24"' \
		'.ipam.ranges[0][0].rangeStart = "10.99.0.1"'; do
		expect "$p" 7 ADD "$(jq -c "$e" <<<"$c")" || return 1
	done
	rel_kernel_plugin "$p" || return 0
	for e in '.ipMasq = "yes"' '.ipMasq = 1' '.mtu = "1500"' '.mtu = -1' '.mtu = 65536' \
		'.mtu = 1e10' '.mtu = 1500.5' '.mtu = 4294968796'; do
		expect "$p" 7 ADD "$(jq -c "$e" <<<"$c")" || return 1
	done
	# beyond int64: jansson refuses to decode the number (6)
	expect "$p" 6 ADD "$(jq -c '.mtu = 0' <<<"$c" | sed 's/"mtu":0/"mtu":99999999999999999999/')" ||
		return 1
	if [ "$p" = bridge ]; then
		for e in '.vlan = 5000' '.vlan = -1' '.bridge = 7' '.bridge = "a/b"' \
			'.bridge = "abcdefghijklmnopq"' '.isGateway = "maybe"' \
			'.vlanTrunk = [{"minID": 10, "maxID": 5000}]'; do
			expect "$p" 7 ADD "$(jq -c "$e" <<<"$c")" || return 1
		done
	fi
}

@test "hostile: wrong types and numbers out of range are code 6/7" {
	every_plugin types_case
}

utf8_case() {
	local p=$1 c
	c=$(rel_conf "$p")
	# invalid UTF-8 in the config: jansson refuses to decode it (6)
	expect "$p" 6 ADD "$(printf '{"cniVersion":"1.0.0","name":"n\xff\xfe","type":"x"}')" ||
		return 1
	expect "$p" 6 ADD "$(jq -c . <<<"$c" | sed 's/"type"/"t\xc3\x28ype"/')" || return 1
	# in the environment: code 4, and the error JSON must still carry a msg
	expect "$p" 4 ADD "$c" "$(printf 'ctr\xff\xfe')" || return 1
	# an ifname with a non-UTF-8 byte is valid by the spec's rules (only /, :, whitespace,
	# length): accepted or refused with 4, and DEL cleans up either way
	# (a result cannot carry it in JSON, so refusing it up front is the sane answer)
	run run_plugin ADD "$p" "$c" ctr1 "$(printf 'e\xc3\x28')"
	if [ "$status" -ne 0 ]; then
		rel_expect_code 4 || return 1
		rel_assert_clean "failed ADD with a non-UTF-8 ifname" || return 1
	fi
	run run_plugin DEL "$p" "$c" ctr1 "$(printf 'e\xc3\x28')"
	[ "$status" -eq 0 ] || return 1
	rel_assert_clean "non-UTF-8 ifname" || return 1
	CNI_ARGS=$(printf 'K\xffEY=1') expect "$p" 4 ADD "$c" || return 1
	# a valid 2-byte character cut by a message's precision must not drop the msg either
	expect "$p" 4 ADD "$c" "$(printf 'c%.0s' $(seq 127))$(printf '\xc3\xa9')" || return 1
}

@test "hostile: invalid UTF-8 in config (6) and environment (4), error JSON intact" {
	every_plugin utf8_case
}

# ---- CNI_NETNS -----------------------------------------------------------------------------------

netns_case() {
	local p=$1 c
	rel_kernel_plugin "$p" || return 0
	c=$(rel_conf "$p")
	: >"$OUTSIDE/file"
	expect "$p" 106 ADD "$c" ctr1 eth0 "$OUTSIDE/file" || return 1
	expect "$p" 106 ADD "$c" ctr1 eth0 "$OUTSIDE" || return 1
	expect "$p" 106 ADD "$c" ctr1 eth0 /nonexistent/netns || return 1
	expect "$p" 106 ADD "$c" ctr1 eth0 /proc/self/ns/mnt || return 1
	# DEL must still succeed (the netns is optional there)
	run run_plugin DEL "$p" "$c" ctr1 eth0 "$OUTSIDE/file"
	[ "$status" -eq 0 ] || return 1
	rm -f "$OUTSIDE/file"
	rel_assert_clean && outside_untouched
}

@test "hostile: CNI_NETNS that is a regular file, a directory, missing, or not a netns" {
	every_plugin netns_case
}

# ---- a CNI_NETNS that vanishes mid-ADD -----------------------------------------------------------

# now_ms
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# sleeper_start: a `sleep` alone in a new netns (unshare execs it: $! is its pid). SLEEPER is
# its pid once it has left our netns: before that, /proc/PID/ns/net would be this machine's.
sleeper_start() {
	local own i
	own=$(readlink /proc/self/ns/net)
	unshare --net sleep 30 &
	SLEEPER=$!
	SLEEPERS="${SLEEPERS:-} $SLEEPER"
	for i in $(seq 200); do
		if [ "$(cat "/proc/$SLEEPER/comm" 2>/dev/null)" = sleep ] &&
			[ "$(readlink "/proc/$SLEEPER/ns/net")" != "$own" ]; then
			return 0
		fi
		sleep 0.01
	done
	echo "sleeper $SLEEPER never left our netns" >&2
	return 1
}

# sleeper_stop: kill -9 the sleeper (by pid) and reap it; its netns goes with its last user.
sleeper_stop() {
	kill -9 "$SLEEPER" 2>/dev/null || true
	wait "$SLEEPER" 2>/dev/null || true
}

# vanish_add P CONFFILE CID OUT: ADD into the sleeper's netns under `timeout 20`, in the
# background; VANISH_PID is the pid of the timeout.
vanish_add() {
	local pre=()
	[ -n "${WEFT_VALGRIND:-}" ] && pre=("${REL_VALGRIND[@]}")
	timeout 20 ip netns exec "$HOST" env CNI_COMMAND=ADD CNI_CONTAINERID="$3" CNI_IFNAME=eth0 \
		CNI_NETNS="/proc/$SLEEPER/ns/net" CNI_PATH="$BIN" CNI_ARGS="" "${pre[@]}" "$BIN/$1" \
		<"$2" >"$4" 2>>"$BATS_TEST_TMPDIR/plugin.stderr" &
	VANISH_PID=$!
}

# vanish_run P: the vanishing-netns race for plugin P (the tests below).
vanish_run() {
	[ -x "$BIN/$1" ] || skip "no $1 in $BIN"
	local p=$1 cf out i n t0 per delay rc okc=0 failc=0 per_rules
	n=${REL_VANISH_N:-10}
	cf=$(rel_conf_file "$p")
	out=$BATS_TEST_TMPDIR/vanish
	mkdir -p "$out"
	# a FIFO we hold open for writing is never readable: `read -t` on it waits without a fork
	mkfifo "$out/sleep.fifo"
	exec {fd}<>"$out/sleep.fifo"

	# calibrate: one ADD into a live sleeper, and the nft rules of a network with a pod
	sleeper_start
	t0=$(now_ms)
	vanish_add "$p" "$cf" cal "$out/cal"
	wait "$VANISH_PID" || {
		echo "calibration ADD failed: $(cat "$out/cal")" >&2
		return 1
	}
	per=$(($(now_ms) - t0 + 1))
	per_rules=$(rel_rules)
	sleeper_stop
	run run_plugin DEL "$p" "$cf" cal eth0 "/proc/$SLEEPER/ns/net"
	[ "$status" -eq 0 ]
	rel_assert_clean "calibration"
	[ "$per_rules" -gt 0 ]

	for i in $(seq "$n"); do
		sleeper_start
		vanish_add "$p" "$cf" "v$i" "$out/$i"
		# uniform over 1.5 times an ADD (the netns goes before, during or after the ADD), or,
		# every other time, over its first third (mostly before the plugin holds the netns)
		delay=$((RANDOM % (i % 2 ? per / 3 + 1 : per * 3 / 2 + 1)))
		[ "$delay" -eq 0 ] || read -r -t "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))" \
			-u "$fd" || true
		sleeper_stop
		rc=0
		wait "$VANISH_PID" || rc=$?
		case $rc in
		0)
			jq -e '.cniVersion and (.ips | length == 1)' "$out/$i" >/dev/null || {
				echo "ADD v$i: success without a result: $(cat "$out/$i")" >&2
				return 1
			}
			okc=$((okc + 1))
			;;
		124 | 137)
			echo "ADD v$i hung (killed by timeout)" >&2
			return 1
			;;
		*)
			jq -e '(.code | type == "number") and .code > 0 and (.msg | length > 0)' \
				"$out/$i" >/dev/null || {
				echo "ADD v$i: exit $rc, not a CNI error: $(cat "$out/$i")" >&2
				return 1
			}
			failc=$((failc + 1))
			;;
		esac
		# a refused ADD undid itself; an answered one holds one address, and the network its
		# masquerade as long as it holds an address
		[ "$(rel_reservations)" -eq "$okc" ] || {
			echo "after v$i: $(rel_reservations) reservations for $okc answered ADDs" >&2
			return 1
		}
		[ "$(rel_rules)" -eq $((okc > 0 ? per_rules : 0)) ] || {
			echo "after v$i: $(rel_rules) rules for $okc answered ADDs" >&2
			return 1
		}
	done
	echo "# vanish: $n ADDs, $okc answered, $failc refused (kill within ${per}ms x1.5)" >&3

	for i in $(seq "$n"); do
		run run_plugin DEL "$p" "$cf" "v$i" eth0 "/proc/$SLEEPER/ns/net"
		[ "$status" -eq 0 ] || {
			echo "DEL v$i: $output" >&2
			return 1
		}
	done
	exec {fd}<&-
	rel_assert_clean "after DEL"
	rel_lock_free
}

@test "hostile: CNI_NETNS of another process that vanishes mid-ADD (bridge): result or CNI error, DEL leaves nothing" {
	vanish_run bridge
}

@test "hostile: CNI_NETNS that vanishes mid-ADD (ebpf): result or CNI error, DEL leaves no endpoint" {
	vanish_run ebpf
}

@test "hostile: CNI_NETNS that vanishes mid-ADD (host-gw): result or CNI error, DEL leaves nothing" {
	vanish_run host-gw
}

@test "hostile: CNI_NETNS that vanishes mid-ADD (vxlan): result or CNI error, DEL leaves nothing" {
	vanish_run vxlan
}

# ---- foreign objects ---------------------------------------------------------------------------

@test "hostile: bridge name that is an existing non-bridge link is code 7, link untouched" {
	[ -x "$BIN/bridge" ] || skip "no bridge plugin"
	ip -n "$HOST" link add "$REL_BRIDGE" type veth peer name wrelbr0p
	ip -n "$HOST" addr add 192.0.2.1/24 dev "$REL_BRIDGE"
	before=$(ip -n "$HOST" -j addr show "$REL_BRIDGE" | jq -c '.[0] | {ifname, address, addr_info}')
	run run_plugin ADD bridge "$(rel_conf bridge)"
	rel_expect_code 7
	[ "$(ip -n "$HOST" -j -d link show "$REL_BRIDGE" | jq -r '.[0].linkinfo.info_kind')" = veth ]
	[ "$(ip -n "$HOST" -j addr show "$REL_BRIDGE" | jq -c '.[0] | {ifname, address, addr_info}')" = "$before" ]
	rel_assert_clean
	run run_plugin DEL bridge "$(rel_conf bridge)"
	[ "$status" -eq 0 ]
	ip -n "$HOST" link show "$REL_BRIDGE" >/dev/null
}

foreign_snapshot() {
	# counters move with traffic (IPv6 DAD through the bridge): compare everything else
	ip netns exec "$HOST" nft -j list table inet foreign | jq -c '[.nftables[] | del(.metainfo) |
		del(.table.handle, .chain.handle, .rule.handle)] |
		walk(if type == "object" and has("counter") then .counter = "n" else . end)'
	ip -n "$HOST" -j -d link show | jq -c '[.[] | select(.ifname | test("^(fdummy|vethf|veth0123)"))
		| {ifname, address, mtu, operstate, master, kind: .linkinfo.info_kind}] | sort_by(.ifname)'
}

foreign_case() {
	local p=$1 c cf before ns
	c=$(rel_conf "$p")
	cf=$(rel_conf_file "$p")
	before=$(foreign_snapshot)
	for i in 1 2 3; do
		ns=$WEFT_PREFIX-f$i
		ip netns list | grep -q "^$ns\b" || weft_netns_add "f$i" >/dev/null
		run run_plugin ADD "$p" "$c" "c$i" eth0 "/run/netns/$ns"
		[ "$status" -eq 0 ] || {
			echo "ADD: $output" >&2
			return 1
		}
	done
	run run_plugin DEL "$p" "$c" c1 eth0 "/run/netns/$WEFT_PREFIX-f1"
	[ "$status" -eq 0 ] || return 1
	rel_gc "$p" "$cf" '[{"containerID": "c2", "ifname": "eth0"}]'
	[ "$status" -eq 0 ] || return 1
	[ "$(rel_reservations)" -eq 1 ] || return 1
	rel_gc "$p" "$cf"
	[ "$status" -eq 0 ] || return 1
	rel_assert_clean || return 1
	[ "$(foreign_snapshot)" = "$before" ] || {
		echo "foreign state changed:" >&2
		echo "$before" >&2
		foreign_snapshot >&2
		return 1
	}
}

@test "hostile: a foreign nft table and foreign links are untouched by ADD, DEL and GC" {
	ip netns exec "$HOST" nft -f - <<-'EOF'
		table inet foreign {
			chain postrouting {
				type nat hook postrouting priority srcnat; policy accept;
				ip saddr 10.77.0.0/22 counter masquerade comment "not weft's"
			}
			chain fwdchain {
				type filter hook forward priority 0; policy accept;
				counter
			}
		}
	EOF
	ip -n "$HOST" link add fdummy0 type veth peer name fdummy1
	ip -n "$HOST" link add vethf0 type veth peer name vethf1
	# named like a weft host veth, but without weft's alias: GC must not take it
	ip -n "$HOST" link add veth0123456789a type veth peer name veth0123456789b
	ip -n "$HOST" link set fdummy0 up
	every_plugin foreign_case
}

# ---- DEL in degraded situations (overlaps the plugins' own suites on purpose) -------------------

# add_one P CID NS: ADD that must succeed.
add_one() {
	run run_plugin ADD "$1" "$(rel_conf "$1")" "$2" eth0 "/run/netns/$3"
	[ "$status" -eq 0 ] || {
		echo "ADD $1 $2: $output" >&2
		return 1
	}
	ADD_RESULT=$output
}

del_ok() { # del_ok P CID NETNS [CONF]
	run run_plugin DEL "$1" "${4:-$(rel_conf "$1")}" "$2" eth0 "$3"
	[ "$status" -eq 0 ] && [ -z "$output" ] || {
		echo "DEL $1 $2: status $status: $output" >&2
		return 1
	}
}

degraded_case() {
	local p=$1 ns c
	c=$(rel_conf "$p")
	# the netns is gone
	weft_netns_add d1 >/dev/null
	ns=$WEFT_PREFIX-d1
	add_one "$p" d1 "$ns" || return 1
	ip netns del "$ns"
	del_ok "$p" d1 "/run/netns/$ns" || return 1
	rel_assert_clean "netns gone" || return 1
	# the host veth deleted by hand
	weft_netns_add d2 >/dev/null
	ns=$WEFT_PREFIX-d2
	add_one "$p" d2 "$ns" || return 1
	if rel_kernel_plugin "$p"; then
		ip -n "$HOST" -j link show type veth | jq -r '.[].ifname' | grep -E '^veth[0-9a-f]{11}$' |
			while read -r v; do ip -n "$HOST" link del "$v"; done
	fi
	del_ok "$p" d2 "/run/netns/$ns" || return 1
	rel_assert_clean "veth deleted by hand" || return 1
	# the dataDir wiped (IP reservations gone behind the plugin's back)
	add_one "$p" d3 "$ns" || return 1
	rm -rf "${DATA:?}/$NET"
	del_ok "$p" d3 "/run/netns/$ns" || return 1
	rel_assert_clean "dataDir wiped" || return 1
	# twice, without prevResult, then with the ADD's prevResult, and with no netns at all
	add_one "$p" d4 "$ns" || return 1
	del_ok "$p" d4 "/run/netns/$ns" || return 1
	del_ok "$p" d4 "/run/netns/$ns" || return 1
	del_ok "$p" d4 "" || return 1
	del_ok "$p" d4 "" "$(jq -c --argjson r "$ADD_RESULT" '.prevResult = $r' <<<"$c")" || return 1
	rel_assert_clean "DEL repeated" || return 1
	add_one "$p" d5 "$ns" || return 1
	del_ok "$p" d5 "" || return 1
	rel_assert_clean "DEL without netns" || return 1
	[ "$(ip -n "$ns" -j link show | jq '[.[] | select(.ifname != "lo")] | length')" -eq 0 ]
}

@test "hostile: DEL after netns gone, veth deleted, dataDir wiped; twice; no prevResult: exit 0, nothing left" {
	every_plugin degraded_case
}

# ---- source rules ------------------------------------------------------------------------------

@test "hostile: no system()/popen()/exec of tools in plugin code; every fd is O_CLOEXEC" {
	cd "$WEFT_ROOT"
	files=$(find common ipam plugins agent -name '*.c' 2>/dev/null | sort)
	[ "$(wc -w <<<"$files")" -gt 50 ] # the rules below must have something to look at
	# no shell-outs
	! grep -nE '\b(system|popen)[[:space:]]*\(' $files
	! grep -nE '"/s?bin/(ip|nft|iptables|tc|sh)"|"(ip|nft|iptables|tc)",' $files
	# open()/openat() carry O_CLOEXEC (O_PATH|O_CLOEXEC included); multi-line calls are joined
	bad=$(for f in $files; do
		awk -v f="$f" '
			/[^_a-z](open|openat)[[:space:]]*\(/ { buf = $0; line = NR; collecting = 1 }
			collecting && NR > line { buf = buf $0 }
			collecting && /;|\{/ { if (buf !~ /O_CLOEXEC/ && buf !~ /O_TMPFILE.*O_CLOEXEC/)
				print f ":" line ": " buf; collecting = 0 }' "$f"
	done)
	[ -z "$bad" ] || {
		echo "open without O_CLOEXEC:" >&2
		echo "$bad" >&2
		false
	}
	# socket(): SOCK_CLOEXEC; pipes: pipe2(..., O_CLOEXEC); fopen mode has "e"; no dup()/dup2()
	# without CLOEXEC (dup3 or F_DUPFD_CLOEXEC); accept4 not accept
	! grep -nE '[^_a-z]socket[[:space:]]*\([^)]*\)' $files | grep -v SOCK_CLOEXEC
	! grep -nE '[^_a-z2]pipe[[:space:]]*\(' $files
	! grep -nE 'pipe2[[:space:]]*\([^)]*\)' $files | grep -v O_CLOEXEC
	! grep -nE '[^_a-z]fopen[[:space:]]*\([^,]+,[[:space:]]*"[^"e]*"' $files
	! grep -nE '[^_a-z]dup[[:space:]]*\(|[^_a-z]dup2[[:space:]]*\(|[^_a-z]accept[[:space:]]*\(' $files
	! grep -nE '[^_a-z]mnl_socket_open[[:space:]]*\(' $files
	! grep -nE 'memfd_create[[:space:]]*\([^)]*\)' $files | grep -v MFD_CLOEXEC
}

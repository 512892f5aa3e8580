#!/usr/bin/env bats
# nsrun: namespaces, PID 1, exit status, hostname, cgroup limits (v1 and v2 where the host
# has them), rootfs/overlay, user namespaces, CNI ADD before the command and DEL after it
# (also after SIGTERM and when the command is killed), errors for bad options.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	weft_setup
	NSRUN=$BIN/nsrun
	NAME=wft$$t$BATS_TEST_NUMBER
	CONFDIR=$DATA/net.d
	PLUGINS=$DATA/bin
	LOG=$DATA/log
	mkdir -p "$CONFDIR" "$PLUGINS" "$LOG"
	export FAKE_LOG=$LOG
}

teardown() {
	local pid
	for pid in "${bg_pids[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	"$NSRUN" --cleanup "$NAME" >/dev/null 2>&1 || true
	weft_teardown
}

bg_pids=()

# A fake plugin that logs VERB per call and answers ADD with a fixed result.
fake_net() {
	cat >"$PLUGINS/fake" <<'EOF'
#!/bin/bash
in=$(cat)
echo "$CNI_COMMAND $CNI_CONTAINERID $CNI_IFNAME $CNI_NETNS" >>"$FAKE_LOG/calls"
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.9.0.5/24"}]}'
exit 0
EOF
	chmod +x "$PLUGINS/fake"
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"fake"}]}' "$1" >"$CONFDIR/$1.conflist"
}

# Starts nsrun in the background (stdout/stderr to $DATA/out) and waits for its PID 1.
start_bg() {
	"$NSRUN" --name "$NAME" --pid-file "$DATA/pid" "$@" >"$DATA/out" 2>&1 &
	NSRUN_PID=$!
	bg_pids+=("$NSRUN_PID")
	for _ in $(seq 100); do
		[ -s "$DATA/pid" ] && break
		sleep 0.05
	done
	CPID=$(cat "$DATA/pid" 2>/dev/null) || true
	[ -n "$CPID" ] || { cat "$DATA/out"; false; }
}

wait_bg() { # waits for nsrun, sets status
	status=0
	wait "$NSRUN_PID" || status=$?
}

cgroup_gone() {
	! ls -d /sys/fs/cgroup/*/weft/"$NAME" /sys/fs/cgroup/weft/"$NAME" 2>/dev/null | grep -q .
}

@test "nsrun: the command is PID 1 of new pid/net/mnt/uts/ipc/cgroup namespaces" {
	run "$NSRUN" -- sh -c 'echo pid=$$; for t in pid net mnt uts ipc cgroup user; do echo $t=$(readlink /proc/self/ns/$t); done; ls /sys/class/net'
	[ "$status" -eq 0 ]
	[[ "$output" == *pid=1* ]]
	for t in pid net mnt uts ipc cgroup; do
		inside=$(echo "$output" | sed -n "s/^$t=//p")
		[ -n "$inside" ] && [ "$inside" != "$(readlink /proc/self/ns/$t)" ]
	done
	# no --userns: the user namespace is the host's
	[ "$(echo "$output" | sed -n 's/^user=//p')" = "$(readlink /proc/self/ns/user)" ]
	# a fresh net namespace: only lo (and it is up)
	[ "$(echo "$output" | tail -n +9)" = lo ]
}

@test "nsrun: exit status is the command's; 128+N when signal N killed it; 127/126 exec errors" {
	run "$NSRUN" -- sh -c 'exit 7'
	[ "$status" -eq 7 ]
	start_bg -- sleep 30
	kill -KILL "$CPID"
	wait_bg
	[ "$status" -eq 137 ]
	run -127 "$NSRUN" -- /nonexistent/cmd
	[[ "$output" == *'exec /nonexistent/cmd'* ]]
	printf 'not a program\n' >"$DATA/plain"
	chmod 644 "$DATA/plain"
	run -126 "$NSRUN" -- "$DATA/plain"
	[[ "$output" == *"exec $DATA/plain: Permission denied"* ]]
}

@test "nsrun: --hostname sets it only inside" {
	run "$NSRUN" --hostname "box-$NAME" -- hostname
	[ "$status" -eq 0 ]
	[ "$output" = "box-$NAME" ]
	[ "$(hostname)" != "box-$NAME" ]
}

@test "nsrun: --memory/--cpus/--pids are written to the cgroup files and the command is in it" {
	start_bg -m 64M -c 0.5 -p 20 -- sleep 30
	d=$(grep -l "^$CPID\$" /sys/fs/cgroup/*/weft/"$NAME"/cgroup.procs /sys/fs/cgroup/weft/"$NAME"/cgroup.procs 2>/dev/null | head -1)
	[ -n "$d" ]
	if [ -e /sys/fs/cgroup/memory/weft/"$NAME"/memory.limit_in_bytes ] && ! grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; then
		# v1 (this includes v1+v2 hybrids whose unified tree has no memory controller)
		[ "$(cat /sys/fs/cgroup/memory/weft/$NAME/memory.limit_in_bytes)" = 67108864 ]
		[ "$(cat /sys/fs/cgroup/cpu/weft/$NAME/cpu.cfs_quota_us)" = 50000 ]
		[ "$(cat /sys/fs/cgroup/cpu/weft/$NAME/cpu.cfs_period_us)" = 100000 ]
		[ "$(cat /sys/fs/cgroup/pids/weft/$NAME/pids.max)" = 20 ]
		grep -qx "$CPID" /sys/fs/cgroup/memory/weft/"$NAME"/cgroup.procs
		grep -qx "$CPID" /sys/fs/cgroup/pids/weft/"$NAME"/cgroup.procs
	else
		v2=$(stat -fc %T /sys/fs/cgroup | grep -q cgroup2 && echo /sys/fs/cgroup || echo /sys/fs/cgroup/unified)
		[ "$(cat $v2/weft/$NAME/memory.max)" = 67108864 ]
		[ "$(cat $v2/weft/$NAME/cpu.max)" = "50000 100000" ]
		[ "$(cat $v2/weft/$NAME/pids.max)" = 20 ]
	fi
	# inside, the cgroup namespace makes that cgroup the root
	run nsenter -t "$CPID" -C cat /proc/self/cgroup
	! echo "$output" | grep -v ':/$'
	kill -TERM "$NSRUN_PID"
	wait_bg
	cgroup_gone
}

@test "nsrun: limits are enforced: memory over the limit is OOM-killed, pids stops forks" {
	run "$NSRUN" -m 32M -- sh -c 'head -c 256M /dev/zero | tail >/dev/null'
	[ "$status" -eq 137 ]
	run "$NSRUN" -m 64M -- sh -c 'head -c 8M /dev/zero | tail >/dev/null'
	[ "$status" -eq 0 ]
	run "$NSRUN" -p 4 -- sh -c 'for i in 1 2 3 4 5 6; do sleep 2 & done; wait'
	[ "$status" -ne 0 ]
	[[ "$output" == *"fork"* ]]
	run "$NSRUN" -p 10 -- sh -c 'for i in 1 2 3 4 5 6; do sleep 0.1 & done; wait'
	[ "$status" -eq 0 ]
	cgroup_gone
}

@test "nsrun: cgroup v1 and v2 can be forced; a controller v2 lacks is a clear error" {
	# v1 where the host mounts it
	if grep -q ' - cgroup cgroup .*memory' /proc/self/mountinfo; then
		start_bg --cgroup-version 1 -m 48M -- sleep 30
		[ "$(cat /sys/fs/cgroup/memory/weft/$NAME/memory.limit_in_bytes)" = 50331648 ]
		[ ! -e /sys/fs/cgroup/unified/weft/"$NAME" ]
		kill -TERM "$NSRUN_PID"
		wait_bg
		cgroup_gone
	fi
	v2=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
	[ -n "$v2" ] || skip "no cgroup2 hierarchy on this host"
	# v2: membership always; limits only for controllers the unified tree offers
	start_bg --cgroup-version 2 -- sleep 30
	grep -qx "$CPID" "$v2/weft/$NAME/cgroup.procs"
	[ ! -e /sys/fs/cgroup/memory/weft/"$NAME" ]
	kill -TERM "$NSRUN_PID"
	wait_bg
	cgroup_gone
	if grep -qw memory "$v2/cgroup.controllers"; then
		run "$NSRUN" --cgroup-version 2 -m 48M -- cat /sys/fs/cgroup/memory.max
		[ "$status" -eq 0 ]
		[ "$output" = 50331648 ]
	else
		run "$NSRUN" --name "$NAME" --cgroup-version 2 -m 48M -- true
		[ "$status" -eq 125 ]
		[[ "$output" == *'memory controller is not available on cgroup v2'* ]]
	fi
	cgroup_gone
	[ ! -e "/run/weft/nsrun/$NAME" ]
}

make_rootfs() { # DIR: sh, ls, cat, ps, sleep and their libraries
	local b l
	mkdir -p "$1"/{bin,proc,sys,dev,tmp}
	for b in sh ls cat ps sleep; do
		cp "$(command -v $b)" "$1/bin/"
		for l in $(ldd "$(command -v $b)" | grep -o '/[^ ]*'); do
			mkdir -p "$1$(dirname "$l")"
			cp -n "$l" "$1$l"
		done
	done
}

@test "nsrun: --rootfs pivots into DIR with a fresh /proc, /sys and a minimal /dev" {
	make_rootfs "$DATA/rootfs"
	run "$NSRUN" --rootfs "$DATA/rootfs" -m 32M -- /bin/sh -c 'ls /; echo ---; ls /dev; echo ---; ps -e -o pid=,comm=; cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | sed -n '1,/---/p' | paste -sd' ')" = "bin dev lib lib64 proc sys tmp ---" ] ||
		[ "$(echo "$output" | sed -n '1,/---/p' | paste -sd' ')" = "bin dev lib proc sys tmp ---" ]
	echo "$output" | grep -qx null
	echo "$output" | grep -qx urandom
	! echo "$output" | grep -qx sda
	echo "$output" | grep -Eq '^ *1 sh$'
	echo "$output" | tail -1 | grep -qx 33554432
	# the host's root and the rootfs are untouched (no leftovers of the mounts)
	[ -z "$(ls "$DATA/rootfs/proc")" ]
}

@test "nsrun: --overlay gives a writable root over read-only layers; upper/work are removed" {
	make_rootfs "$DATA/base"
	mkdir -p "$DATA/app"
	echo app >"$DATA/app/app.txt"
	start_bg --overlay "$DATA/app:$DATA/base" -- /bin/sh -c 'echo new >/new.txt; echo changed >>/app.txt; cat /app.txt; sleep 30'
	sleep 0.5
	[ -f "/run/weft/nsrun/$NAME/upper/new.txt" ]
	grep -q changed "/run/weft/nsrun/$NAME/upper/app.txt"
	[ "$(cat "$DATA/app/app.txt")" = app ]
	[ ! -e "$DATA/app/new.txt" ] && [ ! -e "$DATA/base/new.txt" ]
	kill -TERM "$NSRUN_PID"
	wait_bg
	[ ! -e "/run/weft/nsrun/$NAME" ]
	grep -q changed "$DATA/out"
}

@test "nsrun: --userns maps root to the caller; --map-root-to maps it elsewhere" {
	run "$NSRUN" --userns -- sh -c 'id -u; cat /proc/self/uid_map'
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -1)" = 0 ]
	[ "$(echo "$output" | tail -1 | tr -s ' ' | sed 's/^ //')" = "0 $(id -u) 1" ]
	start_bg --map-root-to 100000 -- sleep 30
	grep -q "^Uid:.100000" "/proc/$CPID/status"
	[ "$(tr -s ' ' <"/proc/$CPID/uid_map" | sed 's/^ //')" = "0 100000 65536" ]
	kill -TERM "$NSRUN_PID"
	wait_bg
}

@test "nsrun: --init is PID 1, reaps orphans and forwards SIGTERM to the command" {
	run "$NSRUN" --init -- sh -c 'echo pid=$$; (sleep 0.1 &); sleep 1; ps -e -o stat=,comm='
	[ "$status" -eq 0 ]
	[[ "$output" == *pid=2* ]]
	! echo "$output" | grep -q '^Z'
	start_bg --init -- sleep 30
	kill -TERM "$NSRUN_PID"
	wait_bg
	[ "$status" -eq 143 ]
}

@test "nsrun: --net runs CNI ADD before the command and DEL when it exits" {
	fake_net "$NAME"
	run "$NSRUN" --name "$NAME" --net "$NAME" --cni-netns "$HOST" --confdir "$CONFDIR" \
		--cni-path "$PLUGINS" --cache-dir "$DATA/cache" -- sh -c "cat $LOG/calls; test -e /run/netns/$NAME"
	[ "$status" -eq 0 ]
	[ "$(echo "$output" | head -1)" = "ADD $NAME eth0 /run/netns/$NAME" ]
	[ "$(cat "$LOG/calls" | cut -d' ' -f1 | paste -sd' ')" = "ADD DEL" ]
	[ ! -e "$DATA/cache/results/$NAME-$NAME-eth0" ]
	[ ! -e "/run/netns/$NAME" ]
	[ ! -e "/run/weft/nsrun/$NAME" ]
	cgroup_gone
}

@test "nsrun: DEL and cgroup removal after SIGTERM, SIGINT and after the command is killed" {
	fake_net "$NAME"
	for how in term int kill; do
		: >"$LOG/calls"
		start_bg_in_host() {
			"$NSRUN" --cni-netns "$HOST" --name "$NAME" --pid-file "$DATA/pid" --stop-timeout 1 \
				-m 32M --net "$NAME" --ifname net0 --confdir "$CONFDIR" --cni-path "$PLUGINS" \
				--cache-dir "$DATA/cache" -- sleep 30 >"$DATA/out" 2>&1 &
			NSRUN_PID=$!
			bg_pids+=("$NSRUN_PID")
		}
		rm -f "$DATA/pid"
		start_bg_in_host
		for _ in $(seq 100); do [ -s "$DATA/pid" ] && break; sleep 0.05; done
		CPID=$(cat "$DATA/pid")
		[ -e "$DATA/cache/results/$NAME-$NAME-net0" ]
		ls -d /sys/fs/cgroup/*/weft/"$NAME" /sys/fs/cgroup/weft/"$NAME" 2>/dev/null | grep -q .
		case $how in
		term) kill -TERM "$NSRUN_PID" ;;
		int) kill -INT "$NSRUN_PID" ;;
		kill) kill -KILL "$CPID" ;;
		esac
		wait_bg
		[ "$status" -eq 137 ]
		[ "$(cut -d' ' -f1,3 "$LOG/calls" | paste -sd' ')" = "ADD net0 DEL net0" ]
		[ ! -e "$DATA/cache/results/$NAME-$NAME-net0" ]
		cgroup_gone
		[ ! -e "/run/weft/nsrun/$NAME" ]
		[ ! -e "/run/netns/$NAME" ]
	done
}

@test "nsrun: the weft bridge plugin wires the container; DEL removes the veth and the IP" {
	[ -x "$BIN/bridge" ] || skip "weft bridge plugin not built"
	printf '{"cniVersion":"1.0.0","name":"%s","plugins":[{"type":"bridge","bridge":"nsbr0","isGateway":true,"isDefaultGateway":true,"ipam":{"type":"host-local","subnet":"10.97.3.0/24","dataDir":"%s/ipam"}}]}' \
		"$NAME" "$DATA" >"$CONFDIR/$NAME.conflist"
	run "$NSRUN" --name "$NAME" --net "$NAME" --cni-netns "$HOST" --confdir "$CONFDIR" \
		--cni-path "$BIN" --cache-dir "$DATA/cache" -- sh -c 'ip -4 -o addr show eth0; ip route show default'
	[ "$status" -eq 0 ]
	[[ "$output" == *"inet 10.97.3.2/24"* ]]
	[[ "$output" == *"default via 10.97.3.1"* ]]
	[ ! -e "$DATA/ipam/$NAME/10.97.3.2" ]
	[ "$(ip -n "$HOST" -j link show master nsbr0 | jq length)" -eq 0 ]
}

@test "nsrun --cleanup undoes what a SIGKILLed nsrun left behind" {
	fake_net "$NAME"
	"$NSRUN" --cni-netns "$HOST" --name "$NAME" --pid-file "$DATA/pid" -m 32M --net "$NAME" \
		--confdir "$CONFDIR" --cni-path "$PLUGINS" --cache-dir "$DATA/cache" -- sleep 30 >"$DATA/out" 2>&1 &
	NSRUN_PID=$!
	bg_pids+=("$NSRUN_PID")
	for _ in $(seq 100); do [ -s "$DATA/pid" ] && break; sleep 0.05; done
	run "$NSRUN" --cleanup "$NAME"
	[ "$status" -ne 0 ]
	[[ "$output" == *'is running'* ]]
	kill -KILL "$NSRUN_PID"
	wait "$NSRUN_PID" || true
	[ -e "/run/weft/nsrun/$NAME/state.json" ]
	run "$NSRUN" --cleanup "$NAME"
	[ "$status" -eq 0 ]
	[ "$(cut -d' ' -f1 "$LOG/calls" | paste -sd' ')" = "ADD DEL" ]
	[ ! -e "/run/weft/nsrun/$NAME" ]
	[ ! -e "/run/netns/$NAME" ]
	cgroup_gone
	run "$NSRUN" --cleanup "$NAME"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no container '$NAME'"* ]]
}

@test "nsrun: every bad option is a clear error (exit 125) and leaves nothing behind" {
	while IFS='|' read -r args msg; do
		# shellcheck disable=SC2086
		run "$NSRUN" --name "$NAME" $args
		[ "$status" -eq 125 ]
		[[ "$output" == *"$msg"* ]]
	done <<EOF
--bogus -- true|unknown option '--bogus'
-m|missing argument for -m
--cni-netns nosuch -- true|--cni-netns 'nosuch'
-m lots -- true|invalid --memory 'lots'
-m 100 -- true|at least 1M
--cpus 0 -- true|invalid --cpus '0'
--cpus 1.5x -- true|invalid --cpus
--pids -3 -- true|invalid --pids '-3'
--pids 0 -- true|invalid --pids '0'
--ifname eth0 -- true|1 --ifname for 0 --net
--net bad/name -- true|invalid --net 'bad/name'
--net n1 --ifname averyveryverylongname -- true|invalid --ifname
--cgroup-version 3 -- true|invalid --cgroup-version '3'
--cgroup-parent /abs -- true|invalid --cgroup-parent
--no-cgroup -m 64M -- true|--no-cgroup cannot go with
--rootfs /nonexistent -- true|--rootfs '/nonexistent'
--rootfs /etc/hostname -- true|not a directory
--overlay /nonexistent -- true|--overlay layer '/nonexistent'
--cap-args nojson -- true|invalid --cap-args
--cap-args [1] -- true|not a JSON object
--map-root-to x -- true|invalid --map-root-to uid
--stop-timeout 0 -- true|invalid --stop-timeout
--hostname 0123456789012345678901234567890123456789012345678901234567890123456789 -- true|invalid --hostname
--net nosuchnet --confdir /nonexistent -- true|network 'nosuchnet'
|no command given
EOF
	run "$NSRUN" --name 'a/b' -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid --name 'a/b'"* ]]
	CNI_ARGS='novalue' run "$NSRUN" -- true
	[ "$status" -eq 125 ]
	[[ "$output" == *'invalid CNI_ARGS pair "novalue"'* ]]
	cgroup_gone
	[ ! -e "/run/weft/nsrun/$NAME" ]
	[ ! -e "/run/netns/$NAME" ]
}

@test "nsrun: --help documents every option" {
	run "$NSRUN" --help
	[ "$status" -eq 0 ]
	for o in --name --hostname --workdir --init --userns --map-root-to --rootfs --overlay \
		--memory --cpus --pids --cgroup-version --cgroup-parent --no-cgroup --net --ifname \
		--confdir --cni-path --cache-dir --cni-args --cap-args --pid-file --stop-timeout \
		--cleanup --verbose --help; do
		[[ "$output" == *"$o"* ]]
	done
	# and nothing the parser accepts is missing from it
	for o in $(grep -o '{"[a-z-]*", [a-z_]*_argument' "$WEFT_ROOT/netns-tools/nsrun/ctr-opts.c" | cut -d'"' -f2); do
		[[ "$output" == *"--$o"* ]]
	done
}

#!/usr/bin/env bats
# Crash injection: every plugin present is killed with SIGKILL at random moments
# during N ADDs (REL_CRASH_N, default 200; a tenth under valgrind). Then every attachment is
# DEL'd and the network GC'd with no valid attachment. Afterwards nothing may be left: no
# veth (host or pod side), IP reservation, index entry, temp file, nft rule or bpf endpoint;
# the lock is free; and no IP was ever handed out twice among the ADDs that answered.

load helpers
load reliability

setup() {
	rel_setup
	# a FIFO we hold open for writing is never readable: `read -t` on it sleeps without a fork
	mkfifo "$BATS_TEST_TMPDIR/sleep.fifo"
	exec {SLEEPFD}<>"$BATS_TEST_TMPDIR/sleep.fifo"
}

teardown() {
	exec {SLEEPFD}<&- 2>/dev/null || true
	rel_teardown
}

# now_ms
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# crash_run P: the whole scenario for one plugin; prints a summary line on fd 3.
crash_run() {
	local p=$1 n cf out i ns t0 t1 per delay rc killed=0 okc=0 failed=0 dups
	n=$(rel_scale "${REL_CRASH_N:-200}")
	cf=$(rel_conf_file "$p")
	out=$BATS_TEST_TMPDIR/out-$p
	mkdir -p "$out"
	if rel_kernel_plugin "$p"; then
		for i in $(seq "$n"); do
			weft_netns_add "$p-$i" >/dev/null || return 1
		done
	fi
	ns_of() { rel_kernel_plugin "$p" && echo "/run/netns/$WEFT_PREFIX-$p-$1" || echo /x; }

	# calibrate: how long one ADD takes here, so kills land before, during and after
	t0=$(now_ms)
	rel_spawn "$out/cal" ADD "$p" "$cf" cal eth0 "$(ns_of 1)"
	wait "$REL_PID" || {
		echo "calibration ADD failed: $(cat "$out/cal")" >&2
		return 1
	}
	t1=$(now_ms)
	run run_plugin DEL "$p" "$cf" cal eth0 "$(ns_of 1)"
	[ "$status" -eq 0 ] || {
		echo "calibration DEL failed: $output" >&2
		return 1
	}
	per=$((t1 - t0 + 1))

	for i in $(seq "$n"); do
		rel_spawn "$out/$i" ADD "$p" "$cf" "c$i" eth0 "$(ns_of "$i")"
		# uniform over 1.5 times a typical ADD; a builtin wait (no fork) so that even the
		# fast host-local is hit mid-flight
		delay=$((RANDOM % (per * 3 / 2 + 1)))
		[ "$delay" -eq 0 ] || read -r -t "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))" \
			-u "$SLEEPFD" || true
		kill -9 "$REL_PID" 2>/dev/null || true # it may have finished already
		rc=0
		wait "$REL_PID" || rc=$?
		case $rc in
		0) okc=$((okc + 1)) ;;
		137) killed=$((killed + 1)) ;;
		*)
			failed=$((failed + 1))
			# a failed ADD answers a CNI error, never garbage
			jq -e '.code and .msg' "$out/$i" >/dev/null || {
				echo "ADD c$i: exit $rc, output: $(cat "$out/$i")" >&2
				return 1
			}
			;;
		esac
		[ "$rc" -eq 0 ] || rm -f "$out/$i"
	done

	# no IP handed out twice among the ADDs that answered
	dups=$(cat "$out"/[0-9]* 2>/dev/null | jq -r '.ips[]?.address' | sort | uniq -d)
	[ -z "$dups" ] || {
		echo "IP handed out twice: $dups" >&2
		return 1
	}
	# every answered ADD holds its reservation
	for f in "$out"/[0-9]*; do
		[ -e "$f" ] || continue
		i=$(basename "$f")
		a=$(jq -r '.ips[0].address | split("/")[0]' "$f")
		[ "$(tr -d '\r' <"$DATA/$NET/$a" | head -1)" = "c$i" ] || {
			echo "c$i answered $a but the store says: $(cat "$DATA/$NET/$a" 2>&1)" >&2
			return 1
		}
	done

	# DEL everything (killed or not), 4 at a time, then GC with no valid attachment
	local pids=() j
	for i in $(seq "$n"); do
		rel_spawn "$out/del-$i" DEL "$p" "$cf" "c$i" eth0 "$(ns_of "$i")"
		pids+=("$REL_PID:$i")
		if [ "${#pids[@]}" -eq 4 ] || [ "$i" -eq "$n" ]; then
			for j in "${pids[@]}"; do
				wait "${j%%:*}" || {
					echo "DEL c${j#*:}: $(cat "$out/del-${j#*:}")" >&2
					return 1
				}
			done
			pids=()
		fi
	done
	rel_gc "$p" "$cf"
	[ "$status" -eq 0 ] || {
		echo "GC: $output" >&2
		return 1
	}
	rel_assert_clean "$p after kills" || return 1
	rel_lock_free || return 1
	if rel_kernel_plugin "$p"; then
		for i in $(seq "$n"); do
			[ "$(ip -n "$WEFT_PREFIX-$p-$i" -o link show | grep -vc ': lo:')" -eq 0 ] || {
				echo "pod c$i still has an interface" >&2
				return 1
			}
		done
	fi
	echo "$p: $n ADDs, $killed killed, $okc answered, $failed failed cleanly;" \
		"after DEL+GC: $(rel_census)" >&3
}

crash_test() {
	[ -x "$BIN/$1" ] || skip "$1 not built"
	crash_run "$1"
}

@test "crash: kill -9 during ADDs of host-local, then DEL + GC leave nothing" {
	crash_test host-local
}

@test "crash: kill -9 during ADDs of bridge, then DEL + GC leave nothing" {
	crash_test bridge
}

@test "crash: kill -9 during ADDs of ebpf, then DEL + GC leave nothing" {
	crash_test ebpf
}

@test "crash: kill -9 during ADDs of host-gw, then DEL + GC leave nothing" {
	crash_test host-gw
}

@test "crash: kill -9 during ADDs of vxlan, then DEL + GC leave nothing" {
	crash_test vxlan
}

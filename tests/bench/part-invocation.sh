# shellcheck shell=bash
# make bench, part "invocation": the cost of one plugin exec (wall, CPU of the process tree, peak
# RSS of the plugin's own process) for ADD and DEL, weft against the reference, A/B interleaved,
# with the kernel floor measured in the same reps. Sourced by run.sh (uses lib.sh).
#
# Cases (each weft/ref pair on its own network, bridge and subnet, all in one host netns):
#   bridge-masq    bridge + host-local, isGateway, ipMasq (weft: nftables batch; reference
#                  1.1.1: iptables, here iptables-nft)
#   bridge-nomasq  the same without ipMasq
#   host-local     the IPAM plugin alone (weft's executable against the reference's)
#   ebpf           weft's ebpf plugin (no reference counterpart: compared with weft's bridge
#                  without ipMasq), when it is built
# Floor (same reps): "full" = tests/bench/floor.c, the kernel objects and settings of a bridge ADD
# made from one process with the fewest requests (veth with the peer in the pod, master + up,
# no IPv6 link-local on either end, the pod's address, up, default route; no IPAM, no JSON, no
# checks, no port wait, no announcement); "veth-add" = `ip link add <v> type veth peer name eth0 netns
# <pod>`, "link-del" = `ip link del <v>`, "exec" = /bin/true (process start alone). Each is one
# exec, like a plugin.

inv_conf() { # inv_conf FILE TYPE NETWORK BRIDGE SUBNET MASQ
	jq -n --arg t "$2" --arg n "$3" --arg b "$4" --arg s "$5" --argjson m "$6" \
		--arg d "$BENCH_TMP/inv-data" '
		if $t == "ebpf" then
			{cniVersion: "1.0.0", name: $n, type: $t, pinRoot: $b,
			 ipam: {type: "host-local", subnet: $s, dataDir: $d}}
		elif $t == "host-local" then   # what a main plugin hands its IPAM plugin
			{cniVersion: "1.0.0", name: $n, type: "bridge",
			 ipam: {type: "host-local", subnet: $s, dataDir: $d}}
		else
			{cniVersion: "1.0.0", name: $n, type: $t, bridge: $b, isGateway: true,
			 isDefaultGateway: true, ipMasq: $m,
			 ipam: {type: "host-local", subnet: $s, dataDir: $d}}
		end' >"$1"
}

inv_plugin() { case $1 in bridge-*) echo bridge ;; *) echo "$1" ;; esac; }
inv_impls() { if [ "$1" = ebpf ]; then echo weft; else echo weft ref; fi; }

part_invocation() {
	local reps=$1 host i c impl pod verb plugin n cases=(bridge-masq bridge-nomasq host-local)
	local -A pods
	bench_log "invocation: $reps reps"
	host=$(bench_ns inv-host)
	inv_conf "$BENCH_TMP/c-weft-bridge-masq" bridge wbm wbm0 10.200.0.0/16 true
	inv_conf "$BENCH_TMP/c-ref-bridge-masq" bridge rbm rbm0 10.201.0.0/16 true
	inv_conf "$BENCH_TMP/c-weft-bridge-nomasq" bridge wbn wbn0 10.202.0.0/16 false
	inv_conf "$BENCH_TMP/c-ref-bridge-nomasq" bridge rbn rbn0 10.203.0.0/16 false
	inv_conf "$BENCH_TMP/c-weft-host-local" host-local whl - 10.204.0.0/16 false
	inv_conf "$BENCH_TMP/c-ref-host-local" host-local rhl - 10.205.0.0/16 false
	if [ -x "${BINS[weft]}/ebpf" ]; then
		mkdir -p "$BENCH_TMP/inv-bpf"
		mount -t bpf bpf "$BENCH_TMP/inv-bpf" && bench_mount "$BENCH_TMP/inv-bpf"
		inv_conf "$BENCH_TMP/c-weft-ebpf" ebpf web "$BENCH_TMP/inv-bpf" 10.206.0.0/16 false
		cases+=(ebpf)
	else
		bench_note "invocation: ebpf skipped (no ${BINS[weft]}/ebpf yet)"
	fi

	# The full floor's bridge, with the gateway address weft's bridge plugin puts there.
	ip -n "$host" link add ff0 type bridge
	ip -n "$host" addr add 10.207.0.1/16 dev ff0
	ip -n "$host" link set ff0 up
	# Warm-up (untimed): creates the bridges, gateways and masquerade tables, loads the
	# binaries into the page cache.
	for c in "${cases[@]}"; do
		for impl in $(inv_impls "$c"); do
			pod=$(bench_ns "inv-warm-$impl-$c")
			plugin=$(inv_plugin "$c")
			bench_cni inv warm "$impl" ADD 0 "${BINS[$impl]}" "$plugin" "$host" warm \
				"/run/netns/$pod" "$BENCH_TMP/c-$impl-$c" || bench_note "warm-up ADD failed: $impl $c"
		done
	done

	# rep 1..reps timed, rep 1001..(1000+rss reps) traced for RSS (wall/CPU not taken there)
	n=$reps
	for ((i = 1; i <= n + BENCH_RSS_REPS; i++)); do
		local tr=() rep=$i
		if ((i > n)); then tr=(-r); rep=$((1000 + i - n)); fi
		for c in "${cases[@]}"; do
			for impl in $(inv_impls "$c"); do pods[$impl-$c]=$(bench_ns "inv-$i-$impl-$c"); done
		done
		pods[floor]=$(bench_ns "inv-$i-floor")
		pods[full]=$(bench_ns "inv-$i-full")
		for verb in ADD DEL; do
			for c in "${cases[@]}"; do
				plugin=$(inv_plugin "$c")
				# shellcheck disable=SC2046
				for impl in $(bench_order "$i" $(inv_impls "$c")); do
					bench_cni inv "$c" "$impl" "$verb" "$rep" "${BINS[$impl]}" "$plugin" \
						"$host" "c$i" "/run/netns/${pods[$impl-$c]}" \
						"$BENCH_TMP/c-$impl-$c" "${tr[@]}" || true
				done
			done
			if [ $verb = ADD ]; then
				bench_exec inv floor kernel veth-add "$rep" -N "/run/netns/$host" "${tr[@]}" \
					-- ip link add "fl$i" type veth peer name eth0 netns "${pods[floor]}" || true
				bench_exec inv floor kernel full "$rep" -N "/run/netns/$host" "${tr[@]}" \
					-- "$FLOOR" ff0 "ff$i" "/run/netns/${pods[full]}" \
					"10.207.$((i / 200)).$((i % 200 + 2))/16" 10.207.0.1 || true
			else
				bench_exec inv floor kernel link-del "$rep" -N "/run/netns/$host" "${tr[@]}" \
					-- ip link del "fl$i" || true
				ip -n "$host" link del "ff$i" 2>/dev/null || true
			fi
		done
		bench_exec inv floor kernel exec "$rep" "${tr[@]}" -- /bin/true || true
		# shellcheck disable=SC2046
		bench_ns_del "${pods[@]}"
	done
	inv_report "$n"
}

inv_cell() { bench_cell inv "$@"; } # inv_cell CASE IMPL VERB METRIC DIV DEC [LO HI]

inv_med_ratio() { # value only (for targets)
	local s
	read -r -a s <<<"$(bench_ratio "$1" "$2" "$3")"
	[ "${s[0]}" = 0 ] && echo - || echo "${s[1]}"
}

inv_report() {
	local n=$1 c v md=$BENCH_TMP/md.invocation rss
	{
		echo "## Per invocation (one exec, CNI_* env, config on stdin)"
		echo
		echo "$n interleaved reps (weft, reference, weft, ... alternating who goes first), then"
		echo "$BENCH_RSS_REPS traced reps for peak RSS. Median (min–max); ratios are the median of per-rep"
		echo "ratios (each rep's weft over the same rep's reference), so drift between reps cancels."
		echo "wall: fork to reap; CPU: user+sys of the plugin and every process it waited for"
		echo "(the reference's exec'd host-local and iptables included); off-CPU: wall − CPU, the time"
		echo "spent waiting (RCU grace periods, locks, sleeps); RSS: VmHWM of the plugin's own"
		echo "process at its exit (children not counted)."
		echo
		echo "| case | verb | weft wall ms | ref wall ms | wall weft/ref | weft CPU ms | ref CPU ms | CPU weft/ref | weft off-CPU ms | ref off-CPU ms | weft RSS KiB | ref RSS KiB |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
		for c in bridge-masq bridge-nomasq host-local ebpf; do
			[ "$c" != ebpf ] || [ -x "${BINS[weft]}/ebpf" ] || continue
			for v in ADD DEL; do
				echo "| $c | $v | $(inv_cell "$c" weft $v wall_us 1000 2) | $(inv_cell "$c" ref $v wall_us 1000 2) | $(bench_ratio_cell "inv/$c/weft/$v" "inv/$c/ref/$v" wall_us) | $(inv_cell "$c" weft $v cpu_us 1000 2) | $(inv_cell "$c" ref $v cpu_us 1000 2) | $(bench_ratio_cell "inv/$c/weft/$v" "inv/$c/ref/$v" cpu_us) | $(inv_cell "$c" weft $v offcpu_us 1000 2) | $(inv_cell "$c" ref $v offcpu_us 1000 2) | $(inv_cell "$c" weft $v rss_kib 1 0) | $(inv_cell "$c" ref $v rss_kib 1 0) |"
			done
		done
		echo
		echo "Kernel floor, same reps (one exec each, of \`ip\` or of tests/bench/floor.c; process start included like a plugin's):"
		echo
		echo "| floor | wall ms | CPU ms | off-CPU ms | RSS KiB |"
		echo "|---|---|---|---|---|"
		for v in full veth-add link-del exec; do
			echo "| $v | $(inv_cell floor kernel $v wall_us 1000 2) | $(inv_cell floor kernel $v cpu_us 1000 2) | $(inv_cell floor kernel $v offcpu_us 1000 2) | $(inv_cell floor kernel $v rss_kib 1 0) |"
		done
		echo
		echo "\"full\" is tests/bench/floor.c: from one process, the kernel objects and settings of a bridge ADD"
		echo "(veth with the peer in the pod netns, master + up + no IPv6 link-local on the host end,"
		echo "no IPv6 link-local on the pod end, the pod's address, pod up with arp_notify, the default route) with"
		echo "one request each. It does not read a config, reserve an address, wait for the bridge port"
		echo "to forward, announce the address, check anything or print a result."
		echo "weft bridge ADD (no ipMasq) over the full floor, paired per rep: $(bench_ratio_cell inv/bridge-nomasq/weft/ADD inv/floor/kernel/full wall_us) wall, $(bench_ratio_cell inv/bridge-nomasq/weft/ADD inv/floor/kernel/full cpu_us) CPU."
		echo
		if [ -x "${BINS[weft]}/ebpf" ]; then
			echo "weft ebpf over weft bridge (no ipMasq), paired per rep: ADD wall $(bench_ratio_cell inv/ebpf/weft/ADD inv/bridge-nomasq/weft/ADD wall_us), DEL wall $(bench_ratio_cell inv/ebpf/weft/DEL inv/bridge-nomasq/weft/DEL wall_us)."
			echo
		fi
		echo "The floor bounds what any plugin that makes a veth can reach: floor veth-add / reference ADD" \
			"(paired per rep) = $(bench_ratio_cell inv/floor/kernel/veth-add inv/bridge-nomasq/ref/ADD wall_us) without ipMasq," \
			"$(bench_ratio_cell inv/floor/kernel/veth-add inv/bridge-masq/ref/ADD wall_us) with ipMasq (wall)."
		echo
		echo "weft DEL over the floor \`ip link del\` (paired per rep): bridge-nomasq $(bench_ratio_cell inv/bridge-nomasq/weft/DEL inv/floor/kernel/link-del wall_us), bridge-masq $(bench_ratio_cell inv/bridge-masq/weft/DEL inv/floor/kernel/link-del wall_us)."
		echo
	} >"$md"
	bench_target "bridge ADD wall, ipMasq / no ipMasq (weft)" "$(inv_med_ratio inv/bridge-masq/weft/ADD inv/bridge-nomasq/weft/ADD wall_us)" "<=" 1.15 x
	bench_target "bridge ADD wall, ipMasq, weft/ref" "$(inv_med_ratio inv/bridge-masq/weft/ADD inv/bridge-masq/ref/ADD wall_us)" "<=" 0.25 x
	bench_target "bridge DEL wall, ipMasq / no ipMasq (weft)" "$(inv_med_ratio inv/bridge-masq/weft/DEL inv/bridge-nomasq/weft/DEL wall_us)" "<=" 1.15 x
	bench_target "bridge ADD wall, no ipMasq, weft/full kernel floor" "$(inv_med_ratio inv/bridge-nomasq/weft/ADD inv/floor/kernel/full wall_us)" "<=" 1.3 x
	bench_target "bridge DEL wall, no ipMasq, weft/floor(ip link del)" "$(inv_med_ratio inv/bridge-nomasq/weft/DEL inv/floor/kernel/link-del wall_us)" "<=" 1.2 x
	bench_target "bridge DEL wall, ipMasq, weft/floor(ip link del)" "$(inv_med_ratio inv/bridge-masq/weft/DEL inv/floor/kernel/link-del wall_us)" "<=" 1.2 x
	rss=$(awk -F'\t' '$1 == "inv" && $2 ~ /^bridge/ && $3 == "weft" && $6 == "rss_kib" && $7 > m { m = $7 } END { if (m) printf "%.2f", m / 1024; else print "-" }' "$BENCH_SAMPLES")
	bench_target "weft bridge peak RSS (max over ADD/DEL, with and without ipMasq)" "$rss" "<=" 2 MiB
	bench_target "host-local ADD wall, weft/ref" "$(inv_med_ratio inv/host-local/weft/ADD inv/host-local/ref/ADD wall_us)" "<=" 0.4 x
	if [ -x "${BINS[weft]}/ebpf" ]; then
		bench_target "ebpf ADD wall / weft bridge ADD" "$(inv_med_ratio inv/ebpf/weft/ADD inv/bridge-nomasq/weft/ADD wall_us)" "<=" 1.5 x
		bench_target "ebpf DEL wall / weft bridge DEL" "$(inv_med_ratio inv/ebpf/weft/DEL inv/bridge-nomasq/weft/DEL wall_us)" "<=" 1.5 x
	fi
	c=$(bench_stats inv host-local weft ADD wall_us | awk '{ print ($1 ? $2 / 1000 : "-") }')
	bench_target "host-local ADD wall median" "$c" "<=" 1 ms
}

# shellcheck shell=bash
# make bench, part "scale": (1) PODS sequential pods on one bridge, weft (without and with
# ipMasq) and the reference interleaved pod by pod (each on its own host netns and bridge), plus
# the kernel floor of a bridge port (`ip link add veth ... netns pod` + `ip link set master br
# up`) and the full floor (tests/bench/floor.c: every kernel object of a bridge ADD from one
# process) at the same pod count; ADD time per pod against pod count, then every DEL. (2) CONC
# concurrent ADDs then CONC concurrent DELs (total wall; all succeed, all IPs distinct, nothing
# left), with the time weft's plugins waited for locks (WEFT_LOCK_TRACE), and CONC full floors at
# once beside them. Sourced by run.sh.

scale_conf() { # scale_conf FILE NETWORK BRIDGE SUBNET [MASQ]
	jq -n --arg n "$2" --arg b "$3" --arg s "$4" --arg d "$BENCH_TMP/scale-data" \
		--argjson m "${5:-${SCALE_MASQ:-false}}" '
		{cniVersion: "1.0.0", name: $n, type: "bridge", bridge: $b, isGateway: true,
		 isDefaultGateway: true, ipMasq: $m, ipam: {type: "host-local", subnet: $s, dataDir: $d}}' >"$1"
}

# scale_left HOSTNS DATADIR NETWORK: prints what an impl left behind ("" = nothing)
scale_left() {
	local v f
	v=$(ip -n "$1" -o link show type veth 2>/dev/null | wc -l)
	f=$(find "$2/$3" -maxdepth 1 -type f -regextype posix-extended \
		-regex '.*/[0-9a-fA-F.:]+' 2>/dev/null | wc -l) # <ip> files only
	[ "$v" = 0 ] && [ "$f" = 0 ] || echo "$v veths, $f reservations"
}

part_scale() {
	local pods=$1 conc=$2 creps=$3 i impl hw hr hf verb left
	bench_log "scale: $pods sequential pods, $conc concurrent x $creps"
	hw=$(bench_ns sc-weft)
	hm=$(bench_ns sc-weftm)
	hr=$(bench_ns sc-ref)
	hf=$(bench_ns sc-floor)
	ip -n "$hf" link add fbr0 type bridge
	ip -n "$hf" link set fbr0 up
	hu=$(bench_ns sc-full)
	ip -n "$hu" link add ubr0 type bridge
	ip -n "$hu" addr add 10.215.0.1/16 dev ubr0
	ip -n "$hu" link set ubr0 up
	scale_conf "$BENCH_TMP/sc-weft" wsc wsc0 10.210.0.0/16
	scale_conf "$BENCH_TMP/sc-weftm" msc msc0 10.214.0.0/16 true
	scale_conf "$BENCH_TMP/sc-ref" rsc rsc0 10.211.0.0/16
	local -A host=([weft]=$hw [weftm]=$hm [ref]=$hr)
	for ((i = 1; i <= pods; i++)); do
		bench_ns "sc-w$i" >/dev/null
		bench_ns "sc-m$i" >/dev/null
		bench_ns "sc-r$i" >/dev/null
		bench_ns "sc-f$i" >/dev/null
		bench_ns "sc-u$i" >/dev/null
		for impl in $(bench_order "$i" weft weftm ref floor full); do
			scale_one "$impl" ADD "$i" || { bench_note "scale: $impl ADD of pod $i failed; stopped"; break 2; }
		done
		((i % 100)) || bench_log "scale: $i pods"
	done
	for ((i = 1; i <= pods; i++)); do
		for impl in $(bench_order "$i" weft weftm ref floor full); do
			scale_one "$impl" DEL "$i" || true
		done
	done
	for impl in weft weftm ref; do
		left=$(scale_left "${host[$impl]}" "$BENCH_TMP/scale-data" "$(scale_letter "$impl")sc")
		[ -z "$left" ] || bench_note "scale: $impl left $left after $pods DELs"
	done
	[ -z "$(ip netns exec "$hm" nft list ruleset 2>/dev/null | grep masquerade)" ] ||
		bench_note "scale: weft with ipMasq left masquerade rules after its last DEL"
	for ((i = 1; i <= pods; i++)); do
		bench_ns_del "$BENCH_P-sc-w$i" "$BENCH_P-sc-m$i" "$BENCH_P-sc-r$i" "$BENCH_P-sc-f$i" "$BENCH_P-sc-u$i"
	done
	scale_conc "$conc" "$creps"
	scale_report "$pods" "$conc"
}

# the one-letter prefix of an impl's names: weft w, weftm (weft with ipMasq) m, ref r
scale_letter() { case $1 in weftm) echo m ;; *) echo "${1:0:1}" ;; esac; }

scale_one() { # scale_one IMPL VERB I
	local impl=$1 verb=$2 i=$3 a b bin
	case $impl in
	weft | weftm | ref)
		bin=${BINS[${impl%m}]}
		bench_cni scale seq "$impl" "$verb" "$i" "$bin" bridge "$BENCH_P-sc-$impl" \
			"s$i" "/run/netns/$BENCH_P-sc-$(scale_letter "$impl")$i" "$BENCH_TMP/sc-$impl" ;;
	floor)
		# one bridge port made by hand: two execs, their wall/cpu summed into one sample
		if [ "$verb" = ADD ]; then
			a=$("$WRUN" -N "/run/netns/$BENCH_P-sc-floor" -- ip link add "fv$i" type veth \
				peer name eth0 netns "$BENCH_P-sc-f$i") || return 1
			b=$("$WRUN" -N "/run/netns/$BENCH_P-sc-floor" -- ip link set "fv$i" master fbr0 up) || return 1
		else
			a=$("$WRUN" -N "/run/netns/$BENCH_P-sc-floor" -- ip link del "fv$i") || return 1
			b="0 0 -1 0"
		fi
		read -r -a a <<<"$a"
		read -r -a b <<<"$b"
		[ "${a[3]}" = 0 ] && [ "${b[3]}" = 0 ] || return 1
		bench_sample scale seq kernel "$verb" "$i" wall_us $((a[0] + b[0]))
		bench_sample scale seq kernel "$verb" "$i" cpu_us $((a[1] + b[1])) ;;
	full)
		if [ "$verb" = ADD ]; then
			bench_exec scale seq full ADD "$i" -N "/run/netns/$BENCH_P-sc-full" -- "$FLOOR" ubr0 \
				"uv$i" "/run/netns/$BENCH_P-sc-u$i" "10.215.$((i / 200)).$((i % 200 + 2))/16" 10.215.0.1
		else
			bench_exec scale seq full DEL "$i" -N "/run/netns/$BENCH_P-sc-full" -- ip link del "uv$i"
		fi ;;
	esac
}

# CONC pods at once per impl: ADD all, check, DEL all, check. Repeated creps times, weft and
# reference interleaved; the pod netns are made once and reused (empty again after DEL).
scale_conc() {
	local conc=$1 creps=$2 k impl h ips left
	local -A host
	for impl in weft ref; do
		host[$impl]=$(bench_ns "cc-$impl")
		scale_conf "$BENCH_TMP/cc-$impl" "${impl:0:1}cc" "${impl:0:1}cc0" "10.21$([ $impl = weft ] && echo 2 || echo 3).0.0/16"
		for ((k = 0; k < conc; k++)); do bench_ns "cc-${impl:0:1}$k" >/dev/null; done
	done
	for ((k = 1; k <= creps; k++)); do
		for impl in $(bench_order "$k" weft ref); do
			h=${host[$impl]}
			mkdir -p "$BENCH_TMP/cc-out"
			rm -f "$BENCH_TMP/cc-out/"*
			for verb in ADD DEL; do
				: >"$BENCH_TMP/lockwait"
				WEFT_LOCK_TRACE=$BENCH_TMP/lockwait \
					CNI_COMMAND=$verb CNI_IFNAME=eth0 CNI_PATH=${BINS[$impl]} CNI_ARGS='' \
					bench_exec conc "c$conc" "$impl" "$verb" "$k" -N "/run/netns/$h" \
					-i "$BENCH_TMP/cc-$impl" -P "$conc" -x "CNI_CONTAINERID=cc%d" \
					-x "CNI_NETNS=/run/netns/$BENCH_P-cc-${impl:0:1}%d" \
					-O "$BENCH_TMP/cc-out/$verb.%d" -- "${BINS[$impl]}/bridge" ||
					bench_note "concurrent: $impl $verb round $k: some of the $conc failed"
				if [ "$impl" = weft ]; then # the sum of every plugin's waits for a lock
					bench_sample conc "c$conc" "$impl" "$verb" "$k" lockwait_us \
						"$(awk '{ s += $1 } END { print s + 0 }' "$BENCH_TMP/lockwait")"
					bench_sample conc "c$conc" "$impl" "$verb" "$k" lockwaits \
						"$(wc -l <"$BENCH_TMP/lockwait")"
				fi
				if [ $verb = ADD ]; then
					ips=$(cat "$BENCH_TMP/cc-out/ADD."* | jq -r '.ips[0].address // empty' 2>/dev/null | sort -u | wc -l)
					[ "$ips" = "$conc" ] || bench_note "concurrent: $impl round $k: $ips distinct IPs for $conc ADDs"
					bench_sample conc "c$conc" "$impl" ADD "$k" distinct_ips "$ips"
				fi
			done
			left=$(scale_left "$h" "$BENCH_TMP/scale-data" "${impl:0:1}cc")
			[ -z "$left" ] || bench_note "concurrent: $impl round $k left $left after DEL"
		done
		scale_conc_floor "$conc" "$k"
	done
}

# CONC full floors at once (tests/bench/floor.c, one bridge port each), then CONC `ip link del`.
scale_conc_floor() {
	local conc=$1 k=$2 h=$BENCH_P-cc-floor i
	if [ "$k" = 1 ]; then
		bench_ns cc-floor >/dev/null
		ip -n "$h" link add cfbr0 type bridge
		ip -n "$h" addr add 10.216.0.1/16 dev cfbr0
		ip -n "$h" link set cfbr0 up
		for ((i = 0; i < conc; i++)); do bench_ns "cc-f$i" >/dev/null; done
	fi
	bench_exec conc "c$conc" floor ADD "$k" -N "/run/netns/$h" -P "$conc" -x "FLOOR_IDX=%d" \
		-- "$FLOOR" cfbr0 cfv "/run/netns/$BENCH_P-cc-f" 10.216.1.0/16 10.216.0.1 ||
		bench_note "concurrent: floor ADD round $k: some of the $conc failed"
	bench_exec conc "c$conc" floor DEL "$k" -N "/run/netns/$h" -P "$conc" -x "FLOOR_IDX=%d" \
		-- "$FLOOR" -d cfv ||
		bench_note "concurrent: floor DEL round $k: some of the $conc failed"
}

scale_med() { # scale_med IMPL VERB FIRST LAST: median wall ms of pods FIRST..LAST
	bench_stats scale seq "$1" "$2" wall_us "$3" "$4" | awk '{ if ($1) printf "%.2f\n", $2 / 1000; else print "-" }'
}

scale_report() {
	local pods=$1 conc=$2 impl md=$BENCH_TMP/md.scale e l v
	# per-pod series for the plot: pod  weft_ms  ref_ms  floor_ms (ADD then DEL)
	for v in ADD DEL; do
		awk -F'\t' -v v=$v '$1 == "scale" && $4 == v && $6 == "wall_us" {
			t[$5, $3] = $7 / 1000; if ($5 > n) n = $5 }
			END { for (i = 1; i <= n; i++) printf "%d %s %s %s\n", i,
				((i, "weft") in t) ? t[i, "weft"] : "NaN", ((i, "ref") in t) ? t[i, "ref"] : "NaN",
				((i, "kernel") in t) ? t[i, "kernel"] : "NaN" }' "$BENCH_SAMPLES" >"$BENCH_TMP/scale-$v.dat"
	done
	{
		echo "## Scale: $pods sequential pods on one bridge, then $conc concurrent"
		echo
		echo "Config: bridge + host-local, isGateway, ipMasq=${SCALE_MASQ:-false} (\"weftm\": weft with ipMasq). Each"
		echo "series on its own host netns and bridge, pod by pod interleaved (rotating order); pod i has its"
		echo "own netns. \"kernel\" = \`ip link add veth peer netns pod\` + \`ip link set master br up\` (two"
		echo "execs); \"full\" = tests/bench/floor.c, every kernel object of a bridge ADD from one process (one"
		echo "exec; DEL is \`ip link del\`). \"pod 10\" = median of pods 5–15, \"pod $pods\" = median of the last 11;"
		echo "\"added\" = pod $pods − pod 10: what the $pods-port bridge adds to one ADD."
		echo
		echo "| series | pod 10 ADD ms | pod $pods ADD ms | growth | added ms | median DEL ms (all) |"
		echo "|---|---|---|---|---|---|"
		for impl in weft weftm ref kernel full; do
			e=$(scale_med $impl ADD 5 15)
			l=$(scale_med $impl ADD $((pods - 10)) "$pods")
			echo "| $impl | $e | $l | $(bench_div "$l" "$e")x | $(bench_sub "$l" "$e") | $(scale_med $impl DEL 1 "$pods") |"
		done
		echo
		echo "A growth ratio favours a slow start: the same added milliseconds are a smaller ratio on a"
		echo "slower pod 10. Compare the \"added\" column of weft with the full floor's."
		echo
		echo "![per-pod ADD time](scale-add.png)"
		echo
		echo "Concurrent: $conc ADDs at once, then $conc DELs at once (one round = all $conc), total wall:"
		echo
		echo "| verb | weft s | ref s | full floor s | weft/ref (paired) | weft/floor (paired) | floor/ref (paired) |"
		echo "|---|---|---|---|---|---|---|"
		for v in ADD DEL; do
			echo "| $v | $(bench_cell conc "c$conc" weft $v wall_us 1e6 3) | $(bench_cell conc "c$conc" ref $v wall_us 1e6 3) | $(bench_cell conc "c$conc" floor $v wall_us 1e6 3) | $(bench_ratio_cell "conc/c$conc/weft/$v" "conc/c$conc/ref/$v" wall_us) | $(bench_ratio_cell "conc/c$conc/weft/$v" "conc/c$conc/floor/$v" wall_us) | $(bench_ratio_cell "conc/c$conc/floor/$v" "conc/c$conc/ref/$v" wall_us) |"
		done
		echo
		echo "The full floor here is $conc copies of tests/bench/floor.c at once (one bridge port each; DEL:"
		echo "$conc RTM_DELLINKs at once): no plugin that makes these objects can go below it."
		echo
		echo "Lock waits of weft's $conc plugins per round (WEFT_LOCK_TRACE: every contended flock, the IPAM"
		echo "store's and the state locks), median over rounds: ADD $(scale_lockwait "$conc" ADD), DEL $(scale_lockwait "$conc" DEL)."
		echo
	} >"$md"
	e=$(scale_med weft ADD 5 15)
	l=$(scale_med weft ADD $((pods - 10)) "$pods")
	bench_target "weft pod-$pods ADD / pod-10 ADD, no ipMasq" "$(bench_div "$l" "$e")" "<=" 2.0 x
	e=$(scale_med weftm ADD 5 15)
	l=$(scale_med weftm ADD $((pods - 10)) "$pods")
	bench_target "weft pod-$pods ADD / pod-10 ADD, ipMasq" "$(bench_div "$l" "$e")" "<=" 2.0 x
	bench_target "$conc concurrent ADDs total wall, weft/ref" "$(inv_med_ratio "conc/c$conc/weft/ADD" "conc/c$conc/ref/ADD" wall_us)" "<=" 0.2 x
	bench_target "$conc concurrent DELs total wall, weft/ref" "$(inv_med_ratio "conc/c$conc/weft/DEL" "conc/c$conc/ref/DEL" wall_us)" "<=" 0.7 x
}

scale_lockwait() { # scale_lockwait CONC VERB: "<total ms> in <n> waits" (medians over rounds)
	local t w
	t=$(bench_stats conc "c$1" weft "$2" lockwait_us | awk '{ print ($1 ? sprintf("%.1f ms", $2 / 1000) : "-") }')
	w=$(bench_stats conc "c$1" weft "$2" lockwaits | awk '{ print ($1 ? $2 : "-") }')
	echo "$t in $w waits"
}


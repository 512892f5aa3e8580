# shellcheck shell=bash
# make bench, part "cri": what a kubelet waits for. RunPodSandbox and StopPodSandbox through
# containerd's CRI socket (tests/cri/cri.js), weft against the reference plugins in the same
# containerd: two runtime handlers, each with its own CNI config (weft's bridge, the reference
# bridge; both host-local, isGateway, ipMasq, portmap chained), interleaved per rep with the
# order alternating. Sourced by run.sh (uses lib.sh and tests/cri/cri.bash).
#
# The figure includes all of containerd's work for a sandbox (snapshot, runc, shim, the netns,
# libcni's loopback and cache): the plugins are a part of it, so the ratio is closer to 1 than
# the invocation part's, and that is what a pod start sees.

# shellcheck source=tests/cri/cri.bash
. "$BENCH_HERE/../cri/cri.bash"

cri_bench_conflist() { # cri_bench_conflist FILE TYPE NETWORK BRIDGE SUBNET
	jq -n --arg t "$2" --arg n "$3" --arg b "$4" --arg s "$5" --arg d "$BENCH_TMP/cri-ipam" '{
		cniVersion: "1.0.0", name: $n, plugins: [
		{type: $t, bridge: $b, isGateway: true, ipMasq: true,
		 ipam: {type: "host-local", ranges: [[{subnet: $s}]], dataDir: $d}},
		{type: "portmap", capabilities: {portMappings: true}}]}' >"$1"
}

part_cri() {
	local reps=$1 why node dir p md=$BENCH_TMP/md.cri
	why=$(cri_missing)
	if [ -n "$why" ]; then
		bench_note "cri: skipped ($why)"
		return 0
	fi
	bench_log "cri: $reps reps through containerd"
	node=$(bench_ns cri-node)
	dir=$(mktemp -d /tmp/wc.XXXXXX)
	mkdir -p "$dir/cni-bin" "$dir/cni-conf" "$dir/cni-conf-ref"
	cp "${BINS[weft]}/bridge" "$dir/cni-bin/weft-bridge"
	for p in bridge host-local loopback portmap; do cp "${BINS[ref]}/$p" "$dir/cni-bin/"; done
	cri_bench_conflist "$dir/cni-conf/10-weft.conflist" weft-bridge wcri wcri0 10.210.0.0/16
	cri_bench_conflist "$dir/cni-conf-ref/10-ref.conflist" bridge rcri rcri0 10.211.0.0/16
	if ! cri_start "$dir" "$node"; then
		bench_note "cri: containerd did not start (see its log above)"
		cri_stop
		return 0
	fi
	if ! cri bench "$reps" --warmup 2 --handlers runc,ref >"$BENCH_TMP/cri.json"; then
		bench_note "cri: the CRI client failed: $(tail -n 1 "$CRI_DIR/containerd.log")"
		cri_stop
		return 0
	fi
	cri_stop
	rm -f /var/lib/cni/results/wcri-* /var/lib/cni/results/rcri-*
	jq -r '.[] | [(if .handler == "ref" then "ref" else "weft" end), .rep, .run_ms, .stop_ms] |
		@tsv' "$BENCH_TMP/cri.json" | while IFS=$'\t' read -r impl rep run stop; do
		bench_sample cri bridge "$impl" RunPodSandbox "$rep" wall_us "$(bench_fmt "$run" 0.001 0)"
		bench_sample cri bridge "$impl" StopPodSandbox "$rep" wall_us "$(bench_fmt "$stop" 0.001 0)"
	done
	cri_report "$reps" >"$md"
}

cri_report() {
	local v
	echo "## Through containerd's CRI (what a kubelet waits for)"
	echo
	echo "containerd $(containerd --version | awk '{print $3}'), runc $(runc --version | awk 'NR == 1 {print $3}');"
	echo "$1 reps after 2 warm-up reps, weft and reference interleaved (order alternating)."
	echo "One sandbox at a time: RunPodSandbox (snapshot, runc, the netns, libcni: loopback, the main"
	echo "plugin, portmap) and StopPodSandbox (CNI DEL of the chain, the sandbox killed)."
	echo
	echo "| RPC | weft ms | reference ms | weft/ref (paired per rep) |"
	echo "|---|---|---|---|"
	for v in RunPodSandbox StopPodSandbox; do
		echo "| $v | $(bench_cell cri bridge weft $v wall_us 1000 1) | $(bench_cell cri bridge ref $v wall_us 1000 1) | $(bench_ratio_cell cri/bridge/weft/$v cri/bridge/ref/$v wall_us) |"
	done
	echo
}

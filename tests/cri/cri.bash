# containerd with a private config, in a throwaway node netns, driven through its CRI socket
# as a kubelet drives it. Used by tests/integration/cri.bats and the bench's `cri` part.
#
#   cri_start DIR NODE-NETNS     config, containerd, images; CRI_SOCK, CRI_DIR set
#   cri ARGS...                  tests/cri/cri.js on $CRI_SOCK
#   cri_kill9                    SIGKILL containerd (its shims and pods keep running)
#   cri_restart                  start it again on the same root and state
#   cri_stop                     every sandbox stopped and removed, containerd and leftover
#                                shims ended, mounts under DIR undone, its cgroup removed
#
# Everything containerd makes lives under DIR (root, state, runc root, netns mounts, CNI bin
# and conf dirs, logs) except what its code fixes: shim sockets in /run/containerd/s (gone with
# the shims) and libcni's result cache in /var/lib/cni/results (named after the network, which
# the callers make unique).
# Needs: containerd, runc, ctr (Debian's containerd 1.6), node with the modules of
# tests/cri/package.json in $CRI_NODE_MODULES (tests/deps.sh installs them), gcc, python3,
# busybox-static.

CRI_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRI_NODE_MODULES=${CRI_NODE_MODULES:-$CRI_HERE/../../build/cri/node_modules}

# cri_missing: prints why the CRI tests cannot run here, nothing when they can.
cri_missing() {
	local c
	for c in containerd runc ctr node gcc python3; do
		command -v "$c" >/dev/null || { echo "$c not installed"; return; }
	done
	[ -x /bin/busybox ] || { echo "busybox-static not installed"; return; }
	[ -d "$CRI_NODE_MODULES/@grpc/grpc-js" ] ||
		echo "the CRI client's npm modules are missing ($CRI_NODE_MODULES; tests/deps.sh test installs them)"
}

cri() {
	NODE_PATH=$CRI_NODE_MODULES node "$CRI_HERE/cri.js" "$CRI_SOCK" "$@"
}

# cri_image FILE: the sandbox and workload images (tests/cri/mkimage.py), built once.
cri_image() {
	[ -s "$1" ] && return 0
	gcc -O2 -static -o "$1.pause" "$CRI_HERE/pause.c" &&
		python3 "$CRI_HERE/mkimage.py" "$1.pause" /bin/busybox "$1" && rm -f "$1.pause"
}

_cri_config() {
	local d=$1
	cat <<-TOML
		version = 2
		root = "$d/root"
		state = "$d/state"
		[grpc]
		  address = "$d/c.sock"
		[ttrpc]
		  address = "$d/c.sock.ttrpc"
		[metrics]
		  address = ""
		[plugins."io.containerd.internal.v1.opt"]
		  path = "$d/opt"
		[plugins."io.containerd.grpc.v1.cri"]
		  sandbox_image = "localhost/weft-test/pause:1"
		  # this machine's root lacks CAP_SYS_RESOURCE and the kernel has no AppArmor
		  restrict_oom_score_adj = true
		  disable_apparmor = true
		  netns_mounts_under_state_dir = true
		  [plugins."io.containerd.grpc.v1.cri".cni]
		    bin_dir = "$d/cni-bin"
		    conf_dir = "$d/cni-conf"
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		    runtime_type = "io.containerd.runc.v2"
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		    Root = "$d/runc"
		  # a second runtime handler with CNI config of its own (the bench's reference side)
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ref]
		    runtime_type = "io.containerd.runc.v2"
		    cni_conf_dir = "$d/cni-conf-ref"
		  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.ref.options]
		    Root = "$d/runc"
	TOML
}

_cri_launch() {
	nsenter --net="/run/netns/$CRI_NETNS" containerd --config "$CRI_DIR/config.toml" \
		>>"$CRI_DIR/containerd.log" 2>&1 &
	echo $! >"$CRI_DIR/containerd.pid"
	local i
	for i in $(seq 100); do
		cri version >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$CRI_DIR/containerd.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "containerd did not answer on $CRI_SOCK:" >&2
	tail -n 20 "$CRI_DIR/containerd.log" >&2
	return 1
}

cri_start() {
	CRI_DIR=$1 CRI_NETNS=$2 CRI_SOCK=$1/c.sock
	export CRI_DIR CRI_NETNS CRI_SOCK CRI_LOG_DIR=$1/pods CRI_CGROUP_PARENT=/${1##*/}
	mkdir -p "$CRI_DIR/cni-bin" "$CRI_DIR/cni-conf" "$CRI_DIR/cni-conf-ref" "$CRI_LOG_DIR"
	_cri_config "$CRI_DIR" >"$CRI_DIR/config.toml"
	cri_image "$CRI_DIR/images.tar" || return 1
	_cri_launch || return 1
	ctr -a "$CRI_SOCK" -n k8s.io images import "$CRI_DIR/images.tar" >/dev/null
}

cri_restart() {
	_cri_launch
}

cri_kill9() {
	local pid
	pid=$(cat "$CRI_DIR/containerd.pid")
	kill -9 "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
}

# Processes started for this containerd: their command line names CRI_DIR (the shims are
# passed its socket address). Matched by that unique path, never by program name.
_cri_pids() {
	local p
	for p in /proc/[0-9]*; do
		tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "$CRI_DIR/" && echo "${p#/proc/}"
	done
}

_cri_cgroup_rm() {
	local d
	[ -n "$CRI_CGROUP_PARENT" ] || return 0
	for d in /sys/fs/cgroup/*"$CRI_CGROUP_PARENT" /sys/fs/cgroup"$CRI_CGROUP_PARENT"; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

cri_stop() {
	local id pid m
	[ -n "${CRI_DIR:-}" ] && [ -d "$CRI_DIR" ] || return 0
	if cri version >/dev/null 2>&1; then
		for id in $(cri list 2>/dev/null | jq -r '.[].id'); do
			cri stop "$id" >/dev/null 2>&1
			cri rm "$id" >/dev/null 2>&1
		done
	fi
	pid=$(cat "$CRI_DIR/containerd.pid" 2>/dev/null)
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && sleep 0.5
	for pid in $(_cri_pids); do kill -9 "$pid" 2>/dev/null; done
	sleep 0.2
	# innermost first
	for m in $(awk -v d="$CRI_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	_cri_cgroup_rm
	rm -rf "$CRI_DIR"
}

#!/usr/bin/env bash
# Stages the image's root filesystem: deploy/image-rootfs.sh BIN_DIR OUT_DIR
# Copies weft's binaries into OUT_DIR/weft and every shared library they load (ldd's answer,
# followed through symlinks) to the same path under OUT_DIR, the dynamic loader included.
set -euo pipefail
bin=$1 out=$2
rm -rf "$out" && mkdir -p "$out/weft" "$out/tmp"
for b in bridge host-gw vxlan ebpf host-local weft-install weft-node; do
	[ -x "$bin/$b" ] || { echo "image: $bin/$b is missing (make build first)" >&2; exit 1; }
	install -m 0755 "$bin/$b" "$out/weft/$b"
	# "libx.so => /lib/.../libx.so (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
	ldd "$bin/$b" 2>/dev/null | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do
	real=$(readlink -f "$lib")
	mkdir -p "$out$(dirname "$lib")"
	cp -L "$real" "$out$lib"
done

#!/usr/bin/env bash
# The layers stand in one order (docs/design.md §1): a file may include headers of its own layer
# and of the layers below it, never of a later one. Includes are root-relative, so the layer of
# every include is read off its path. Prints each violation; exits 1 when there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

# layer FILE: the layer name of a path, or "" for files outside the layered tree (tests, bench).
layer() {
	case $1 in
	common/cni/*) echo cni ;;
	common/nl/*) echo nl ;;
	common/nft/*) echo nft ;;
	common/bpf/*) echo bpftc ;;
	common/*) echo base ;;
	bpf/include/*) echo bpfabi ;;
	bpf/*) echo bpfprog ;;
	ipam/*) echo ipam ;;
	plugins/lib/*) echo podnet ;;
	plugins/*/*) echo "plugin:$(cut -d/ -f2 <<<"$1")" ;;
	netns-tools/runtime/*) echo runtime ;;
	netns-tools/nsrun/*) echo nsrun ;;
	netns-tools/netlab/*) echo netlab ;;
	agent/install/*) echo install ;;
	agent/*) echo agent ;;
	*) echo "" ;;
	esac
}

# The layers each layer may include (itself included).
declare -A may=(
	[base]="base"
	[cni]="base cni"
	[nl]="base cni nl"
	[nft]="base cni nl nft"
	[bpftc]="base cni nl nft bpftc"
	[bpfabi]="bpfabi"
	[bpfprog]="bpfabi bpfprog"
	[ipam]="base cni nl nft bpftc ipam"
	[podnet]="base cni nl nft bpftc ipam bpfabi podnet"
	[runtime]="base cni runtime"
	[nsrun]="base cni runtime nsrun"
	[netlab]="base cni runtime nsrun netlab"
	[agent]="base cni nl nft bpftc ipam podnet bpfabi runtime agent"
	[install]="base cni nl nft bpftc ipam podnet bpfabi runtime agent install"
)

bad=0
while IFS= read -r f; do
	l=$(layer "$f")
	[ -n "$l" ] || continue
	if [[ $l == plugin:* ]]; then
		allowed="base cni nl nft bpftc ipam podnet bpfabi $l"
	else
		allowed=${may[$l]}
	fi
	while IFS= read -r inc; do
		[ -n "$inc" ] || continue
		case $inc in *.skel.h) il=generated ;; *) il=$(layer "$inc") ;; esac
		[ "$il" = generated ] && [ "$l" = "plugin:ebpf" ] && continue
		if [ -z "$il" ] || [ ! -e "$inc" ]; then
			echo "$f: include \"$inc\" is not a root-relative path into the tree"
			bad=1
		elif [[ " $allowed " != *" $il "* ]]; then
			echo "$f: layer $l includes \"$inc\" of layer $il (a later or unrelated layer)"
			bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done < <(git ls-files -co --exclude-standard '*.c' '*.h')
exit $bad

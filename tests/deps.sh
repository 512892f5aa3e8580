#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing (idempotent; a no-op
# when all are there). Usage: tests/deps.sh build|test|demo|bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build=(gcc make pkg-config libmnl-dev libnftnl-dev libjansson-dev libbpf-dev libelf-dev
	zlib1g-dev clang llvm bpftool)
test=(libcmocka-dev bats jq iproute2 iputils-ping nftables clang-format libclang-rt-14-dev
	containernetworking-plugins iperf3 procps psmisc valgrind libcap2-bin time)
demo=(iproute2 nftables iperf3 jq)
bench=(containernetworking-plugins iperf3 gnuplot-nox jq iproute2 hyperfine sockperf)

case "${1:-build}" in
build) want=("${build[@]}") ;;
test) want=("${build[@]}" "${test[@]}") ;;
demo) want=("${build[@]}" "${demo[@]}") ;;
bench) want=("${build[@]}" "${bench[@]}") ;;
*) echo "usage: $0 build|test|demo|bench" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" -ne 0 ]; then
		echo "weft: missing Debian packages: ${missing[*]} (run as root or install them)" >&2
		exit 1
	fi
	echo "weft: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The real CNI client, built offline from Debian packages (shared/tools/build-cnitool.sh).
if [ "${1:-}" = test ] && ! command -v cnitool >/dev/null 2>&1; then
	for t in "$here/../../shared/tools/build-cnitool.sh" "$here/../shared/tools/build-cnitool.sh"; do
		if [ -f "$t" ]; then
			bash "$t" /usr/local/bin/cnitool >/dev/null
			break
		fi
	done
	command -v cnitool >/dev/null || { echo "weft: cannot build cnitool" >&2; exit 1; }
fi
exit 0

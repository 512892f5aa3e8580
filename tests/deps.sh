#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing (idempotent; a no-op
# when all are there). Usage: tests/deps.sh build|test|demo|bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

build=(gcc make pkg-config libmnl-dev libnftnl-dev libjansson-dev libbpf-dev libelf-dev
	zlib1g-dev clang llvm bpftool libcurl4-openssl-dev libyaml-dev libmicrohttpd-dev)
test=(libcmocka-dev bats jq iproute2 iputils-ping nftables clang-format libclang-rt-14-dev
	containernetworking-plugins iperf3 procps psmisc valgrind libcap2-bin time
	python3 python3-yaml podman openssl curl containerd runc busybox-static)
demo=(iproute2 nftables iperf3 jq)
bench=(containernetworking-plugins iperf3 gnuplot-nox jq iproute2 hyperfine sockperf
	containerd runc busybox-static)

case "${1:-build}" in
build) want=("${build[@]}") ;;
test) want=("${build[@]}" "${test[@]}") ;;
demo) want=("${build[@]}" "${demo[@]}") ;;
bench) want=("${build[@]}" "${bench[@]}") ;;
*) echo "usage: $0 build|test|demo|bench" >&2; exit 2 ;;
esac

# The CRI tests' client runs on Node.js (any packaging of it: Debian's nodejs + npm, or a
# nodejs that carries its own npm).
if [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
	command -v node >/dev/null || want+=(nodejs)
	command -v npm >/dev/null || want+=(npm)
fi

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

# cnitool, the CNI project's own client, built offline from Debian packages into the build
# directory (tests/tools/build-cnitool.sh). Tests that need it skip, naming the reason, when it
# cannot be built; that alone never fails the check.
if [ "${1:-}" = test ]; then
	cnitool=${OUT:-build}/tools/cnitool
	mkdir -p "${cnitool%/*}"
	if [ ! -x "$cnitool" ] && ! "$here/tools/build-cnitool.sh" "$cnitool" 2>"${cnitool%/*}.log"; then
		echo "weft: cnitool could not be built (tests that need it will skip):" >&2
		tail -n 3 "${cnitool%/*}.log" >&2
	fi
fi
# The CRI test client's modules (tests/cri/package-lock.json) from the npm registry, into the
# build directory. Without them the CRI tests (and the bench's cri part) skip, saying why.
if [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
	cri=${OUT:-build}/cri
	if ! cmp -s "$here/cri/package-lock.json" "$cri/package-lock.json" ||
		[ ! -d "$cri/node_modules/@grpc/grpc-js" ]; then
		mkdir -p "$cri"
		cp "$here/cri/package.json" "$here/cri/package-lock.json" "$cri/"
		npm ci --prefix "$cri" --no-audit --no-fund --loglevel=error >"$cri.log" 2>&1 ||
			{ echo "weft: npm ci for the CRI client failed (the CRI tests will skip):" >&2
			  tail -n 3 "$cri.log" >&2; }
	fi
fi
exit 0

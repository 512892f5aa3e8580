#!/usr/bin/env bash
# Builds cnitool, the CNI project's own command-line client, offline from Debian 12 packages:
# the tests use it as a real libcni client next to weft's runtime side.
#
# Debian ships the libcni Go sources (golang-github-appc-cni-dev) but not the cnitool command;
# its main package is in the matching *source* package. So: install the Go toolchain and the
# library, download that source package with a private apt state in a scratch directory (the
# machine's apt configuration is not changed), and build in GOPATH mode against the packaged
# library, with the module proxy off. Nothing is fetched from outside Debian's archive.
#
#   tests/tools/build-cnitool.sh OUTPUT      build OUTPUT (e.g. build/tools/cnitool)
#   WORK=dir                                 scratch directory (default /tmp/weft-cnitool)
# Exits 0 with OUTPUT built, non-zero with a reason on stderr otherwise.
set -euo pipefail

out=$(realpath -m "${1:?usage: build-cnitool.sh OUTPUT}")
work=${WORK:-/tmp/weft-cnitool}
die() {
	echo "build-cnitool: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root to install golang-go and golang-github-appc-cni-dev"
pkgs=()
for p in golang-go golang-github-appc-cni-dev dpkg-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || pkgs+=("$p")
done
if ((${#pkgs[@]})); then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
		die "cannot install ${pkgs[*]}"
fi

# The mirror the machine already uses, in either apt source format.
mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f"
	done
	[ -f /etc/apt/sources.list ] &&
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^(http|https|file):.*\/debian\/?$/) { print $i; exit } }' /etc/apt/sources.list
	true
}
uri=$(mirror | head -n 1)
[ -n "$uri" ] || die "no Debian mirror in /etc/apt/sources.list*"
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
version=$(dpkg-query -W -f='${Version}' golang-github-appc-cni-dev)

src=$work/src-$version
if [ ! -f "$src/cnitool/cnitool.go" ]; then
	mkdir -p "$work/state/lists/partial" "$work/dl"
	chmod 0755 "$work" "$work/dl" # apt downloads as _apt when it can
	chown _apt "$work/dl" 2>/dev/null || true
	printf 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
		"$uri" "$suite" >"$work/state/sources.list"
	apt_private=(-o "Dir::Etc::SourceList=$work/state/sources.list"
		-o "Dir::Etc::SourceParts=/nonexistent" -o "Dir::State::Lists=$work/state/lists")
	apt-get "${apt_private[@]}" update -qq || die "cannot read the source index of $uri"
	(cd "$work/dl" && apt-get "${apt_private[@]}" source --download-only \
		"golang-github-appc-cni=$version" >/dev/null) ||
		die "cannot download the source package golang-github-appc-cni $version"
	rm -rf "$src"
	dpkg-source --no-check -x "$work/dl/golang-github-appc-cni_$version.dsc" "$src" >/dev/null ||
		die "cannot unpack golang-github-appc-cni $version"
fi

mkdir -p "$(dirname "$out")"
(cd "$src/cnitool" &&
	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
		GOCACHE="$work/gocache" go build -trimpath -o "$out" .) ||
	die "go build failed"
echo "build-cnitool: $out (libcni $version, $(go version | cut -d' ' -f3))" >&2

#!/usr/bin/env bash
# `make demo`: run the netlab bridge scenario end to end — three containers on a bridge wired
# by the weft bridge plugin through the CNI runtime side, pings between them, to the gateway
# and (masqueraded) to an "outside" namespace — printing the verification and the topology.
# Everything lives in namespaces netlab creates and is torn down at the end.
#
# Usage: tests/demo.sh BIN_DIR        (make demo passes $(OUT)/bin)
set -euo pipefail

bin=${1:?usage: $0 BIN_DIR}
bin=$(cd "$bin" && pwd)
netlab=$bin/netlab
prefix=${DEMO_PREFIX:-demo}

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: netlab creates namespaces, bridges and cgroups: run as root (sudo make demo)" >&2
	exit 1
fi
if [ ! -x "$netlab" ]; then
	echo "demo: $netlab is missing (make build)" >&2
	exit 1
fi

if [ -x "$bin/bridge" ]; then
	scenario=bridge
else
	# Until the bridge plugin is built, show the seed's first exercise instead.
	echo "demo: no bridge plugin in $bin yet; running the veth scenario instead" >&2
	scenario=veth
fi

echo "== netlab run $scenario (netlab list shows the other scenarios) =="
echo
"$netlab" run "$scenario" --prefix "$prefix"

#!/usr/bin/env bash
# Benchmark (not a test): weft's bridge vs the reference bridge (+ host-local), A/B interleaved,
# with the kernel's own floor measured in the same run. Kept for its command line: the work is
# now done by the "invocation" and "scale" parts of `make bench` (tests/bench/run.sh on top of
# tests/bench/lib.sh; method in docs/benchmarks.md), which measure wall, CPU of the process tree
# and peak RSS of the plugin's own process (the reference's static Go binaries included).
#
#   tests/bench/bridge.sh [WEFT_BIN_DIR] [ROUNDS] [SCALE_PODS]     (root)
#
# Prints the report on stdout; writes nothing under bench/results.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d /tmp/weft-bench-bridge.XXXXXX)
trap 'rm -rf "$out"' EXIT
ONLY=invocation,scale REPS=${2:-30} PODS=${3:-1000} OUT_DIR=$out \
	"$here/run.sh" "${1:-$here/../../build/bin}"

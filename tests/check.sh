#!/usr/bin/env bash
# make check: every stage a change must pass. Counts TAP results of cmocka and bats, prints
# "check: N passed, N failed" last, exits non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-build}
export CMOCKA_MESSAGE_OUTPUT=TAP
tmp=$(mktemp -d /tmp/weft-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
bad=()
times=() # "name Ns" per stage, printed last: where the minutes go

stage() {
	local name=$1
	shift
	local t0=$SECONDS
	printf '\n==== %s\n' "$name"
	"$@" 2>&1 | tee "$tmp/$name.log"
	local rc=${PIPESTATUS[0]}
	times+=("$name $((SECONDS - t0))s")
	local p f
	p=$(grep -cE '^ok ' "$tmp/$name.log")
	f=$(grep -cE '^not ok ' "$tmp/$name.log")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -ne 0 ]; then
		bad+=("$name")
		# a stage that failed without a failing test (build, lint, crash) still counts
		[ "$f" -eq 0 ] && failed=$((failed + 1))
	fi
	return 0
}

stage build make OUT="$OUT" build
stage lint make lint
stage unit make OUT="$OUT" unit
stage unit-asan make OUT="$OUT" unit-asan
# the NetworkPolicy model and its cases (tests/policy/README.md), and weft-node's policy
# compiler checked against it on every case (test_crosscheck.py); python3 stdlib, no root
stage policy-model env WEFT_POLICY_EVAL="$OUT/tests/policy-eval" \
	python3 -m unittest discover -s tests/policy -p 'test_*.py'
if [ "$(id -u)" -eq 0 ]; then
	stage integration make OUT="$OUT" integration BATS_FLAGS="--formatter tap --timing"
else
	echo "integration: skipped (needs root)"
fi
if [ -x tests/fuzz/run.sh ] && ls tests/fuzz/fuzz-*.c >/dev/null 2>&1; then
	stage fuzz-smoke make OUT="$OUT" fuzz-smoke
fi

printf '\n'
echo "stage times: ${times[*]}"
((${#bad[@]})) && echo "failed stages: ${bad[*]}"
echo "check: $passed passed, $failed failed"
[ "${#bad[@]}" -eq 0 ]

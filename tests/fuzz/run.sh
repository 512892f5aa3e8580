#!/usr/bin/env bash
# libFuzzer driver (clang, ASan + UBSan, leak detection on).
#
#   tests/fuzz/run.sh smoke [SECONDS]   all targets share SECONDS (default 60): make check
#   tests/fuzz/run.sh full  [SECONDS]   every target runs SECONDS (default 60): make fuzz
#   tests/fuzz/run.sh replay            only the seed corpora and regression inputs, once each
#
# Builds every tests/fuzz/fuzz-*.c against the project's common/ and ipam/ sources, compiled
# here with the fuzzing flags into $OUT/fuzz (OUT defaults to build). A target names extra
# sources it needs in a comment line "fuzz-sources: plugins/x/conf.c ..."; when one is absent
# (a plugin not written yet) the target is skipped. "fuzz-max-len: N" sets -max_len.
#
# Each target first replays its regression inputs (tests/fuzz/regressions/<target>/), then
# fuzzes from its seed corpus (tests/fuzz/corpus/<target>/, read only) into a working corpus
# under $OUT/fuzz/corpus/<target>, so a run never changes the tree. A crash, leak, timeout or
# out-of-memory fails the run; the input is kept in $OUT/fuzz/artifacts/<target>/ — add it to
# tests/fuzz/regressions/<target>/ once the bug is fixed. One TAP line per target; figures of
# the run in $OUT/fuzz/last-run.tsv (target runs seconds crashes leaks status).
set -uo pipefail
cd "$(dirname "$0")/../.."

mode=${1:-smoke}
secs=${2:-60}
case $mode in
smoke | full | replay) ;;
*)
	echo "usage: $0 smoke|full|replay [SECONDS]" >&2
	exit 2
	;;
esac
[[ $secs =~ ^[0-9]+$ ]] || {
	echo "SECONDS must be a number" >&2
	exit 2
}

OUT=${OUT:-build}
B=$OUT/fuzz
CLANG=${CLANG:-clang}
PKGS="libmnl libnftnl jansson libbpf"
JOBS=$(nproc 2>/dev/null || echo 2)

targets=()
for f in tests/fuzz/fuzz-*.c; do
	[ -e "$f" ] && targets+=("$(basename "$f" .c)")
done
echo "1..${#targets[@]}"
if [ "${#targets[@]}" -eq 0 ]; then
	exit 0
fi
if ! command -v "$CLANG" >/dev/null || ! pkg-config --exists $PKGS; then
	for i in "${!targets[@]}"; do
		echo "ok $((i + 1)) - ${targets[$i]} # SKIP clang or pkg-config deps missing"
	done
	exit 0
fi

mkdir -p "$B/obj" "$B/bin" "$B/corpus" "$B/artifacts" "$B/log"
# shellcheck disable=SC2086
CFL=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
	-std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter -I. $(pkg-config --cflags $PKGS))
# shellcheck disable=SC2086
LIBS=($(pkg-config --libs $PKGS))

# obj_of SRC: where SRC's fuzzing object goes.
obj_of() {
	local s=${1%.c}
	echo "$B/obj/${s//\//_}.o"
}

# stale OBJ SRC: true when OBJ must be rebuilt (missing, or older than a dependency).
stale() {
	local o=$1 s=$2 d=${1%.o}.d dep
	[ -f "$o" ] && [ -f "$d" ] || return 0
	[ "$s" -nt "$o" ] && return 0
	for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$d"); do
		[ -e "$dep" ] || return 0
		[ "$dep" -nt "$o" ] && return 0
	done
	return 1
}

# compile SRC: prints nothing on success; the compiler's complaint on failure.
compile() {
	local s=$1 o
	o=$(obj_of "$s")
	stale "$o" "$s" || return 0
	"$CLANG" "${CFL[@]}" -fsanitize=fuzzer-no-link -MMD -MF "${o%.o}.d" -c "$s" -o "$o" \
		2>"${o%.o}.err" || {
		rm -f "$o"
		return 1
	}
}

# The library: every layer a plugin links (common/, ipam/, plugins/lib/) minus mains. An object that does not compile right now (a
# teammate mid-edit) is left out; only targets that need it fail to link.
lib_src=()
for s in common/*.c common/*/*.c ipam/*.c plugins/lib/*.c; do
	[ "$s" = ipam/main.c ] && continue
	grep -qE '^int main\(' "$s" && continue
	lib_src+=("$s")
done
k=0
for s in "${lib_src[@]}"; do
	compile "$s" &
	k=$((k + 1))
	[ $((k % JOBS)) -eq 0 ] && wait
done
wait
lib=$B/libweft-fuzz.a
objs=()
for s in "${lib_src[@]}"; do
	o=$(obj_of "$s")
	if [ -f "$o" ]; then
		objs+=("$o")
	else
		echo "# fuzz: $s does not compile now (left out of the library):" >&2
		head -5 "${o%.o}.err" | sed 's/^/#   /' >&2
	fi
done
rm -f "$lib" && ar rcs "$lib" "${objs[@]}"

# header_value TARGET KEY: the value of a "KEY: value" comment line in the target's source.
header_value() {
	sed -n "s|.*$2: *\\([^*]*\\).*|\\1|p" "tests/fuzz/$1.c" | head -1 | sed 's/ *$//'
}

build_target() {
	local t=$1 extra=() s
	for s in $(header_value "$t" fuzz-sources); do
		[ -f "$s" ] || {
			echo "SKIP $s absent"
			return 2
		}
		compile "$s" || {
			cat "$(obj_of "$s" | sed 's/\.o$/.err/')" >&2
			return 1
		}
		extra+=("$(obj_of "$s")")
	done
	"$CLANG" "${CFL[@]}" -fsanitize=fuzzer "tests/fuzz/$t.c" "${extra[@]}" "$lib" "${LIBS[@]}" \
		-o "$B/bin/$t" 2>"$B/log/$t.build" || {
		head -20 "$B/log/$t.build" >&2
		return 1
	}
}

# Time per target.
n=${#targets[@]}
case $mode in
smoke)
	# replay and start-up cost ~2 s a target: keep the whole smoke within its budget
	per=$(((secs - 2 * n) / n))
	[ "$per" -lt 1 ] && per=1
	;;
full) per=$secs ;;
replay) per=0 ;;
esac

# scratch space for targets that build directories (fuzz-ipam-store), removed at exit
WEFT_FUZZ_TMP=$(mktemp -d "$([ -w /dev/shm ] && echo /dev/shm || echo /tmp)/weft-fuzz.XXXXXX")
export WEFT_FUZZ_TMP
trap 'rm -rf "$WEFT_FUZZ_TMP"' EXIT

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export WEFT_LOG_LEVEL=error

printf 'target\truns\tseconds\tcrashes\tleaks\tstatus\n' >"$B/last-run.tsv"
fail=0 i=0 total_runs=0
for t in "${targets[@]}"; do
	i=$((i + 1))
	why=$(build_target "$t")
	rc=$?
	if [ "$rc" -eq 2 ]; then
		echo "ok $i - $t # SKIP ${why#SKIP }"
		printf '%s\t0\t0\t0\t0\tskip\n' "$t" >>"$B/last-run.tsv"
		continue
	elif [ "$rc" -ne 0 ]; then
		echo "not ok $i - $t (does not build; see $B/log/$t.build)"
		printf '%s\t0\t0\t0\t0\tbuild-failed\n' "$t" >>"$B/last-run.tsv"
		fail=1
		continue
	fi
	seed=tests/fuzz/corpus/$t
	reg=tests/fuzz/regressions/$t
	work=$B/corpus/$t
	art=$B/artifacts/$t/
	mkdir -p "$work" "$art"
	maxlen=$(header_value "$t" fuzz-max-len)
	maxlen=${maxlen:-16384}
	log=$B/log/$t.log
	: >"$log"
	ok=1 runs=0
	start=$(date +%s)
	# 1. regressions and seeds, each input once (a fixed bug must stay fixed)
	inputs=()
	for d in "$reg" "$seed"; do
		[ -d "$d" ] && while IFS= read -r f; do inputs+=("$f"); done < <(find "$d" -type f | sort)
	done
	if [ "${#inputs[@]}" -gt 0 ]; then
		if ! timeout 300 "$B/bin/$t" -runs=1 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$art" "${inputs[@]}" >>"$log" 2>&1; then
			ok=0
		fi
		runs=${#inputs[@]}
	fi
	# 2. fuzzing (also after a failed replay: a known bug must not hide new ones)
	if [ "$per" -gt 0 ]; then
		dirs=("$work")
		[ -d "$seed" ] && dirs+=("$seed")
		timeout $((per + 60)) "$B/bin/$t" -max_total_time="$per" -max_len="$maxlen" \
			-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art" \
			"${dirs[@]}" >>"$log" 2>&1 || ok=0
		r=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		runs=$((runs + ${r:-0}))
	fi
	el=$(($(date +%s) - start))
	total_runs=$((total_runs + runs))
	# one finding = one sanitizer/libFuzzer report (an invariant failure ends in "deadly signal")
	crashes=$(grep -cE 'ERROR: (AddressSanitizer|libFuzzer)|^SUMMARY: UndefinedBehaviorSanitizer' "$log")
	leaks=$(grep -c 'ERROR: LeakSanitizer' "$log")
	if [ "$ok" -eq 1 ]; then
		echo "ok $i - $t ($runs runs, ${el}s)"
		printf '%s\t%s\t%s\t%s\t%s\tok\n' "$t" "$runs" "$el" "$crashes" "$leaks" >>"$B/last-run.tsv"
	else
		echo "not ok $i - $t ($runs runs, ${el}s; crashes $crashes, leaks $leaks; log $log, inputs in $art)"
		grep -m1 -A12 -E '^==[0-9]+==ERROR|runtime error:|invariant failed' "$log" | sed 's/^/# /'
		printf '%s\t%s\t%s\t%s\t%s\tfail\n' "$t" "$runs" "$el" "$crashes" "$leaks" >>"$B/last-run.tsv"
		fail=1
	fi
done
echo "# fuzz $mode: $total_runs inputs tried; figures in $B/last-run.tsv"
exit "$fail"

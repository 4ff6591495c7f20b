#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Build the libFuzzer harnesses of app/fuzz (clang, ASan+UBSan) and run
# them: first every committed input (app/fuzz/corpus/<fuzzer>: the seeds,
# app/fuzz/regressions/<fuzzer>: inputs of findings that were fixed) once,
# then each fuzzer for a while on a copy of its corpus.
#
#   devtools/fuzz.sh [options] [FUZZER...]      (default: all five)
#     -t SECONDS    fuzzing time per fuzzer (default 20; 0: replay only)
#     -o DIR        keep the grown corpora and any crash inputs in DIR
#                   (default: a temporary directory, removed on success)
#     -l FILE       also write one JSON line per check to FILE, in the
#                   format of meson's testlog.json (devtools/test.sh)
#     -j N          run N fuzzers at once (default: the CPUs, nproc; each
#                   fuzzer runs on one)
#
# fuzz_vnet compiles the emulated NIC's PMD in: it needs DPDK's driver-SDK
# headers (devtools/get-dpdk-sdk-headers.sh); without them it is skipped.
#
# Environment: VU_FUZZ_BUILD_DIR (default build-fuzz), VU_SKIP_INSTALL=1
# (do not apt-get install clang / libclang-rt-14-dev when missing).
# Exit status: 0 all passed, 1 a check failed, 77 skipped (no libFuzzer,
# or only fuzz_vnet asked for and no driver-SDK headers).

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

. devtools/common.sh

ALL_FUZZERS=(fuzz_server fuzz_vring fuzz_version fuzz_client fuzz_vnet)
BUILD_DIR=${VU_FUZZ_BUILD_DIR:-build-fuzz}
TIME=20
OUT=
LOG=
JOBS=$(nproc)

while getopts "t:o:l:j:h" opt; do
	case $opt in
	t) TIME=$OPTARG ;;
	o) OUT=$OPTARG ;;
	l) LOG=$OPTARG ;;
	j) JOBS=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
case $JOBS in
''|*[!0-9]*|0*) echo "fuzz: -j wants a number of fuzzers at once, 1 or more: '$JOBS'" >&2
	exit 2 ;;
esac
# each fuzzer once (its files in OUT are named after it)
FUZZERS=()
for f in "$@"; do
	printf '%s\n' "${FUZZERS[@]}" | grep -qx -- "$f" || FUZZERS+=("$f")
done
[ ${#FUZZERS[@]} -gt 0 ] || FUZZERS=("${ALL_FUZZERS[@]}")

[ -z "$LOG" ] || : > "$LOG"

# log_result NAME OK|FAIL|SKIP SECONDS (RESULTS: where the JSON line goes;
# a fuzzer's run has a file of its own, appended to LOG in order)
RESULTS=$LOG
log_result() {
	echo "fuzz: $2 $1 (${3}s)"
	[ -z "$RESULTS" ] || printf '{"name": "%s", "result": "%s", "duration": %s}\n' \
		"$1" "$2" "$3" >> "$RESULTS"
}

skip_all() {
	echo "fuzz: SKIPPED: $*"
	for f in "${FUZZERS[@]}"; do
		log_result "$f" SKIP 0
	done
	exit 77
}

# --- libFuzzer -------------------------------------------------------------

PACKAGES=(clang libclang-rt-14-dev)
if ! ensure_packages; then
	skip_all "could not install clang and libclang-rt-14-dev"
fi
if ! command -v clang >/dev/null 2>&1; then
	skip_all "clang is not installed (apt-get install clang libclang-rt-14-dev)"
fi
probe=$(mktemp -d)
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
	> "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" \
	>"$probe/log" 2>&1; then
	cat "$probe/log" >&2
	rm -rf "$probe"
	skip_all "clang cannot link a libFuzzer target (libclang-rt-14-dev missing?)"
fi
rm -rf "$probe"

# --- build -----------------------------------------------------------------

# the PMD's sources, for fuzz_vnet
DRIVER_OPTS=(-Ddrivers=false)
if printf '%s\n' "${FUZZERS[@]}" | grep -qx fuzz_vnet; then
	sdk_log=$(mktemp)
	if sdk=$(devtools/get-dpdk-sdk-headers.sh 2>"$sdk_log") &&
	   [ -d "$sdk" ]; then
		DRIVER_OPTS=(-Ddrivers=true "-Ddpdk_sdk_headers=$sdk")
	else
		cat "$sdk_log" >&2
		log_result fuzz_vnet SKIP 0
		echo "fuzz: fuzz_vnet skipped: no DPDK driver-SDK headers"
		kept=()
		for f in "${FUZZERS[@]}"; do
			[ "$f" = fuzz_vnet ] || kept+=("$f")
		done
		FUZZERS=("${kept[@]}")
	fi
	rm -f "$sdk_log"
	[ ${#FUZZERS[@]} -gt 0 ] || exit 77
fi

step "building the fuzzers in $BUILD_DIR"
if ! CC=clang meson_setup "$BUILD_DIR" -Dfuzz=true -Dbuildtype=debug \
	-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
	-Dtests=false "${DRIVER_OPTS[@]}" >"$BUILD_DIR.setup.log" 2>&1; then
	cat "$BUILD_DIR.setup.log" >&2
	log_result "fuzz build" FAIL 0
	exit 1
fi
rm -f "$BUILD_DIR.setup.log"
if ! nice ninja -C "$BUILD_DIR" "${FUZZERS[@]/#/app/fuzz/}"; then
	log_result "fuzz build" FAIL 0
	exit 1
fi

# --- run -------------------------------------------------------------------

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
KEEP=0
if [ -n "$OUT" ]; then
	mkdir -p "$OUT"
	KEEP=1
else
	OUT=$(mktemp -d /tmp/vu-fuzz-XXXXXX)
fi
failed=0
total_execs=0

# fuzz_one FUZZER: its committed inputs once, then TIME seconds of fuzzing;
# output for the terminal on stdout, results in $OUT/FUZZER.results, the
# executions in $OUT/FUZZER.execs; exit status 1 if a check failed.
fuzz_one() {
	local f=$1 bin=$BUILD_DIR/app/fuzz/$1 start res execs cov
	local -a inputs=()
	local d

	RESULTS=$OUT/$f.results
	: > "$RESULTS"
	echo 0 > "$OUT/$f.execs"
	for d in app/fuzz/corpus/$f app/fuzz/regressions/$f; do
		[ -d "$d" ] && inputs+=("$d"/*)
	done

	# every committed input once: a fixed finding that comes back fails here
	start=$SECONDS
	if nice "$bin" -timeout=20 -rss_limit_mb=2048 "${inputs[@]}" \
		>"$OUT/$f.replay.log" 2>&1; then
		log_result "$f replay (${#inputs[@]} inputs)" OK $((SECONDS - start))
	else
		tail -40 "$OUT/$f.replay.log"
		log_result "$f replay (${#inputs[@]} inputs)" FAIL $((SECONDS - start))
		return 1
	fi

	[ "$TIME" -gt 0 ] || return 0
	mkdir -p "$OUT/$f.corpus"
	cp -n app/fuzz/corpus/"$f"/* "$OUT/$f.corpus/"
	start=$SECONDS
	if nice "$bin" -max_total_time="$TIME" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$OUT/$f-" \
		"$OUT/$f.corpus" >"$OUT/$f.log" 2>&1; then
		res=OK
	else
		tail -60 "$OUT/$f.log"
		echo "fuzz: $f found something: see $OUT/$f.log and $OUT/$f-*"
		res=FAIL
	fi
	execs=$(awk '/stat::number_of_executed_units/ { n = $2 } END { print n }' \
		"$OUT/$f.log")
	cov=$(grep -Eo 'cov: [0-9]+' "$OUT/$f.log" | tail -1 | cut -d' ' -f2)
	echo "fuzz: $f: ${execs:-?} executions in $((SECONDS - start))s," \
		"coverage ${cov:-?} edges, corpus $(find "$OUT/$f.corpus" -type f | wc -l) inputs"
	echo "${execs:-0}" > "$OUT/$f.execs"
	log_result "$f ${TIME}s, ${execs:-?} executions" $res $((SECONDS - start))
	[ $res = OK ]
}

# JOBS fuzzers at once (libFuzzer runs on one CPU); their output and
# results in the order of FUZZERS. Interrupted, the script stops them
# (a background job of a script ignores SIGINT).
declare -A PIDS
stop_fuzzers() {
	local p
	for p in "${PIDS[@]}"; do
		pkill -TERM -P "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
}
trap 'stop_fuzzers; exit 130' INT
trap 'stop_fuzzers; exit 143' TERM
for f in "${FUZZERS[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
		wait -n || true
	done
	fuzz_one "$f" >"$OUT/$f.out" 2>&1 &
	PIDS[$f]=$!
done
for f in "${FUZZERS[@]}"; do
	rc=0
	wait "${PIDS[$f]}" || rc=$?
	cat "$OUT/$f.out"
	[ -z "$LOG" ] || cat "$OUT/$f.results" >> "$LOG"
	total_execs=$((total_execs + $(cat "$OUT/$f.execs" 2>/dev/null || echo 0)))
	if [ $rc -ne 0 ]; then
		failed=1
		KEEP=1
	fi
done

echo "fuzz: $total_execs executions in all"
if [ $KEEP = 0 ]; then
	rm -rf "$OUT"
else
	echo "fuzz: logs, corpora and findings kept in $OUT"
fi
exit $failed

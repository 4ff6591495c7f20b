#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
#
# Run every test of the project: the one command for a developer and for CI,
# from a fresh clone on a fresh Debian 12 machine (as root it installs what
# is missing; otherwise it says what to install).
#
#   1. install missing Debian packages (root only)
#   2. reserve hugepages if none are configured (best effort; the tests
#      also run without)
#   3. fetch the DPDK driver-SDK headers the PMDs need
#      (devtools/get-dpdk-sdk-headers.sh); without them the PMDs are left out
#   4. build the default configuration (-Dwerror=true) and run `meson test`
#   5. run devtools/bench.sh --quick as a smoke test of the benchmark: it
#      fails only when a case FAILED (a testpmd died, a port did not start,
#      no packets, the control-path part broke), never because of a figure
#   6. build an ASan+UBSan configuration and run `meson test` there too,
#      but for the suite sanitizer_skip (tests whose code other tests run
#      there; app/test/*/meson.build says which)
#   6b. fuzzing (devtools/fuzz.sh): replay the committed fuzz inputs and run
#      each libFuzzer harness for VU_FUZZ_TIME seconds (clang, ASan+UBSan)
#   7. check the style of the change (devtools/check-style.sh: clang-format
#      on the lines it touched) and build the documentation with warnings
#      as errors (devtools/build-docs.sh: sphinx -W, graphviz pictures,
#      doxygen: any warning, or an installed header left out of the API
#      reference, fails it)
#   8. print one line per test and, as the very last line,
#      "N passed, N failed, N skipped" (timeouts count as failed);
#      exit non-zero if anything failed
#
# With CI=true (.ci/run) nothing may be left out quietly: a failure to get
# the driver-SDK headers (no PMDs), a skipped test (the VM tests skip when
# QEMU or the guest cannot be built, the pair tests when testpmd is
# missing) and a run without the PMD, pair or VM tests all count as
# failures.
#
# Environment:
#   VU_TEST_QUICK=1               skip the sanitizer build and its tests
#   VU_BUILD_DIR=dir              default build dir (default: build)
#   VU_ASAN_BUILD_DIR=dir         sanitizer build dir (default: build-asan)
#   VU_ASAN_TIMEOUT_MULTIPLIER=N  meson --timeout-multiplier for the
#                                 sanitizer run (default: 3; ASan is slower)
#   VU_SKIP_INSTALL=1             do not check/install Debian packages
#   VU_TEST_STYLE=0               skip the style check
#   VU_TEST_DOCS=0                skip the documentation build
#   VU_TEST_FUZZ=0                skip the fuzzers (with VU_TEST_QUICK=1
#                                 they only replay their committed inputs)
#   VU_FUZZ_TIME=N                seconds of fuzzing per fuzzer (default 12)
#   VU_TEST_BENCH=0               skip the benchmark smoke test
#   VU_TEST_JOBS=N                how many of the tests that may run side
#                                 by side (is_parallel: true, the ones that
#                                 mostly wait) meson runs at once (default
#                                 4, whatever the CPUs; the others always
#                                 run alone)

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
REPO_ROOT=$(pwd)

BUILD_DIR=${VU_BUILD_DIR:-build}
ASAN_BUILD_DIR=${VU_ASAN_BUILD_DIR:-build-asan}
ASAN_TIMEOUT_MULTIPLIER=${VU_ASAN_TIMEOUT_MULTIPLIER:-3}

. devtools/common.sh

# build LABEL DIR OPTION...: returns non-zero (and records it) on failure.
build() {
	local label=$1 dir=$2
	shift 2
	step "building ($label) in $dir"
	if ! meson_setup "$dir" "$@"; then
		EXTRA_FAILURES+=("$label: meson setup failed")
		return 1
	fi
	if ! ninja -C "$dir"; then
		EXTRA_FAILURES+=("$label: build failed")
		return 1
	fi
}

# run_tests LABEL DIR MESON-TEST-OPTION...
run_tests() {
	local label=$1 dir=$2 rc=0
	local log=$dir/meson-logs/testlog.json
	shift 2
	step "running tests ($label)"
	# A run with no tests writes no log: never count a stale one.
	rm -f "$log"
	meson test -C "$dir" --no-rebuild --print-errorlogs \
		--num-processes "${VU_TEST_JOBS:-4}" "$@" || rc=$?
	if [ -f "$log" ]; then
		TESTLOGS+=("$label=$log")
	fi
	if [ $rc -ne 0 ]; then
		# Failed tests are counted from the log; this only catches a
		# runner that failed without logging any failed test.
		EXTRA_FAILURES+=("$label: meson test exited with status $rc")
	fi
}

# --- 6b. fuzzing -------------------------------------------------------------

# devtools/fuzz.sh logs one line per check (replay, run) in meson's testlog
# format; exit 77 means it skipped (no libFuzzer) and said why.
run_fuzz() {
	local time=${VU_FUZZ_TIME:-12} log rc=0

	if [ "${VU_TEST_QUICK:-0}" = 1 ]; then
		time=0
	fi
	log=$(mktemp /tmp/vu-fuzz-testlog-XXXXXX)
	FUZZ_TESTLOG=$log	# read by summarize, removed on exit
	trap 'rm -f "$FUZZ_TESTLOG"' EXIT
	step "fuzzing (devtools/fuzz.sh -t $time)"
	devtools/fuzz.sh -t "$time" -l "$log" || rc=$?
	if [ -s "$log" ]; then
		TESTLOGS+=("fuzz=$log")
	fi
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && ! grep -qs '"FAIL"' "$log"; then
		EXTRA_FAILURES+=("fuzz: devtools/fuzz.sh exited with status $rc")
	fi
}

# --- 7. style and documentation ---------------------------------------------

# run_check LABEL COMMAND...: a check outside meson test; exit status 0
# passes, 77 skips, anything else fails.
CHECKS=()
run_check() {
	local label=$1 rc=0
	shift
	step "$label: $*"
	"$@" || rc=$?
	case $rc in
	0) CHECKS+=("PASS $label");;
	77) CHECKS+=("SKIP $label");;
	*) EXTRA_FAILURES+=("$label: $* exited with status $rc");;
	esac
}

# --- 5. benchmark smoke test ----------------------------------------------

# bench_smoke LABEL DIR: devtools/bench.sh --quick on the build in DIR,
# counted as one test (a JSON line like meson's testlog, for summarize).
bench_smoke() {
	local label=$1 dir=$2 log=$2/meson-logs/bench-quick.json rc=0 res t0=$SECONDS
	step "benchmark smoke test ($label): devtools/bench.sh --quick"
	rm -f "$log"
	if [ "${VU_TEST_BENCH:-1}" = 0 ]; then
		echo "VU_TEST_BENCH=0: skipped"
		res=SKIP
	elif [ "${DRIVER_OPTS[0]}" = -Ddrivers=false ]; then
		echo "skipped: the PMDs were not built"
		res=SKIP
	elif ! command -v "${VU_TESTPMD:-dpdk-testpmd}" >/dev/null; then
		echo "skipped: no dpdk-testpmd"
		res=SKIP
	else
		rm -rf "$dir/bench-quick"
		VU_BUILD_DIR=$dir VU_BENCH_SKIP_BUILD=1 \
			devtools/bench.sh --quick -o "$dir/bench-quick" || rc=$?
		# 1: some case FAILED; anything else: the script itself broke
		if [ $rc -eq 0 ]; then res=OK; else res=FAIL; fi
	fi
	printf '{"name": "bench.sh --quick", "result": "%s", "duration": %d}\n' \
		"$res" $((SECONDS - t0)) >"$log"
	TESTLOGS+=("$label=$log")
}

# --- 8. summary ------------------------------------------------------------

# Prints one line per test and the final "N passed, N failed, N skipped".
# Exit status 1 if anything failed.
summarize() {
	step "summary"
	local ci=0
	is_ci && ci=1
	python3 - "$ci" "${#EXTRA_FAILURES[@]}" "${EXTRA_FAILURES[@]}" \
		"${#CHECKS[@]}" "${CHECKS[@]}" "${TESTLOGS[@]}" <<'EOF'
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}
# Everything else (FAIL, TIMEOUT, ERROR, INTERRUPT, UNEXPECTEDPASS, and
# anything unknown) is a failure.

ci = sys.argv[1] == "1"
n_extra = int(sys.argv[2])
extra = sys.argv[3:3 + n_extra]
n_checks = int(sys.argv[3 + n_extra])
checks = sys.argv[4 + n_extra:4 + n_extra + n_checks]
logs = sys.argv[4 + n_extra + n_checks:]
# In CI, each run must have run tests of these kinds (name substrings):
# without them the PMDs or the VM were not built, or not run. Sanitizer
# builds have no VM tests (a -fsanitize PMD cannot be loaded into Debian's
# testpmd under QEMU's guest tests; see app/test/vm/meson.build).
REQUIRED = {
    "default": [" / nic_", ":pair / ", ":vm / vm_basic_"],
    "asan": [" / nic_", ":pair / "],
}

passed = failed = skipped = 0
for c in checks:
    word, _, label = c.partition(" ")
    if word == "PASS":
        passed += 1
    else:
        skipped += 1
    print(f"{word} [check] {label}")
log_failures = {}
for spec in logs:
    label, _, path = spec.partition("=")
    names = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                t = json.loads(line)
                res = str(t.get("result", "?"))
                name = str(t.get("name", "?"))
                dur = t.get("duration")
            except (ValueError, AttributeError):
                res, name, dur = "ERROR", f"{path}:{lineno} (unreadable)", None
            names.append(name)
            if res in PASS:
                passed += 1
                word = "PASS"
            elif res in SKIP and not ci:
                skipped += 1
                word = "SKIP"
            elif res in SKIP:
                failed += 1
                log_failures[label] = log_failures.get(label, 0) + 1
                word = "FAIL"
                res = "SKIP, a failure with CI=true"
            else:
                failed += 1
                log_failures[label] = log_failures.get(label, 0) + 1
                word = "FAIL"
            d = f" {dur:.2f}s" if isinstance(dur, (int, float)) else ""
            extra_res = "" if res in ("OK", "SKIP", "FAIL") else f" ({res})"
            print(f"{word} [{label}] {name}{extra_res}{d}")
    for want in REQUIRED.get(label, []) if ci else []:
        if not any(want in n for n in names):
            extra.append(f"{label}: no test matching '{want.strip()}' ran "
                         "(CI=true: the PMDs or the VM tests were not built "
                         "or not run)")

for e in extra:
    label, _, what = e.partition(": ")
    # "meson test exited with status N" alongside failed tests in that
    # run's log is the same failure: do not count it twice.
    if what.startswith("meson test exited") and log_failures.get(label):
        continue
    failed += 1
    print(f"FAIL [{label}] {what}")

print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
EOF
}

# --- main ------------------------------------------------------------------

step "dpdk-vfio-user tests in $REPO_ROOT"
ensure_packages
setup_hugepages
configure_drivers

# relocatable pkg-config file: the install test uses the installation
# from a DESTDIR (a new build directory has it by default, an old one not)
if build default "$BUILD_DIR" -Dwerror=true -Dpkgconfig.relocatable=true \
	"${DRIVER_OPTS[@]}"; then
	run_tests default "$BUILD_DIR"
	bench_smoke bench "$BUILD_DIR"
fi

if [ "${VU_TEST_QUICK:-0}" = 1 ]; then
	step "VU_TEST_QUICK=1: skipping the sanitizer build"
else
	if build asan "$ASAN_BUILD_DIR" -Dbuildtype=debug \
		-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true \
		"${DRIVER_OPTS[@]}"; then
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
			run_tests asan "$ASAN_BUILD_DIR" \
			--timeout-multiplier "$ASAN_TIMEOUT_MULTIPLIER" \
			--no-suite sanitizer_skip
	fi
fi

if [ "${VU_TEST_FUZZ:-1}" = 1 ]; then
	run_fuzz
fi
if [ "${VU_TEST_STYLE:-1}" != 0 ]; then
	run_check style devtools/check-style.sh
fi
if [ "${VU_TEST_DOCS:-1}" != 0 ]; then
	run_check docs devtools/build-docs.sh
fi

summarize

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
#      no packets), never because of a figure
#   6. build an ASan+UBSan configuration and run `meson test` there too
#   7. print one line per test and, as the very last line,
#      "N passed, N failed, N skipped" (timeouts count as failed);
#      exit non-zero if anything failed
#
# Environment:
#   VU_TEST_QUICK=1               skip the sanitizer build and its tests
#   VU_BUILD_DIR=dir              default build dir (default: build)
#   VU_ASAN_BUILD_DIR=dir         sanitizer build dir (default: build-asan)
#   VU_ASAN_TIMEOUT_MULTIPLIER=N  meson --timeout-multiplier for the
#                                 sanitizer run (default: 3; ASan is slower)
#   VU_SKIP_INSTALL=1             do not check/install Debian packages
#   VU_TEST_BENCH=0               skip the benchmark smoke test

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
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@" || rc=$?
	if [ -f "$log" ]; then
		TESTLOGS+=("$label=$log")
	fi
	if [ $rc -ne 0 ]; then
		# Failed tests are counted from the log; this only catches a
		# runner that failed without logging any failed test.
		EXTRA_FAILURES+=("$label: meson test exited with status $rc")
	fi
}

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

# --- 7. summary ------------------------------------------------------------

# Prints one line per test and the final "N passed, N failed, N skipped".
# Exit status 1 if anything failed.
summarize() {
	step "summary"
	python3 - "${#EXTRA_FAILURES[@]}" "${EXTRA_FAILURES[@]}" "${TESTLOGS[@]}" <<'EOF'
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}
# Everything else (FAIL, TIMEOUT, ERROR, INTERRUPT, UNEXPECTEDPASS, and
# anything unknown) is a failure.

n_extra = int(sys.argv[1])
extra = sys.argv[2:2 + n_extra]
logs = sys.argv[2 + n_extra:]

passed = failed = skipped = 0
log_failures = {}
for spec in logs:
    label, _, path = spec.partition("=")
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
            if res in PASS:
                passed += 1
                word = "PASS"
            elif res in SKIP:
                skipped += 1
                word = "SKIP"
            else:
                failed += 1
                log_failures[label] = log_failures.get(label, 0) + 1
                word = "FAIL"
            d = f" {dur:.2f}s" if isinstance(dur, (int, float)) else ""
            extra_res = "" if res in ("OK", "SKIP", "FAIL") else f" ({res})"
            print(f"{word} [{label}] {name}{extra_res}{d}")

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

if build default "$BUILD_DIR" -Dwerror=true "${DRIVER_OPTS[@]}"; then
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
			--timeout-multiplier "$ASAN_TIMEOUT_MULTIPLIER"
	fi
fi

summarize

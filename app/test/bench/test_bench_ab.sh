#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpdk-vfio-user authors
#
# test_bench_ab.sh SRCDIR BUILDDIR: devtools/bench-ab.sh end to end, the
# build against itself, one short round: both builds' pairs forward and
# give rates, the summary has them, the usage errors exit 2. Not timed: a
# benchmark never fails on a number.
set -eu
src=$1 build=$2
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

for bad in "-r 0" "-d 2" "-t loop" "-s 59" "-m some"; do
	rc=0
	# shellcheck disable=SC2086
	"$src/devtools/bench-ab.sh" $bad "$build" "$build" >"$w/bad.txt" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "bench-ab.sh $bad exited $rc, expected 2"
done
rc=0
"$src/devtools/bench-ab.sh" "$w/none" "$build" >"$w/bad.txt" 2>&1 || rc=$?
[ $rc = 2 ] || fail "a build directory that is not one: exit $rc, expected 2"

rc=0
timeout 100 "$src/devtools/bench-ab.sh" -r 1 -d 4 -o "$w/lines" "$build" "$build" \
	>"$w/out.txt" 2>&1 || rc=$?
cat "$w/out.txt"
[ $rc = 0 ] || fail "bench-ab.sh exited $rc"
for b in A B; do
	n=$(sed -n "s/^round 1\/1 build $b: \([0-9]*\) lines.*/\1/p" "$w/out.txt")
	if [ -z "$n" ] || [ "$n" -lt 1 ]; then fail "build $b: no rate lines"; fi
	[ "$(grep -c "^$b 1 " "$w/lines")" = "$n" ] || fail "build $b: -o file"
done
# the "all" line: a median above zero for both builds
grep -Eq '^all +[0-9.]*[1-9][0-9.]* \(.*\) +[0-9.]*[1-9][0-9.]* \(.*\) +[0-9.]+$' \
	"$w/out.txt" || fail "no medians for both builds"
if pgrep -f "vu-bench-ab" >/dev/null; then fail "processes left behind"; fi
echo "OK: bench-ab.sh"

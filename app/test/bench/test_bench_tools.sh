#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Copyright(c) 2026 The dpdk-vfio-user authors
#
# test_bench_tools.sh SRCDIR: devtools/bench-report.py and
# devtools/bench-farnear.py on a results.csv whose figures are known: a
# REDONE line (a window the near gate measured again) stays out of the
# summary, a far figure counts in far_cpu_runs and not in the near median,
# and the far/near ratios are the expected ones; in a run with probes
# during the windows (c2c_during_ns), those alone judge their figures,
# the others fall back on their probes before and after, and the run's
# lowest probe may be one taken during a window. And
# devtools/bench-ab-report.py on testpmd Rx-pps lines and probes whose
# states are known.
set -eu
src=$1
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$w/results.csv" <<'CSV'
round,mode,variant,test,size,mpps,status,reason,window_s,rx_packets,be_cpu_pct,fe_cpu_pct,c2c_before_ns,c2c_after_ns
1,huge,vfio-user,fe-to-be,64,40.000,ok,"",1,40000000,100,100,60,60
1,huge,vhost-user-packed-inorder,fe-to-be,64,20.000,ok,"",1,20000000,100,100,60,60
1,huge,memif,fe-to-be,64,20.000,ok,"",1,20000000,100,100,60,60
2,huge,vfio-user,fe-to-be,64,10.000,REDONE,"the CPUs far (300 ns; 300 ns): measured again",1,10000000,100,100,300,300
2,huge,vfio-user,fe-to-be,64,42.000,ok,"",1,42000000,100,100,60,60
2,huge,vhost-user-packed-inorder,fe-to-be,64,21.000,ok,"",1,21000000,100,100,60,60
2,huge,memif,fe-to-be,64,22.000,ok,"",1,22000000,100,100,60,60
3,huge,vfio-user,fe-to-be,64,20.000,ok,"",1,20000000,100,100,300,60
3,huge,vhost-user-packed-inorder,fe-to-be,64,10.000,ok,"",1,10000000,100,100,60,60
3,huge,memif,fe-to-be,64,5.000,ok,"",1,5000000,100,100,60,400
CSV

python3 "$src/devtools/bench-report.py" "$w/results.csv" "$w/summary.csv" >"$w/report.txt" ||
	fail "bench-report.py exited $?"
# mode,test,size,variant,runs,failed,median,min,max,x_vhost,x_memif,...
line=$(grep '^huge,fe-to-be,64,vfio-user,' "$w/summary.csv") ||
	fail "no vfio-user line in summary.csv"
IFS=, read -r _ _ _ _ runs failed med lo hi xv xm _ <<<"$line"
[ "$runs" = 3 ] || fail "runs $runs, expected 3 (the REDONE line left out)"
[ "$failed" = 0 ] || fail "failed $failed, expected 0 (REDONE is no failure)"
[ "$med" = 40.000 ] && [ "$lo" = 20.000 ] && [ "$hi" = 42.000 ] ||
	fail "median/min/max $med/$lo/$hi, expected 40.000/20.000/42.000"
# per-round ratios to vhost-user: 2.0, 2.0, 2.0; to memif: 2.0, 1.909, 4.0
[ "$xv" = 2.000 ] || fail "x vhost $xv, expected 2.000"
[ "$xm" = 2.000 ] || fail "x memif $xm, expected 2.000"
near=$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    if r["variant"] == "vfio-user":
        print(r["far_cpu_runs"], r["median_near_mpps"])' "$w/summary.csv")
[ "$near" = "1 41.000" ] ||
	fail "far_cpu_runs and median_near_mpps '$near', expected '1 41.000'"

python3 "$src/devtools/bench-farnear.py" "$w/results.csv" >"$w/farnear.txt" ||
	fail "bench-farnear.py exited $?"
cat "$w/farnear.txt"
# vfio-user: 10 and 20 against the near median 41: 0.24, 0.49 -> 0.37,
# quartiles (inclusive, within the figures) 0.30 and 0.43
# memif: 5 against 21 -> 0.24; vhost-user: no far figure
grep -Eq '^vfio-user +0\.37 +0\.30-0\.43 +2$' "$w/farnear.txt" ||
	fail "vfio-user far/near line"
grep -Eq '^memif +0\.24 +0\.24-0\.24 +1$' "$w/farnear.txt" ||
	fail "memif far/near line"
grep -q '^vhost-user' "$w/farnear.txt" &&
	fail "vhost-user has no far figure, yet is listed"

cat >"$w/during.csv" <<'CSV'
round,mode,variant,test,size,mpps,status,reason,window_s,rx_packets,be_cpu_pct,fe_cpu_pct,c2c_before_ns,c2c_after_ns,c2c_during_ns
1,huge,vfio-user,fe-to-be,64,40.000,ok,"",1,40000000,100,100,60,60,50
1,huge,vhost-user-packed-inorder,fe-to-be,64,20.000,ok,"",1,20000000,100,100,60,60,61
1,huge,memif,fe-to-be,64,20.000,ok,"",1,20000000,100,100,60,60,60
2,huge,vfio-user,fe-to-be,64,42.000,ok,"",1,42000000,100,100,300,300,65
2,huge,vhost-user-packed-inorder,fe-to-be,64,21.000,ok,"",1,21000000,100,100,60,60,60
2,huge,memif,fe-to-be,64,22.000,ok,"",1,22000000,100,100,60,60,60
3,huge,vfio-user,fe-to-be,64,15.000,ok,"",1,15000000,100,100,60,60,350
3,huge,vhost-user-packed-inorder,fe-to-be,64,10.000,ok,"",1,10000000,100,100,110,60,
3,huge,memif,fe-to-be,64,5.000,ok,"",1,5000000,100,100,60,400,
CSV
python3 "$src/devtools/bench-report.py" "$w/during.csv" "$w/during-summary.csv" >"$w/report.txt" ||
	fail "bench-report.py exited $? (probes during the windows)"
# vfio-user: round 2 near by its probe during the window (its idle probes
# far), round 3 far by it (its idle probes near); vhost-user: round 3 far
# by its probe before (110 ns > 2 x the lowest, 50 ns, a probe during a
# window); memif: round 3 far by its probe after
far=$(python3 -c 'import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    print(r["variant"], r["far_cpu_runs"], r["median_near_mpps"])' "$w/during-summary.csv")
[ "$far" = "vfio-user 1 41.000
vhost-user-packed-inorder 1 20.500
memif 1 21.000" ] || fail "far_cpu_runs and median_near_mpps with probes during the windows: '$far'"
python3 "$src/devtools/bench-farnear.py" "$w/during.csv" >"$w/farnear.txt" ||
	fail "bench-farnear.py exited $? (probes during the windows)"
cat "$w/farnear.txt"
# 15/41, 10/20.5, 5/21
grep -Eq '^vhost-user-packed-inorder +0\.49 +0\.49-0\.49 +1$' "$w/farnear.txt" &&
	grep -Eq '^vfio-user +0\.37 +0\.37-0\.37 +1$' "$w/farnear.txt" &&
	grep -Eq '^memif +0\.24 +0\.24-0\.24 +1$' "$w/farnear.txt" ||
	fail "far/near lines with probes during the windows"

# devtools/bench-ab-report.py: testpmd Rx-pps lines (the first left out,
# start-up), each with the probes of its second: near, far, then mixed
printf '99.9 100\n101.2 400\n102.2 100\n102.6 400\n' >"$w/probes"
for b in A:40:15:30 B:44:18:20; do
	IFS=: read -r name n f m <<<"$b"
	printf '%s  Rx-pps: %d Rx-bps: 1\n' 100.0 1000000 101.0 "${n}000000" \
		102.0 "${f}000000" 103.0 "${m}000000" >"$w/rx-$name.log"
	python3 "$src/devtools/bench-ab-report.py" pair "$w/rx-$name.log" \
		"$w/probes" "$name" 1 >>"$w/ab-lines" ||
		fail "bench-ab-report.py pair exited $?"
done
[ "$(cat "$w/ab-lines")" = "A 1 40.00 100
A 1 15.00 400
A 1 30.00 100 400
B 1 44.00 100
B 1 18.00 400
B 1 20.00 100 400" ] || fail "bench-ab-report.py pair lines: $(cat "$w/ab-lines")"
python3 "$src/devtools/bench-ab-report.py" summary -o "$w/ab-states" \
	"$w/ab-lines" >"$w/ab.txt" || fail "bench-ab-report.py summary exited $?"
cat "$w/ab.txt"
grep -Eq '^near +40\.0 \(40\.0-40\.0, 1\) +44\.0 \(44\.0-44\.0, 1\) +1\.100$' "$w/ab.txt" &&
	grep -Eq '^far +15\.0 .* +18\.0 .* +1\.200$' "$w/ab.txt" &&
	grep -Eq '^mixed +30\.0 .* +20\.0 .* +0\.667$' "$w/ab.txt" &&
	grep -Eq '^all +30\.0 \(15\.0-40\.0, 3\) +20\.0 \(18\.0-44\.0, 3\) +0\.667$' "$w/ab.txt" &&
	grep -q '^lowest probe: 100 ns' "$w/ab.txt" ||
	fail "bench-ab-report.py summary"
[ "$(cut -d' ' -f4 "$w/ab-states" | tr '\n' ' ')" = "near far mixed near far mixed " ] ||
	fail "bench-ab-report.py states: $(cat "$w/ab-states")"
echo "OK: bench-report.py, bench-farnear.py and bench-ab-report.py"

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""Summarize devtools/bench.sh results.

Reads results.csv (one line per figure and round), prints a table of
median, min and max Mpps per mode, test, size and variant with the ratios
to the reference variants, and writes summary.csv.

"runs" counts the figures measured; "~N" says that N of them had a
forwarding lcore that got less than --cpu-warn percent of its CPU during
the window (other work on the machine took the rest).

"!N" says that N of them were measured while the cache-line round trip
between the two CPUs (devtools/bench-c2c.c, during each window; in older
runs before and after it) was over --c2c-far times the run's lowest: on
a virtual machine the host sometimes runs the two vCPUs far apart, and
every transport loses then (the rule: devtools/bench_c2c.py).
summary.csv also has the median of the other runs (median_near_mpps).

A ratio is computed per round (same round, mode, test and size: the two
figures were measured minutes apart at most, under the same machine load)
and the median of those per-round ratios is reported.

--ref-offload OFFLOADED=INPROC adds one more ratio column, for the
OFFLOADED variant only: its figure over INPROC's (the data path offloaded
to a vhost-user engine against the device's own, in-process data path).

    bench-report.py [--ref-vhost NAME] [--ref-memif NAME]
                    [--ref-offload OFFLOADED=INPROC] RESULTS.csv SUMMARY.csv
"""

import argparse
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_c2c  # noqa: E402

TEST_ORDER = {"fe-to-be": 0, "be-to-fe": 1, "loop": 2}
MODE_ORDER = {"huge": 0, "nohuge": 1}


def fnum(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref-vhost", default="vhost-user-packed-inorder")
    ap.add_argument("--ref-memif", default="memif")
    ap.add_argument("--ref-offload", default="",
                    help="OFFLOADED=INPROC: a ratio column for OFFLOADED")
    ap.add_argument("--cpu-warn", type=float, default=90)
    ap.add_argument("--c2c-far", type=float, default=bench_c2c.FAR)
    ap.add_argument("results")
    ap.add_argument("summary")
    a = ap.parse_args()
    off_v, _, off_ref = a.ref_offload.partition("=")

    rows = list(csv.DictReader(open(a.results, newline="")))
    if off_v and not any(r["variant"] == off_v for r in rows):
        off_v = ""      # not in this run: no column
    # the lowest cache-line round trip between the two CPUs in the run
    c2c_min = bench_c2c.lowest(rows)
    variants = []
    for r in rows:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    vorder = {v: i for i, v in enumerate(variants)}

    # (round, mode, test, size, variant) -> mpps (ok figures only)
    val = {}
    groups = {}
    for r in rows:
        key = (r["mode"], r["test"], int(r["size"]), r["variant"])
        g = groups.setdefault(key, {"ok": [], "failed": 0, "skipped": 0,
                                    "reasons": [], "lowcpu": 0, "far": 0,
                                    "near": []})
        if r["status"] == "ok" and fnum(r["mpps"]) is not None:
            g["ok"].append(float(r["mpps"]))
            cpus = [fnum(r.get(c)) for c in ("be_cpu_pct", "fe_cpu_pct")]
            if any(c is not None and c < a.cpu_warn for c in cpus):
                g["lowcpu"] += 1
            if bench_c2c.is_far(r, c2c_min, a.c2c_far):
                g["far"] += 1
            else:
                g["near"].append(float(r["mpps"]))
            val[(r["round"],) + key] = float(r["mpps"])
        elif r["status"] == "REDONE":
            continue  # replaced by the next line of the same figure
        elif r["status"] == "SKIPPED":
            g["skipped"] += 1
            g["reasons"].append(r["reason"])
        else:
            g["failed"] += 1
            g["reasons"].append(r["reason"])

    def ratio(key, ref):
        mode, test, size, variant = key
        rs = []
        for (rnd, m, t, s, v), x in val.items():
            if (m, t, s, v) != key:
                continue
            y = val.get((rnd, m, t, s, ref))
            if y:
                rs.append(x / y)
        return statistics.median(rs) if rs else None

    keys = sorted(groups, key=lambda k: (MODE_ORDER.get(k[0], 9), k[0],
                                         TEST_ORDER.get(k[1], 9), k[2],
                                         vorder[k[3]]))
    out = csv.writer(open(a.summary, "w", newline=""))
    out.writerow(["mode", "test", "size", "variant", "runs", "failed",
                  "median_mpps", "min_mpps", "max_mpps",
                  "x_" + a.ref_vhost, "x_" + a.ref_memif]
                 + (["x_" + off_ref] if off_v else [])
                 + ["low_cpu_runs", "far_cpu_runs", "median_near_mpps", "note"])
    hdr = (f"  {'mode':6} {'test':8} {'size':>5}  {'variant':26} "
           f"{'median':>7} {'min':>7} {'max':>7} {'near':>7} {'x vhost':>8}"
           f" {'x memif':>8}" + (f" {'x inproc':>8}" if off_v else "")
           + f" {'runs':>7}")
    print(hdr)
    last = None
    for k in keys:
        g = groups[k]
        mode, test, size, variant = k
        if last is not None and last != (mode, test, size):
            print()
        last = (mode, test, size)
        rv = ratio(k, a.ref_vhost)
        rm = ratio(k, a.ref_memif)
        ro = ratio(k, off_ref) if off_v and variant == off_v else None
        note = ""
        near = f"{statistics.median(g['near']):7.2f}" if g["near"] else f"{'-':>7}"
        if g["ok"]:
            med = statistics.median(g["ok"])
            lo, hi = min(g["ok"]), max(g["ok"])
            figs = f"{med:7.2f} {lo:7.2f} {hi:7.2f} {near}"
        else:
            med = lo = hi = None
            figs = f"{'-':>7} {'-':>7} {'-':>7} {near}"
        if g["failed"]:
            note = f"FAILED {g['failed']}x: {g['reasons'][-1]}"
        elif g["skipped"]:
            note = f"SKIPPED: {g['reasons'][-1]}"
        rvs = f"{rv:8.2f}" if rv is not None else f"{'-':>8}"
        rms = f"{rm:8.2f}" if rm is not None else f"{'-':>8}"
        if off_v:
            rms += f" {ro:8.2f}" if ro is not None else f" {'-':>8}"
        runs = (f"{len(g['ok'])}" + (f"~{g['lowcpu']}" if g["lowcpu"] else "")
                + (f"!{g['far']}" if g["far"] else ""))
        print(f"  {mode:6} {test:8} {size:5}  {variant:26} {figs} {rvs} {rms}"
              f" {runs:>7}" + (f"  {note}" if note else ""))
        out.writerow([mode, test, size, variant, len(g["ok"]), g["failed"],
                      "" if med is None else f"{med:.3f}",
                      "" if lo is None else f"{lo:.3f}",
                      "" if hi is None else f"{hi:.3f}",
                      "" if rv is None else f"{rv:.3f}",
                      "" if rm is None else f"{rm:.3f}"]
                     + (["" if ro is None else f"{ro:.3f}"] if off_v else [])
                     + [g["lowcpu"], g["far"],
                      f"{statistics.median(g['near']):.3f}" if g["near"] else "",
                      note])
    print(f"\n  runs: figures measured; ~N: N of them with a forwarding lcore that got"
          f" less than {a.cpu_warn:.0f} % of its CPU (other load);")
    if c2c_min:
        print(f"  !N: N of them while the CPU 0<->1 cache-line round trip was over"
              f" {a.c2c_far:g}x the run's lowest ({c2c_min:.0f} ns): the machine's two"
              f" CPUs far apart;\n  near: the median of the runs without '!'")
    return 0


if __name__ == "__main__":
    sys.exit(main())

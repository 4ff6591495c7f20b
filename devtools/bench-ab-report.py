#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""The figures of devtools/bench-ab.sh.

  bench-ab-report.py pair RX_LOG PROBES BUILD ROUND
      one line "BUILD ROUND MPPS PROBE..." per Rx-pps line of a testpmd
      log (--stats-period 1, each line prefixed with its time), with the
      probes (lines "TIME NS" of bench-c2c --every) taken in its second;
      the first rate (start-up) and rates outside the probes' span are
      left out.
  bench-ab-report.py summary [--c2c-far F] [-o OUT] LINES
      the medians (min-max, lines) per build and state of the two CPUs
      (devtools/bench_c2c.py: near, far, mixed, unknown without probes)
      and the ratio B/A; OUT gets every line with its state.
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_c2c  # noqa: E402

STATES = ("near", "far", "mixed", "unknown", "all")


def pair(rx_log, probe_file, build, rnd):
    rates = []
    for line in open(rx_log, errors="replace"):
        p = line.split()
        if "Rx-pps:" in p[:-1]:
            rates.append((float(p[0]), int(p[p.index("Rx-pps:") + 1]) / 1e6))
    probes = []
    for line in open(probe_file):
        p = line.split()
        if len(p) == 2 and p[1].isdigit() and int(p[1]) > 0:
            probes.append((float(p[0]), int(p[1])))
    for (t0, _), (t, mpps) in zip(rates, rates[1:]):
        if probes and not (probes[0][0] <= t0 and t <= probes[-1][0] + 1):
            continue
        ps = [v for (pt, v) in probes if t0 - 0.5 <= pt <= t]
        print(build, rnd, "%.2f" % mpps, *ps)


def summary(lines, factor, out):
    rows = [line.split() for line in open(lines) if line.strip()]
    if not rows:
        print("no rate lines: no pair forwarded")
        return
    low = min((int(v) for r in rows for v in r[3:]), default=None)
    cells = {}
    w = open(out, "w") if out else None
    for r in rows:
        st = bench_c2c.state([int(v) for v in r[3:]], low, factor)
        for s in (st, "all"):
            cells.setdefault((r[0], s), []).append(float(r[2]))
        if w:
            print(r[0], r[1], r[2], st, *r[3:], file=w)
    print("lowest probe: %s; Mpps: median (min-max, lines)" %
          ("%d ns" % low if low is not None else "none"))
    print("%-8s %-24s %-24s %s" % ("state", "A", "B", "B/A"))

    def cell(v):
        if not v:
            return "-"
        return "%.1f (%.1f-%.1f, %d)" % (statistics.median(v), min(v),
                                         max(v), len(v))

    for s in STATES:
        a, b = cells.get(("A", s)), cells.get(("B", s))
        if not a and not b:
            continue
        ratio = ("%.3f" % (statistics.median(b) / statistics.median(a))
                 if a and b and statistics.median(a) > 0 else "-")
        print("%-8s %-24s %-24s %s" % (s, cell(a), cell(b), ratio))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pair")
    for a in ("rx_log", "probes", "build", "round"):
        p.add_argument(a)
    s = sub.add_parser("summary")
    s.add_argument("--c2c-far", type=float, default=bench_c2c.FAR)
    s.add_argument("-o", dest="out")
    s.add_argument("lines")
    a = ap.parse_args()
    if a.cmd == "pair":
        pair(a.rx_log, a.probes, a.build, a.round)
    else:
        summary(a.lines, a.c2c_far, a.out)


if __name__ == "__main__":
    main()

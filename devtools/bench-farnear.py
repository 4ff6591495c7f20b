#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""How much each transport loses when the two CPUs are far apart.

Reads one or more devtools/bench.sh results.csv files. A figure is "far"
when the cache-line round trip between the two CPUs, probed during its
window (in older runs: before or after it), was over --c2c-far times the
lowest of its run (devtools/bench_c2c.py: the figures bench-report.py
marks "!", and the REDONE lines: windows the near gate measured again).
Each far figure is divided by the median of the near figures of its own
cell (run, mode, test, size, variant); the table gives, per variant, the
median of those ratios, their quartiles and how many there were. A transport that exposes less cross-CPU latency per
packet keeps more of its rate.

The far figures fall on whichever cells the machine's state picked, so a
variant's set mixes tests and sizes; read it as a tendency, over several
runs.

    bench-farnear.py [--c2c-far X] RESULTS.csv...
"""

import argparse
import csv
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_c2c  # noqa: E402


def mpps(r):
    try:
        return float(r["mpps"])
    except (KeyError, TypeError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--c2c-far", type=float, default=bench_c2c.FAR)
    ap.add_argument("results", nargs="+")
    a = ap.parse_args()

    ratios = {}
    for run, path in enumerate(a.results):
        try:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError as e:
            print(f"bench-farnear: {e}", file=sys.stderr)
            return 1
        # far and near as bench-report.py marks them ("!")
        low = bench_c2c.lowest(rows)
        if low is None:
            print(f"bench-farnear: {path}: no figure with its probes",
                  file=sys.stderr)
            continue
        near, far = {}, []
        for r in rows:
            if r.get("status") not in ("ok", "REDONE") or mpps(r) is None:
                continue
            cell = (run, r["mode"], r["test"], r["size"], r["variant"])
            if bench_c2c.is_far(r, low, a.c2c_far):
                far.append((cell, mpps(r)))
            elif r["status"] == "ok":
                near.setdefault(cell, []).append(mpps(r))
        for cell, x in far:
            if near.get(cell):
                ref = statistics.median(near[cell])
                if ref > 0:
                    ratios.setdefault(cell[4], []).append(x / ref)
    if not ratios:
        print("bench-farnear: no far figure with near ones in its cell")
        return 1
    print(f"{'variant':28s} {'far/near':>8s}  {'quartiles':11s}  figures")
    for v in sorted(ratios, key=lambda v: -statistics.median(ratios[v])):
        rs = ratios[v]
        q = (statistics.quantiles(rs, n=4, method="inclusive")
             if len(rs) > 1 else [rs[0]] * 3)
        print(f"{v:28s} {statistics.median(rs):8.2f}  "
              f"{q[0]:.2f}-{q[2]:.2f}    {len(rs):3d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""Draw devtools/bench.sh's summary.csv as a PNG (Debian's python3-matplotlib).

One panel per memory mode (rows) and frame size (columns), each with its
own Mpps scale; in a panel, one group of bars per test (fe-to-be, be-to-fe,
loop), one bar per variant: the median of the rounds, with a bar from the
min to the max, and a white diamond at the median of the rounds measured
with the two CPUs near (summary.csv's median_near_mpps, when it differs).
A case that failed is marked with a red "F" instead of a bar,
a skipped one with a grey "S".

    bench-plot.py SUMMARY.csv OUT.png [SUBTITLE]
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TESTS = ["fe-to-be", "be-to-fe", "loop"]
MODES = {"huge": "hugepages", "nohuge": "--no-huge"}


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    subtitle = sys.argv[3] if len(sys.argv) > 3 else ""
    if not rows:
        print("bench-plot: no rows", file=sys.stderr)
        return 1
    modes = [m for m in MODES if any(r["mode"] == m for r in rows)]
    modes += sorted({r["mode"] for r in rows} - set(modes))
    sizes = sorted({int(r["size"]) for r in rows})
    tests = [t for t in TESTS if any(r["test"] == t for r in rows)]
    variants = []
    for r in rows:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    data = {(r["mode"], r["test"], int(r["size"]), r["variant"]): r for r in rows}

    cmap = plt.get_cmap("tab10")
    colors = {v: cmap(i % 10) for i, v in enumerate(variants)}
    fig, axes = plt.subplots(len(modes), len(sizes), squeeze=False,
                             figsize=(3.6 * len(sizes) + 1.5, 3.2 * len(modes) + 1.2))
    labelled = set()  # in the legend: each on the first bar or mark drawn

    def label(v):
        if v in labelled:
            return None
        labelled.add(v)
        return v

    for mi, mode in enumerate(modes):
        for si, size in enumerate(sizes):
            ax = axes[mi][si]
            top = 0.0
            # the variants of this panel only (bench.sh -S sizes run on a
            # few lines): no empty slots between the bars
            pv = [v for v in variants
                  if any((mode, t, size, v) in data for t in tests)]
            width = 0.8 / max(1, len(pv))
            for vi, v in enumerate(pv):
                for ti, t in enumerate(tests):
                    r = data.get((mode, t, size, v))
                    x = ti - 0.4 + width * (vi + 0.5)
                    if r is None:
                        continue
                    if r["median_mpps"]:
                        med = float(r["median_mpps"])
                        lo = float(r["min_mpps"])
                        hi = float(r["max_mpps"])
                        top = max(top, hi)
                        ax.bar(x, med, width, color=colors[v], label=label(v))
                        ax.errorbar(x, med, yerr=[[med - lo], [hi - med]],
                                    fmt="none", ecolor="black", elinewidth=0.8,
                                    capsize=1.5)
                        near = r.get("median_near_mpps")
                        if near and abs(float(near) - med) > 0.005 * max(med, 1):
                            ax.plot(x, float(near), marker="D", markersize=3,
                                    markerfacecolor="white",
                                    markeredgecolor="black", markeredgewidth=0.6,
                                    linestyle="none",
                                    label=label("near median"))
                    else:
                        skipped = r["note"].startswith("SKIPPED")
                        ax.text(x, 0, "S" if skipped else "F",
                                color="grey" if skipped else "red",
                                ha="center", va="bottom", fontsize=8,
                                fontweight="bold")
                        if v not in labelled:
                            ax.bar(x, 0, width, color=colors[v], label=label(v))
            ax.set_xticks(range(len(tests)))
            ax.set_xticklabels(tests, fontsize=8)
            ax.set_ylim(0, top * 1.1 if top > 0 else 1)
            ax.set_title(f"{MODES.get(mode, mode)}, {size} B", fontsize=9)
            ax.tick_params(axis="y", labelsize=8)
            ax.grid(axis="y", alpha=0.3)
            if si == 0:
                ax.set_ylabel("Mpps (median, min-max)", fontsize=8)
    handles, labels = [], []
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    # in the order of the variants, whichever panel drew each first
    order = sorted(range(len(labels)), key=lambda i: variants.index(labels[i])
                   if labels[i] in variants else len(variants))
    handles = [handles[i] for i in order]
    labels = [labels[i] for i in order]
    if "near median" in labels:  # after the variants
        i = labels.index("near median")
        handles.append(handles.pop(i))
        labels.append(labels.pop(i))
    fig.legend(handles, labels, loc="lower center", ncol=min(5, len(labels)),
               fontsize=8, frameon=False)
    fig.suptitle("devtools/bench.sh: testpmd to testpmd"
                 + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    fig.tight_layout(rect=(0, 0.04 + 0.025 * ((len(labels) + 4) // 5), 1, 1))
    fig.savefig(sys.argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())

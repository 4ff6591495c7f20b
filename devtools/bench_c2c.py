# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""The near/far rule of devtools/bench.sh's results.csv, for its readers.

Each figure has up to three cache-line round-trip probes between the two
CPUs (devtools/bench-c2c.c): before its window and after it, both with the
two testpmd idle, and during it (the largest of the short probes taken
while both forwarded; empty in runs before that probe, or without
SCHED_FIFO). The state can change within a window, so a figure with a
probe during its window is judged by that one alone, a figure without one
by its probes before and after. It is "far" when a judging probe is over
FACTOR times the lowest probe of its run (any line's, any of the three);
bench.sh marks it "!".
"""

# FACTOR's default; the shell scripts take it from devtools/common.sh
# (VU_C2C_FAR) and pass it to the reports
FAR = 2

COLUMNS = ("c2c_before_ns", "c2c_after_ns", "c2c_during_ns")


def _num(r, c):
    try:
        x = float(r[c])
    except (KeyError, TypeError, ValueError):
        return None
    return x if x > 0 else None


def _nums(r, cols):
    return [x for x in (_num(r, c) for c in cols) if x is not None]


def probes(r):
    """Every probe of the line, in ns."""
    return _nums(r, COLUMNS)


def judging(r):
    """The probes that say in which state the figure was measured: the
    one during the window, else those before and after it."""
    return _nums(r, COLUMNS[2:]) or _nums(r, COLUMNS[:2])


def lowest(rows):
    """The run's lowest probe, or None without any."""
    return min((p for r in rows for p in probes(r)), default=None)


def is_far(r, low, factor):
    """Whether the figure on line r was measured with the CPUs far."""
    return low is not None and any(p > factor * low for p in judging(r))


def state(ps, low, factor):
    """The state of the two CPUs over an interval whose probes are ps:
    "near" when every one is within factor times the run's lowest probe
    low, "far" when every one is above that, "mixed" when it changed in
    the interval, "unknown" without probes."""
    if low is None or not ps:
        return "unknown"
    far = [p > factor * low for p in ps]
    return "far" if all(far) else "mixed" if any(far) else "near"

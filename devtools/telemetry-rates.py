#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""Per-interval packet rates of running DPDK processes, from their telemetry.

Each sample reads the cumulative port counters (/ethdev/stats,PORT) of every
process through its telemetry socket and stamps them with the time they
were read; a rate is the packets counted between two samples divided by the
time between them. So every line is what was measured in that interval,
whatever the processes print and whenever they print it.

  telemetry-rates.py [-i SECONDS] [-n COUNT] [--wait SECONDS] SPEC...

  SPEC  LABEL=PREFIX[:PORT]:FIELD  e.g. "backend rx=vu-demo-be:0:ipackets"
        (PREFIX: the process's --file-prefix; FIELD: a counter of
        /ethdev/stats, e.g. ipackets, opackets)

It waits (up to --wait seconds, default 60) until every counter has moved,
so the first interval is one with traffic, then prints COUNT lines

     1s  backend rx  16.92 Mpps   frontend tx  17.30 Mpps

and a last line "average LABEL PPS LABEL PPS ... over SECONDS". Exit status
1 if a socket cannot be reached or a counter is missing.
"""

import argparse
import json
import os
import socket
import sys
import time


def runtime_dir(prefix):
    """EAL's runtime directory of a --file-prefix (as dpdk-telemetry.py)."""
    base = os.environ.get("RUNTIME_DIRECTORY")
    if not base:
        base = "/var/run" if os.getuid() == 0 else \
            os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(base, "dpdk", prefix)


class Telemetry:
    """One telemetry v2 socket: SOCK_SEQPACKET, one JSON reply per command."""

    def __init__(self, prefix):
        path = os.path.join(runtime_dir(prefix), "dpdk_telemetry.v2")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(5)
        self.sock.connect(path)
        hello = json.loads(self.sock.recv(1024).decode())
        self.max_len = hello.get("max_output_len", 16384)

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(self.max_len).decode())
        return reply[cmd.split(",", 1)[0]]


def parse_spec(spec):
    label, _, rest = spec.partition("=")
    parts = rest.split(":")
    if not label or len(parts) not in (2, 3):
        sys.exit(f"bad SPEC '{spec}': LABEL=PREFIX[:PORT]:FIELD")
    port = parts[1] if len(parts) == 3 else "0"
    return label, parts[0], port, parts[-1]


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-i", "--interval", type=float, default=1.0)
    ap.add_argument("-n", "--count", type=int, default=10)
    ap.add_argument("--wait", type=float, default=60.0)
    ap.add_argument("spec", nargs="+")
    args = ap.parse_args()

    specs = [parse_spec(s) for s in args.spec]
    socks = {}
    deadline = time.monotonic() + args.wait

    def sample():
        """[(time, value)] of every spec, each read at its own time."""
        out = []
        for label, prefix, port, field in specs:
            if prefix not in socks:
                socks[prefix] = Telemetry(prefix)
            stats = socks[prefix].query(f"/ethdev/stats,{port}")
            if not stats or field not in stats:
                sys.exit(f"{label}: no {field} in /ethdev/stats,{port} of {prefix}")
            out.append((time.monotonic(), stats[field]))
        return out

    # wait for every counter to move: the window starts with traffic
    while True:
        try:
            first = sample()
            time.sleep(min(args.interval, 0.5))
            prev = sample()
            if all(b[1] > a[1] for a, b in zip(first, prev)):
                break
        except (OSError, ValueError):
            pass    # not up yet
        if time.monotonic() > deadline:
            missing = [os.path.join(runtime_dir(p), "dpdk_telemetry.v2")
                       for p in dict.fromkeys(s[1] for s in specs)
                       if not os.path.exists(os.path.join(runtime_dir(p),
                                                          "dpdk_telemetry.v2"))]
            why = "".join(f"; no telemetry socket {m} (no DPDK process "
                          f"with that --file-prefix, or --no-telemetry?)"
                          for m in missing)
            sys.exit(f"no traffic within {args.wait:.0f}s{why}")
        time.sleep(0.2)

    start = prev
    tick = time.monotonic()
    for n in range(1, args.count + 1):
        tick += args.interval
        time.sleep(max(0.0, tick - time.monotonic()))
        cur = sample()
        line = f"  {n * args.interval:3.0f}s"
        for (label, *_), (t0, v0), (t1, v1) in zip(specs, prev, cur):
            line += f"  {label} {(v1 - v0) / (t1 - t0) / 1e6:6.2f} Mpps "
        print(line.rstrip(), flush=True)
        prev = cur
    line = "average"
    for (label, *_), (t0, v0), (t1, v1) in zip(specs, start, prev):
        line += f" {label.replace(' ', '_')} {(v1 - v0) / (t1 - t0):.0f}"
    print(f"{line} over {prev[0][0] - start[0][0]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

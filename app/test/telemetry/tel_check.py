#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""Checks on the replies of DPDK's telemetry socket, for test_telemetry.sh.

A reply file is what `dpdk-telemetry.py -f PREFIX` prints with its standard
input not a terminal: one JSON object per command, one per line.

  tel_check.py get FILE CMD PATH        print the value at PATH (a.b.c) of
                                        the reply to CMD (JSON if not scalar)
  tel_check.py has FILE CMD PATH...     the reply to CMD has every PATH
  tel_check.py subset EXPECT FILE CMD   every key of the JSON object in the
                                        file EXPECT (first line) has the same
                                        value in the reply to CMD; prints the
                                        differences, exit status 1 if any
"""

import json
import sys


def reply(path, cmd):
    """The reply to CMD ("/vfio_user/info,0" -> key "/vfio_user/info")."""
    key = cmd.split(",", 1)[0]
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if key in obj:
                return obj[key]
    sys.exit(f"{path}: no reply to {cmd}")


def walk(value, path):
    for part in path.split(".") if path else []:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def diff(expect, actual, where, out):
    if isinstance(expect, dict):
        if not isinstance(actual, dict):
            out.append(f"{where}: expected an object, got {actual!r}")
            return
        for k, v in expect.items():
            if k not in actual:
                out.append(f"{where}.{k}: missing (expected {v!r})")
            else:
                diff(v, actual[k], f"{where}.{k}", out)
    elif expect != actual:
        out.append(f"{where}: expected {expect!r}, got {actual!r}")


def main(argv):
    if len(argv) == 5 and argv[1] == "get":
        v = walk(reply(argv[2], argv[3]), argv[4])
        if v is None:
            sys.exit(f"{argv[2]}: {argv[3]} has no {argv[4]}")
        print(v if isinstance(v, (int, str)) else json.dumps(v))
        return 0
    if len(argv) >= 5 and argv[1] == "has":
        r = reply(argv[2], argv[3])
        missing = [p for p in argv[4:] if walk(r, p) is None]
        if missing:
            print(f"{argv[3]}: missing {' '.join(missing)}")
            return 1
        return 0
    if len(argv) == 5 and argv[1] == "subset":
        with open(argv[2], encoding="utf-8") as f:
            expect = json.loads(f.readline())
        out = []
        diff(expect, reply(argv[3], argv[4]), argv[4], out)
        for line in out:
            print(line)
        return 1 if out else 0
    sys.exit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

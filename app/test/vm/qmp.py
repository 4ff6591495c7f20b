#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""One QMP command to a running QEMU, for the VM tests.

    qmp.py SOCKET COMMAND [JSON-ARGUMENTS] [--event NAME] [--timeout SECONDS]

Connects to QEMU's QMP socket (-qmp unix:SOCKET,server=on,wait=off),
leaves capabilities negotiation, runs COMMAND with the arguments (a JSON
object) and prints its return value as JSON. With --event, then waits for
that event (e.g. DEVICE_DELETED after device_del: the guest let the device
go) and prints it. Exit status: 0 done, 1 the command failed (QEMU's error
printed), 2 bad usage, 3 timed out or the connection went.
"""

import argparse
import json
import socket
import sys
import time


class QmpError(Exception):
    """The connection went or the time ran out."""


class Qmp:
    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self._left())
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QmpError("no QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def _left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise QmpError("timed out")
        return left

    def _read(self):
        while b"\n" not in self.buf:
            self.sock.settimeout(self._left())
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise QmpError("timed out") from None
            if not data:
                raise QmpError("QEMU closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, arguments=None):
        """The command's reply ("return" or "error"); events seen meanwhile
        are kept for wait_event()."""
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
            elif "return" in reply or "error" in reply:
                return reply

    def wait_event(self, name):
        while True:
            for ev in self.events:
                if ev["event"] == name:
                    return ev
            self.events.clear()
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("socket")
    ap.add_argument("command")
    ap.add_argument("arguments", nargs="?", default=None,
                    help="the command's arguments, a JSON object")
    ap.add_argument("--event", help="then wait for this event")
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds for all of it (default 30)")
    opts = ap.parse_args()
    args = None
    if opts.arguments is not None:
        try:
            args = json.loads(opts.arguments)
        except ValueError as e:
            ap.error("arguments: not JSON: %s" % e)
        if not isinstance(args, dict):
            ap.error("arguments: not a JSON object")
    try:
        qmp = Qmp(opts.socket, time.monotonic() + opts.timeout)
        reply = qmp.execute(opts.command, args)
        if "error" in reply:
            print("%s: %s" % (opts.command, reply["error"].get("desc",
                                                               reply)))
            return 1
        print(json.dumps(reply["return"]))
        if opts.event:
            print(json.dumps(qmp.wait_event(opts.event)))
    except (OSError, QmpError, ValueError) as e:
        print("qmp %s: %s" % (opts.command, e))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

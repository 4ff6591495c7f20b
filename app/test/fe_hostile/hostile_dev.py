#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""A hostile vfio-user server for the fe_hostile test.

It serves a minimal virtio-net 1.x PCI device: a config space with the
virtio and MSI-X capabilities, the common, ISR, device config and notify
areas in BAR4, the MSI-X table in BAR1. It maps the memory the frontend
DMA-maps with an fd (a memfd under --no-huge) and acts on the rings there.
Each MODE is one way of misbehaving:

  notify_oob   queue_notify_off 0xffff (multiplier 4) with a mappable
               notify area: the doorbell is 256 KiB past its page
  ctrl_small   CTRL_VQ + MQ, 2 queue pairs, a control queue of at most
               --ctrl-qmax entries; MQ commands are acked
  mq_max       CTRL_VQ + MQ, max_virtqueue_pairs 0x8000, which num_queues
               (at most 0xffff) cannot hold with a control queue
  packed_leak  PACKED + IN_ORDER: rx buffers used in ring order, but with
               ids in reverse order
  mrg_stall    MRG_RXBUF: one used rx buffer claiming 0xffff buffers, then
               5 good one-buffer packets
  mrg_partial  MRG_RXBUF: one used rx buffer of a frame claiming 2 buffers,
               and never the second
  fuzz_split   MRG_RXBUF + EVENT_IDX, split rings: random used entries,
  fuzz_packed  random num_buffers, used index jumps (split) or random ids,
               lengths and flags (packed), on rx and tx, for --secs
  mute         accepts every connection and answers nothing; each is
               closed after --hold seconds; exits after --secs
  config_storm signals its configuration vector without pause for --secs
               once the driver set it up, and counts the driver's reads
               of the link status meanwhile
  speed_change SPEED_DUPLEX (25000, half); once the driver started (its
               receive buffers are there) and 0.3 s more, 100000, full:
               config_generation bumped, the configuration vector
               signalled

What it did goes to stderr as "dev: ..." lines, which the test reads. It
serves one connection and exits when the client goes away.

usage: hostile_dev.py SOCKET MODE [--ctrl-qmax N] [--secs S] [--seed N]
"""

import argparse
import json
import mmap
import os
import random
import socket
import struct
import sys
import threading
import time

MODES = ("notify_oob", "ctrl_small", "mq_max", "packed_leak", "mrg_stall",
         "mrg_partial",
         "fuzz_split", "fuzz_packed", "mute", "config_storm", "late_dma",
         "nomac", "cfg_strict", "dupcap", "evidx", "mtu9000", "mtu1500",
         "speed", "speed_change", "macrefuse")

ap = argparse.ArgumentParser(description="hostile vfio-user virtio-net device")
ap.add_argument("socket")
ap.add_argument("mode", choices=MODES)
ap.add_argument("--ctrl-qmax", type=int, default=4)
ap.add_argument("--nvec", type=int, default=8, help="MSI-X table size")
ap.add_argument("--secs", type=float, default=2.0)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--hold", type=float, default=1.5,
                help="mute: seconds each connection is held unanswered")
ap.add_argument("--no-vector", choices=("queue", "config"),
                help="refuse MSI-X vectors: queue_msix_vector (queue) or "
                "msix_config (config) reads back NO_VECTOR")
ap.add_argument("--slow-reset", type=float, default=0, metavar="MS",
                help="a write of 0 to device_status completes MS ms later: "
                "status reads 1 until then (VIRTIO 1.2 4.1.4.3.2: the "
                "driver waits for 0)")
ap.add_argument("--fail-write", metavar="[bar1:]OFF",
                help="refuse (EINVAL) the first write at OFF of the common "
                "configuration (or of the MSI-X table, bar1:), then log "
                "the status and MSI-X control writes that follow")
ap.add_argument("--ring-reset-stuck", action="store_true",
                help="offer VIRTIO_F_RING_RESET, and never complete a "
                "queue's reset: queue_reset reads 1 once 1 was written")
ap.add_argument("--ring-reset-slow", type=float, default=0, metavar="MS",
                help="offer VIRTIO_F_RING_RESET, and complete a queue's "
                "reset MS ms after the write of 1 (queue_reset reads 1 "
                "until then; then the queue is as after a reset: disabled, "
                "no rings); a doorbell for a queue whose reset is pending, "
                "or that was reset and not enabled again, is logged")
ap.add_argument("--notify-map", choices=("none", "plain", "sealable"),
                help="offer the notify area for mmap from a memfd, plain "
                "(it can always shrink) or sealable (the driver can seal "
                "it); default: plain for notify_oob, else none")
ap.add_argument("--io-fds", choices=("none", "good", "bad"), default="none",
                help="answer DEVICE_GET_REGION_IO_FDS for BAR4 with an "
                "ioeventfd per doorbell of queues 0-3 (good), or with "
                "what a driver must not write (bad: a pipe, an eventfd "
                "with a data match on 0x55, one of size 4, one marked "
                "PIO); doorbells through them and by message are logged "
                "(once per queue), and what the bad ones got at the end")
args = ap.parse_args()
MODE = args.mode
FAIL_AT = None      # --fail-write: (region, offset)
if args.fail_write:
    _r, _, _o = args.fail_write.rpartition(":")
    FAIL_AT = (1 if _r == "bar1" else 4, int(_o, 0))

# vfio-user messages
HDR = struct.Struct("<HHIII")
REPLY, NOREPLY, ERR = 1, 1 << 4, 1 << 5
(VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, REGION_INFO, REGION_IO_FDS,
 IRQ_INFO, SET_IRQS, REGION_READ, REGION_WRITE, DMA_READ, DMA_WRITE,
 RESET) = range(1, 14)
BAR1, BAR4, CONFIG = 1, 4, 7

# virtio
VERSION_1, F_PACKED, F_IN_ORDER, EVENT_IDX = 1 << 32, 1 << 34, 1 << 35, 1 << 29
NET_MTU, NET_MAC, NET_MRG, NET_STATUS = 1 << 3, 1 << 5, 1 << 15, 1 << 16
NET_CTRL_VQ, NET_MQ, NET_SPEED_DUPLEX = 1 << 17, 1 << 22, 1 << 63
NET_CTRL_MAC_ADDR = 1 << 23
F_RING_RESET = 1 << 40
DRIVER_OK = 4
DESC_F_NEXT, DESC_F_WRITE = 1, 2
PACKED_AVAIL, PACKED_USED = 1 << 7, 1 << 15
NET_HDR_LEN = 12        # virtio_net_hdr_mrg_rxbuf: VERSION_1 always has it
NOTIFY_MULT = 4
NVEC = args.nvec

features = VERSION_1 | NET_MAC | NET_STATUS
max_pairs = 1
if MODE in ("ctrl_small", "mq_max"):
    features |= NET_CTRL_VQ | NET_MQ
    max_pairs = 2 if MODE == "ctrl_small" else 0x8000
elif MODE == "packed_leak":
    features |= F_PACKED | F_IN_ORDER
elif MODE in ("mrg_stall", "mrg_partial"):
    features |= NET_MRG
elif MODE.startswith("fuzz"):
    features |= NET_MRG | EVENT_IDX | (F_PACKED if MODE == "fuzz_packed" else 0)
elif MODE == "nomac":
    features &= ~NET_MAC
elif MODE == "evidx":
    features |= EVENT_IDX
elif MODE in ("mtu9000", "mtu1500"):
    features |= NET_MTU
elif MODE in ("speed", "speed_change"):
    features |= NET_SPEED_DUPLEX
elif MODE == "macrefuse":
    features |= NET_CTRL_VQ | NET_CTRL_MAC_ADDR
if args.ring_reset_stuck or args.ring_reset_slow > 0:
    features |= F_RING_RESET
PACKED = bool(features & F_PACKED)
CTRL_INDEX = 2 * max_pairs


def log(*a):
    print("dev:", *a, file=sys.stderr, flush=True)


# ---- config space and BARs ----

cfg = bytearray(256)
struct.pack_into("<HH", cfg, 0, 0x1af4, 0x1041)     # virtio-net, modern
struct.pack_into("<H", cfg, 6, 0x10)                # status: capabilities
cfg[0x34] = 0x40


def vcap(off, nxt, typ, offset, length, extra=b""):
    """A virtio PCI capability at OFF for an area of BAR4."""
    b = struct.pack("<BBBBBBxxII", 0x09, nxt, 16 + len(extra), typ, BAR4, 0,
                    offset, length) + extra
    cfg[off:off + len(b)] = b


vcap(0x40, 0x50, 1, 0x0000, 0x100)                  # common config
vcap(0x50, 0x68, 2, 0x3000, 0x1000, struct.pack("<I", NOTIFY_MULT))
vcap(0x68, 0x78, 3, 0x1000, 4)                      # ISR
# device config (cfg_strict: the mac and status it has, no more)
DEVCFG_LEN = 8 if MODE == "cfg_strict" else 0x100
vcap(0x78, 0x88, 4, 0x2000, DEVCFG_LEN)
# MSI-X: NVEC vectors, table and PBA in BAR1 (dupcap: then a second
# device config, another mac: the first is the device's preference)
cfg[0x88:0x88 + 12] = struct.pack("<BBHII", 0x11,
                                  0x98 if MODE == "dupcap" else 0,
                                  NVEC - 1, 0x0 | 1, 0x800 | 1)
if MODE == "dupcap":
    vcap(0x98, 0, 4, 0x2800, 0x100)
bar1 = bytearray(0x1000)
bar4 = bytearray(0x4000)
# mac, status (link up), max_virtqueue_pairs, mtu
struct.pack_into("<6sHHH", bar4, 0x2000, b"\x02\x00\x00\x00\x00\x01", 1,
                 max_pairs, 9000 if MODE == "mtu9000" else 1500)
# speed (Mbit/s) and duplex (0: half): read with SPEED_DUPLEX only
struct.pack_into("<IB", bar4, 0x200c, 25000, 0)
struct.pack_into("<6sHHH", bar4, 0x2800, b"\x02\x00\x00\x00\x00\x99", 1,
                 max_pairs, 1500)
REGION_SIZES = {CONFIG: 256, BAR1: 0x1000, BAR4: 0x4000}

# the notify area can be mmapped (a memfd of BAR4's size), so the driver
# may store its doorbells there directly; it must not when the file can
# still shrink under its mapping (a store would raise SIGBUS)
NOTIFY_MAP = args.notify_map or ("plain" if MODE == "notify_oob" else "none")
notify_fd = os.memfd_create(
    "notify", os.MFD_CLOEXEC |
    (os.MFD_ALLOW_SEALING if NOTIFY_MAP == "sealable" else 0))
os.ftruncate(notify_fd, 0x4000)


class Queue:
    def __init__(self):
        self.size = 256
        self.desc = self.avail = self.used = 0
        self.enable = 0
        self.vec = 0xffff
        self.reset = 0      # queue_reset as read (--ring-reset-stuck)
        self.reset_at = 0.0     # --ring-reset-slow: when it completes
        self.was_reset = False  # reset, not enabled again since
        self.bell_logged = False


def ring_reset_due(q, idx):
    """--ring-reset-slow: complete a pending queue reset whose time came."""
    if q.reset and q.reset_at and time.monotonic() >= q.reset_at:
        q.reset, q.reset_at = 0, 0.0
        q.enable, q.desc, q.avail, q.used, q.size, q.vec = 0, 0, 0, 0, 256, 0xffff
        q.was_reset = True
        log("ring_reset: queue %d reset completed (slow)" % idx)


queues = {}     # by index; replaced on a reset
failed_write = []   # --fail-write: the offset, once refused
st = dict(dfsel=0, gfsel=0, gf=[0, 0], status=0, qsel=0, msix_config=0xffff,
          reset_until=0.0, resets=0, gen=0)
# the device configuration and config_generation change together: a
# read (the main thread's) sees both before or both after
cfg_lock = threading.Lock()


def reset_pending():
    return time.monotonic() < st["reset_until"]


def cur_queue():
    return queues.setdefault(st["qsel"], Queue())


def common_read(off, n):
    b = bytearray(0x40)
    dfeat = (features >> (32 * st["dfsel"])) & 0xffffffff if st["dfsel"] < 2 else 0
    struct.pack_into("<IIII", b, 0, st["dfsel"], dfeat, st["gfsel"],
                     st["gf"][st["gfsel"] & 1])
    nq = min(0xffff, 2 * max_pairs + (1 if features & NET_CTRL_VQ else 0))
    q = cur_queue()
    ring_reset_due(q, st["qsel"])
    qmax = q.size
    if MODE == "ctrl_small" and st["qsel"] == CTRL_INDEX:
        qmax = args.ctrl_qmax
    notify_off = 0xffff if MODE == "notify_oob" else st["qsel"]
    cfg_vec, q_vec = st["msix_config"], q.vec
    if args.no_vector == "queue":
        q_vec = 0xffff
    elif args.no_vector == "config":
        cfg_vec = 0xffff
    status = 1 if reset_pending() else st["status"]
    struct.pack_into("<HHBBHHHHH", b, 16, cfg_vec, nq, status,
                     st["gen"] & 0xff, st["qsel"], qmax, q_vec, q.enable,
                     notify_off)
    struct.pack_into("<QQQ", b, 32, q.desc, q.avail, q.used)
    struct.pack_into("<H", b, 58, q.reset)     # queue_reset
    return bytes(b[off:off + n])


def common_write(off, data):
    v = int.from_bytes(data, "little")
    q = cur_queue()
    ring_reset_due(q, st["qsel"])
    if q.reset and off in (24, 26, 28) or (q.reset and 32 <= off < 56):
        log("ring_reset: queue %d register 0x%x written while its reset is "
            "pending" % (st["qsel"], off))
    if off == 0:
        st["dfsel"] = v
    elif off == 8:
        st["gfsel"] = v
    elif off == 12:
        st["gf"][st["gfsel"] & 1] = v
    elif off == 16:
        st["msix_config"] = v
    elif off == 20:
        if reset_pending() and v != 0:     # (0: another reset)
            log("slow_reset: status 0x%x written before the reset completed"
                % v)
        if v == 0 and MODE == "late_dma" and st["status"] & DRIVER_OK:
            late_dma()
        st["status"] = v
        if v == 0 and args.slow_reset > 0:
            st["reset_until"] = time.monotonic() + args.slow_reset / 1000
            st["resets"] += 1
            log("slow_reset: reset %d, completes in %g ms"
                % (st["resets"], args.slow_reset))
        if v == 0:
            queues.clear()
            ctrl_seen[0] = 0
    elif off == 22:
        st["qsel"] = v
    elif off == 24:
        q.size = v
    elif off == 26:
        q.vec = v
    elif off == 28:
        q.enable = v
        if v == 1 and q.was_reset:
            q.was_reset = False
            q.bell_logged = False
            log("ring_reset: queue %d enabled again" % st["qsel"])
    elif off == 58 and v == 1 and features & F_RING_RESET:
        q.reset = 1
        if args.ring_reset_slow > 0:
            q.reset_at = time.monotonic() + args.ring_reset_slow / 1000
            log("ring_reset: queue %d reset, completes in %g ms"
                % (st["qsel"], args.ring_reset_slow))
        else:
            log("ring_reset: queue %d reset, never completed" % st["qsel"])
    elif 32 <= off < 56:
        name = ("desc", "avail", "used")[(off - 32) // 8]
        a = getattr(q, name)
        if off % 8 == 0:
            a = (a & ~0xffffffff) | v
        else:
            a = (a & 0xffffffff) | (v << 32)
        setattr(q, name, a)


storm = dict(reads=0, on=False)     # config_storm: link reads meanwhile
msix_efd = {}                       # MSI-X vector -> our copy of its eventfd


def region_read(idx, off, n):
    if storm["on"] and idx == BAR4 and off <= 0x2006 < off + n:
        storm["reads"] += 1
    if idx == CONFIG:
        src = cfg
    elif idx == BAR1:
        src = bar1
    elif idx == BAR4 and off < 0x100:
        return common_read(off, n)
    elif idx == BAR4:
        src = bar4
    else:
        return b"\0" * n
    return bytes(src[off:off + n]).ljust(n, b"\0")


def region_write(idx, off, data):
    if idx == BAR4 and off < 0x100:
        common_write(off, data)
    elif idx == CONFIG:
        cfg[off:off + len(data)] = data
    elif idx == BAR1:
        bar1[off:off + len(data)] = data
    elif idx == BAR4 and off >= 0x3000:
        # a doorbell through a message: its value is the queue index
        qi = int.from_bytes(data, "little")
        if args.io_fds != "none" and ("msg", qi) not in bells_logged:
            bells_logged.add(("msg", qi))
            log("io_fds: doorbell for queue %d by message" % qi)
        bq = queues.get(qi)
        if bq is not None:
            ring_reset_due(bq, qi)
            if (bq.reset or bq.was_reset) and not bq.bell_logged:
                bq.bell_logged = True
                log("ring_reset: doorbell for queue %d %s" % (
                    qi, "while its reset is pending" if bq.reset else
                    "reset and not enabled again"))
        if features & NET_CTRL_VQ and int.from_bytes(data, "little") == CTRL_INDEX:
            ctrl_answer(queues.get(CTRL_INDEX))


# ---- guest memory ----

dma = []        # (iova, size, mmap, offset in the mmap)


def mem(iova, n):
    for (a, s, m, off) in dma:
        if a <= iova and iova + n <= a + s:
            return m, off + iova - a
    raise KeyError(hex(iova))


def mem_read(iova, n):
    m, o = mem(iova, n)
    return bytes(m[o:o + n])


def mem_write(iova, data):
    m, o = mem(iova, len(data))
    m[o:o + len(data)] = data


def rd16(iova):
    return struct.unpack("<H", mem_read(iova, 2))[0]


# ---- control queue (split): ack each command, saying what it was ----

ctrl_seen = [0]


def ctrl_answer(cq):
    if cq is None or PACKED:
        return
    aidx = rd16(cq.avail + 2)
    while ctrl_seen[0] != aidx:
        head = rd16(cq.avail + 4 + 2 * (ctrl_seen[0] % cq.size))
        i, out, n, acks = head, b"", 0, []
        while n < 4:
            addr, ln, fl, nxt = struct.unpack("<QIHH", mem_read(cq.desc + 16 * i, 16))
            if fl & DESC_F_WRITE:
                acks.append(addr)
            else:
                out += mem_read(addr, min(ln, 64))
            n += 1
            if not fl & DESC_F_NEXT:
                break
            i = nxt % cq.size
        if len(out) < 2:
            log("ctrl: a command without its header")
            return
        cls, cmd = out[0], out[1]
        arg = struct.unpack("<H", out[2:4])[0] if len(out) >= 4 else -1
        # macrefuse: VIRTIO_NET_CTRL_MAC commands answered VIRTIO_NET_ERR
        refuse = MODE == "macrefuse" and cls == 1
        for a in acks:
            mem_write(a, b"\1" if refuse else b"\0")
        log("ctrl: class %d cmd %d arg %d %s (%d descriptors, queue size %d)"
            % (cls, cmd, arg, "refused" if refuse else "acked", n, cq.size))
        uidx = rd16(cq.used + 2)
        mem_write(cq.used + 4 + 8 * (uidx % cq.size), struct.pack("<II", head, 1))
        ctrl_seen[0] = (ctrl_seen[0] + 1) & 0xffff
        mem_write(cq.used + 2, struct.pack("<H", (uidx + 1) & 0xffff))


# ---- the device's misbehaviour, once the driver is up ----

def rx_ready(want):
    """Receive queue 0 once the driver, up, has made WANT buffers
    available on it (its first lap), or None after 20 s."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        q = queues.get(0)
        try:
            if st["status"] & DRIVER_OK and q is not None and q.enable and q.desc:
                if PACKED:
                    # every one: a driver publishing a batch writes its
                    # first descriptor's flags last, and a descriptor
                    # used before that write is overwritten by it
                    if all(rd16(q.desc + 16 * i + 14) &
                           (PACKED_AVAIL | PACKED_USED) == PACKED_AVAIL
                           for i in range(want)):
                        return q
                elif rd16(q.avail + 2) >= want:
                    return q
        except KeyError:
            pass
        time.sleep(0.01)
    log("the driver made no receive buffers available")
    return None


def packed_leak(rxq):
    # positions 0, 1, ... (in order, as IN_ORDER requires) with ids
    # size-1, size-2, ...; a driver trusting the ids refills positions
    # whose buffers it never got back
    total = 0
    for _ in range(6):
        for _ in range(32):
            pos = total
            d = rxq.desc + 16 * pos
            mem_write(d + 8, struct.pack("<IH", NET_HDR_LEN + 60, rxq.size - 1 - pos))
            # the flags last: they hand the descriptor over
            mem_write(d + 14, struct.pack("<H", PACKED_AVAIL | PACKED_USED | DESC_F_WRITE))
            total += 1
        time.sleep(0.1)
    log("packed_leak: %d used descriptors written, ids reversed" % total)


def use_first_full(rxq, num_buffers):
    """The driver's first receive buffer used, full (so it reads the
    header's num_buffers, set to NUM_BUFFERS): used idx 1. Its length."""
    head = rd16(rxq.avail + 4)
    addr, ln = struct.unpack("<QI", mem_read(rxq.desc + 16 * head, 12))
    mem_write(addr + 10, struct.pack("<H", num_buffers))
    mem_write(rxq.used + 4, struct.pack("<II", head, ln))
    mem_write(rxq.used + 2, struct.pack("<H", 1))
    return ln


def mrg_stall(rxq):
    # a full buffer naming 0xffff buffers
    use_first_full(rxq, 0xffff)
    log("mrg_stall: used idx 1, num_buffers 0xffff")
    time.sleep(0.3)
    for i in range(1, 6):
        head = rd16(rxq.avail + 4 + 2 * i)
        addr = struct.unpack("<Q", mem_read(rxq.desc + 16 * head, 8))[0]
        mem_write(addr, b"\0" * 10 + struct.pack("<H", 1) + b"\xff" * 60)
        mem_write(rxq.used + 4 + 8 * i, struct.pack("<II", head, NET_HDR_LEN + 60))
    mem_write(rxq.used + 2, struct.pack("<H", 6))
    log("mrg_stall: 5 good packets behind it (used idx 6)")


def mrg_partial(rxq):
    # the first buffer of a frame of 2 (num_buffers 2), published; the
    # second never is: the driver holds the first until its queue goes
    ln = use_first_full(rxq, 2)
    log("mrg_partial: used idx 1, the first of 2 buffers (%d bytes)" % ln)


def fuzz(rxq):
    rnd = random.Random(args.seed)
    txq = queues.get(1)
    end = time.monotonic() + args.secs
    lens = (NET_HDR_LEN + 60, 0, 11, 12, 2060, 2061, 0xffffffff)
    # packed: where the driver looks next, if it kept in step with us (it
    # does as long as it steps over each bad descriptor); random positions
    # alone would seldom be where it looks
    cursor = {id(rxq): [0, 1], id(txq): [0, 1]}
    rounds = 0
    while time.monotonic() < end:
        for q in (rxq, txq):
            for _ in range(8):
                pos = rnd.randrange(q.size)
                ln = rnd.choice(lens + (rnd.randrange(1 << 32),))
                if PACKED:
                    c = cursor[id(q)]
                    if rnd.random() < 0.5:
                        pos = c[0]
                        fl = (PACKED_AVAIL | PACKED_USED) if c[1] else 0
                        c[0] += 1
                        if c[0] == q.size:
                            c[0], c[1] = 0, c[1] ^ 1
                    else:
                        fl = rnd.choice([0x8080, 0, 0x8000, 0x80, rnd.randrange(1 << 16)])
                    ident = rnd.choice([rnd.randrange(q.size), rnd.randrange(1 << 16), pos])
                    mem_write(q.desc + 16 * pos + 8, struct.pack("<IH", ln, ident))
                    mem_write(q.desc + 16 * pos + 14, struct.pack("<H", fl))
                    continue
                ident = rnd.choice([rnd.randrange(q.size), rnd.randrange(1 << 32), pos])
                mem_write(q.used + 4 + 8 * pos, struct.pack("<II", ident, ln))
                if q is rxq:
                    # some buffer's num_buffers
                    head = rnd.randrange(q.size)
                    addr = struct.unpack("<Q", mem_read(q.desc + 16 * head, 8))[0]
                    try:
                        mem_write(addr + 10, struct.pack("<H", rnd.choice(
                            [1, 2, 3, 0, 0xffff, rnd.randrange(1 << 16)])))
                    except KeyError:
                        pass
            if not PACKED:
                cur = rd16(q.used + 2)
                nxt = rnd.choice([cur + 1, cur + 4, cur + 40, cur + q.size,
                                  cur + 5000, rnd.randrange(1 << 16)])
                mem_write(q.used + 2, struct.pack("<H", nxt & 0xffff))
        rounds += 1
        time.sleep(0.002)
    log("fuzz: %d rounds" % rounds)


def config_storm():
    """Signal the configuration vector as fast as we can for --secs."""
    end = time.monotonic() + 30
    while st["msix_config"] not in msix_efd and time.monotonic() < end:
        time.sleep(0.01)
    fd = msix_efd.get(st["msix_config"])
    if fd is None:
        log("config_storm: the driver set no configuration vector")
        return
    n = 0
    storm["on"] = True
    end = time.monotonic() + args.secs
    while time.monotonic() < end:
        os.eventfd_write(fd, 1)
        n += 1
        time.sleep(0.00005)
    storm["on"] = False
    log("config_storm: %d interrupts, %d link reads in %.1f s" %
        (n, storm["reads"], args.secs))


def speed_change():
    """25000, half -> 100000, full once the driver runs: a configuration
    change (VIRTIO 1.2 4.1.4.3, 5.1.4.2: the driver should read speed and
    duplex again)."""
    if rx_ready(1) is None:
        return
    time.sleep(0.3)
    vec = st["msix_config"]
    fd = msix_efd.get(vec)
    if fd is None:
        log("speed_change: the driver set no configuration vector")
        return
    with cfg_lock:
        struct.pack_into("<IB", bar4, 0x200c, 100000, 1)
        st["gen"] += 1
    os.eventfd_write(fd, 1)
    log("speed_change: speed 100000 duplex 1, config_generation %d, "
        "vector %d signalled" % (st["gen"], vec))


def late_dma():
    """The reset arrives while we write frames: the buffers the driver made
    available on receive queue 0 and we have not used get our bytes. That
    is allowed until the reset completes (device_status reads 0): the
    driver must not have given them back to its pool before."""
    q = queues.get(0)
    if q is None or not q.desc:
        return
    try:
        aidx, i, n = rd16(q.avail + 2), rd16(q.used + 2), 0
        while i != aidx:
            head = rd16(q.avail + 4 + 2 * (i % q.size))
            addr, ln = struct.unpack("<QI", mem_read(q.desc + 16 * head, 12))
            mem_write(addr + NET_HDR_LEN, b"\x5a" * min(ln - NET_HDR_LEN, 64))
            n += 1
            i = (i + 1) & 0xffff
        log("late_dma: wrote into %d available rx buffers as the reset "
            "arrived" % n)
    except KeyError as e:
        log("late_dma: memory gone (%s)" % e)


def evidx(rxq):
    """EVENT_IDX: the driver's avail->flags must be 0 (VIRTIO 1.2
    2.7.10.1), used_event alone says when it wants interrupts."""
    time.sleep(0.2)
    for qi in (0, 1):
        log("evidx: queue %d avail->flags %d" % (qi, rd16(queues[qi].avail)))


# --io-fds: per queue 0-3, (fd the driver gets, fd we read, kind)
io_fds = []
bells_logged = set()


def io_fds_make():
    for q in range(4):
        if args.io_fds == "bad" and q == 0:
            r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            io_fds.append((w, r, "pipe"))
            continue
        e = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        kind = "eventfd"
        if args.io_fds == "bad":
            kind = {1: "datamatch", 2: "size4", 3: "pio"}[q]
        io_fds.append((e, e, kind))


def io_fds_reply(send, mid, cmd):
    """The sub-regions (offset, size, fd_index, type 0, flags, datamatch)."""
    subs = b""
    for q, (fd, _, kind) in enumerate(io_fds):
        size = 4 if kind == "size4" else 2
        flags = {"datamatch": 1, "pio": 2}.get(kind, 0)
        subs += struct.pack("<QQIIIIQ", 0x3000 + q * NOTIFY_MULT, size, q,
                            0, flags, 0, 0x55 if kind == "datamatch" else 0)
    send(mid, cmd, struct.pack("<IIII", 16 + len(subs), 0, BAR4,
                               len(io_fds)) + subs,
         fds=[f for f, _, _ in io_fds])


def io_fds_poll():
    """Log the first doorbell each queue rang through its fd."""
    for q, (_, r, kind) in enumerate(io_fds):
        try:
            os.read(r, 8)
        except BlockingIOError:
            continue
        if ("fd", q) not in bells_logged:
            bells_logged.add(("fd", q))
            log("io_fds: doorbell for queue %d through its %s" % (q, kind))


def io_fds_watch():
    while True:
        io_fds_poll()
        time.sleep(0.005)


def device_thread():
    if MODE == "config_storm":
        config_storm()
        return
    if MODE == "speed_change":
        speed_change()
        return
    act = {"packed_leak": (packed_leak, 192), "mrg_stall": (mrg_stall, 6),
           "mrg_partial": (mrg_partial, 1),
           "fuzz_split": (fuzz, 1), "fuzz_packed": (fuzz, 1),
           "evidx": (evidx, 1)}.get(MODE)
    if act is None:
        return
    rxq = rx_ready(act[1])
    if rxq is not None:
        try:
            act[0](rxq)
        except KeyError as e:
            log("%s: the driver's memory went away (%s)" % (MODE, e))


# ---- the connection ----

def mute(srv):
    """Accept, read, answer nothing, close after --hold; for --secs."""
    end = time.monotonic() + args.secs
    n = 0
    while time.monotonic() < end:
        srv.settimeout(max(0.01, end - time.monotonic()))
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            break
        n += 1
        hold_end = time.monotonic() + args.hold
        try:
            while time.monotonic() < hold_end:
                conn.settimeout(max(0.01, hold_end - time.monotonic()))
                if not conn.recv(4096):
                    break
        except (socket.timeout, ConnectionResetError):
            pass
        conn.close()
    srv.close()
    log("mute: %d connections held unanswered" % n)


def main():
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.socket)
    srv.listen(1)
    log("listening on %s, mode %s" % (args.socket, MODE))
    if MODE == "mute":
        mute(srv)
        return
    conn, _ = srv.accept()
    srv.close()
    send_lock = threading.Lock()

    def send(msg_id, cmd, payload=b"", flags=REPLY, err=0, fds=()):
        h = HDR.pack(msg_id, cmd, HDR.size + len(payload), flags, err)
        anc = []
        if fds:
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                    struct.pack("%di" % len(fds), *fds))]
        with send_lock:
            conn.sendmsg([h + payload], anc)

    def recv_exact(n, fds):
        buf = b""
        while len(buf) < n:
            data, anc, _, _ = conn.recvmsg(n - len(buf), socket.CMSG_SPACE(64 * 4))
            if not data:
                raise EOFError
            for lvl, typ, d in anc:
                if lvl == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    fds += struct.unpack("%di" % (len(d) // 4), d[:len(d) - len(d) % 4])
            buf += data
        return buf

    threading.Thread(target=device_thread, daemon=True).start()
    if args.io_fds != "none":
        io_fds_make()
        threading.Thread(target=io_fds_watch, daemon=True).start()
    while True:
        fds = []
        try:
            h = recv_exact(HDR.size, fds)
            mid, cmd, size, flags, _ = HDR.unpack(h)
            p = recv_exact(size - HDR.size, fds) if size > HDR.size else b""
        except (EOFError, ConnectionResetError):
            if io_fds:
                io_fds_poll()
            log("client gone")
            return
        if cmd == VERSION:
            caps = {"capabilities": {"max_msg_fds": 16,
                                     "max_data_xfer_size": 1 << 20}}
            send(mid, cmd, struct.pack("<HH", 0, 1) + json.dumps(caps).encode() + b"\0")
        elif cmd == GET_INFO:
            # argsz, flags (PCI | RESET), 9 regions, 5 irq types
            send(mid, cmd, struct.pack("<IIII", 16, 3, 9, 5))
        elif cmd == REGION_INFO:
            idx = struct.unpack("<III", p[:12])[2]
            rflags, rfds = 3, ()                # READ | WRITE
            if idx == BAR4 and NOTIFY_MAP != "none":
                rflags, rfds = rflags | 4, (notify_fd,)   # | MMAP
            send(mid, cmd, struct.pack("<IIIIQQ", 32, rflags, idx, 0,
                                       REGION_SIZES.get(idx, 0), 0), fds=rfds)
        elif cmd == REGION_IO_FDS and args.io_fds != "none" and \
                struct.unpack("<III", p[:12])[2] == BAR4:
            io_fds_reply(send, mid, cmd)
        elif cmd == IRQ_INFO:
            idx = struct.unpack("<III", p[:12])[2]
            send(mid, cmd, struct.pack("<IIII", 16, 1, idx, NVEC if idx == 2 else 1))
        elif cmd == SET_IRQS:
            _, _, idx, start, count = struct.unpack("<IIIII", p[:20])
            if MODE in ("config_storm", "speed_change") and idx == 2:
                # MSI-X: kept
                for i, f in enumerate(fds):
                    if start + i in msix_efd:
                        os.close(msix_efd[start + i])
                    msix_efd[start + i] = os.dup(f)
            send(mid, cmd)      # the eventfds are closed below
        elif cmd == REGION_READ:
            off, reg, cnt = struct.unpack("<QII", p[:16])
            if (reg == BAR4 and off < 0x2000 + 0x100 and
                    off + cnt > 0x2000 + DEVCFG_LEN):
                log("devcfg: read [+0x%x, +0x%x) past its %d bytes"
                    % (off - 0x2000, off - 0x2000 + cnt, DEVCFG_LEN))
                send(mid, cmd, flags=REPLY | ERR, err=22)
                continue
            with cfg_lock:
                data = region_read(reg, off, cnt)
            send(mid, cmd, p[:16] + data)
        elif cmd == REGION_WRITE:
            off, reg, cnt = struct.unpack("<QII", p[:16])
            v = int.from_bytes(p[16:16 + cnt], "little")
            if FAIL_AT == (reg, off) and not failed_write:
                failed_write.append(off)
                log("fail_write: refused the write of 0x%x at %s0x%x "
                    "(queue %d)" % (v, "bar1:" if reg == BAR1 else "", off,
                                    st["qsel"]))
                send(mid, cmd, flags=REPLY | ERR, err=22)
                continue
            if failed_write and reg == BAR4 and off == 20:
                log("fail_write: then status 0x%x" % v)
            if failed_write and reg == CONFIG and off == 0x88 + 2:
                log("fail_write: then MSI-X control 0x%x" % v)
            region_write(reg, off, p[16:16 + cnt])
            if not flags & NOREPLY:
                send(mid, cmd, p[:16])
        elif cmd == DMA_MAP:
            _, _, off, addr, sz = struct.unpack("<IIQQQ", p[:32])
            if fds:
                skew = off % mmap.PAGESIZE
                m = mmap.mmap(fds[0], sz + skew, offset=off - skew)
                dma.append((addr, sz, m, skew))
            send(mid, cmd)
        elif cmd == DMA_UNMAP:
            _, _, addr, sz = struct.unpack("<IIQQ", p[:24])
            # dropped from the list only: a device thread still holding
            # the mmap keeps it until it is done
            dma[:] = [w for w in dma if (w[0], w[1]) != (addr, sz)]
            send(mid, cmd, p)
        elif cmd == RESET:
            queues.clear()
            send(mid, cmd)
        else:
            send(mid, cmd, flags=REPLY | ERR, err=38)   # ENOSYS
        for f in fds:
            os.close(f)


main()

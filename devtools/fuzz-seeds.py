#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""Write the seed corpora of app/fuzz (app/fuzz/corpus/<fuzzer>/).

Each seed is a scenario of the conformance suite (app/test/conformance)
or of the NIC tests (app/test/nic), encoded in the input format its
harness documents at the top of its source. Run from the repository root
after changing a format; the seeds are committed.

    devtools/fuzz-seeds.py [OUTDIR]
"""

import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "app/fuzz/corpus"

# commands
VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, REGION_INFO, IO_FDS, IRQ_INFO, \
    SET_IRQS, REGION_READ, REGION_WRITE, DMA_READ, DMA_WRITE, RESET, \
    DIRTY_PAGES, WRITE_MULTI, DEVICE_FEATURE, MIG_READ, MIG_WRITE = range(1, 19)
NO_REPLY = 1 << 4
# fd kinds of fuzz_make_fd()
MEMFD64K, MEMFD4K, MEMFD0, EVENTFD, PIPE_R, PIPE_W, SOCKET, DEVNULL = range(8)


def write(fuzzer, name, data):
    d = os.path.join(OUT, fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def version_payload(json, minor=1):
    return struct.pack("<HH", 0, minor) + (json.encode() + b"\0" if json is not None else b"")


CAPS = '{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":1048576}}'
TWIN = '{"capabilities":{"max_msg_fds":8,"twin_socket":{"supported":true}}}'
WM = '{"capabilities":{"write_multiple":true}}'

# ---- fuzz_version: VERSION payloads (test_version and the bad_* cases) ----

VERSION_SEEDS = {
    "caps": (CAPS, 1),
    "caps_all": ('{"capabilities":{"max_msg_fds":8,"max_data_xfer_size":65536,'
                 '"max_dma_maps":16,"pgsizes":4096,"write_multiple":true,'
                 '"migration":{"pgsize":4096,"max_bitmap_size":1048576}}}', 1),
    "fds4": ('{"capabilities":{"max_msg_fds":4}}', 1),
    "fds0": ('{"capabilities":{"max_msg_fds":0}}', 1),
    "fds0_twin": ('{"capabilities":{"max_msg_fds":0,"twin_socket":{"supported":true}}}', 1),
    "wm_false": ('{"capabilities":{"write_multiple":false,"max_msg_fds":2}}', 1),
    "empty_object": ("{}", 1),
    "empty_caps_newer_minor": ('{"capabilities":{}}', 0xffff),
    "twin": (TWIN, 1),
    "no_json": (None, 1),
    "minor0": (CAPS, 0),
    "truncated": ('{"capabilities":{"max_msg_fds":', 1),
    "not_a_number": ('{"capabilities":{"max_msg_fds":"many"}}', 1),
    "duplicate_key": ('{"capabilities":{"max_msg_fds":1,"max_msg_fds":2}}', 1),
    "bad_pgsizes": ('{"capabilities":{"pgsizes":8192}}', 1),
    "huge_numbers": ('{"capabilities":{"max_msg_fds":18446744073709551615,'
                     '"max_data_xfer_size":-1}}', 1),
    "array_root": ('[{"capabilities":{}}]', 1),
    "caps_not_object": ('{"capabilities":[1,2]}', 1),
    "twin_not_bool": ('{"capabilities":{"twin_socket":{"supported":1}}}', 1),
    "migration_not_object": ('{"capabilities":{"migration":true}}', 1),
}


def version_seeds():
    for name, (json, minor) in VERSION_SEEDS.items():
        write("fuzz_version", name, version_payload(json, minor))
    # a NUL inside the data, and data without its NUL
    write("fuzz_version", "embedded_nul", version_payload("{}") + b"{}\0")
    write("fuzz_version", "no_nul", struct.pack("<HH", 0, 1) + b"{}")
    write("fuzz_version", "major1", struct.pack("<HH", 1, 0) + b"{}\0")


# ---- fuzz_server: message records ----

def rec(cmd, payload=b"", fds=(), flags=0, msg_id=1, split=None, size=None):
    ctl = len(fds) | (0x40 if size is not None else 0) | (0x80 if split is not None else 0)
    out = bytes([ctl]) + bytes(fds) + struct.pack("<H", len(payload))
    if split is not None:
        out += struct.pack("<H", split)
    out += struct.pack("<HHIII", msg_id, cmd,
                       size if size is not None else 16 + len(payload), flags, 0)
    return out + payload


def ver(json=CAPS):
    return rec(VERSION, version_payload(json))


def region_info(i):
    return rec(REGION_INFO, struct.pack("<IIIIQQ", 32 + 256, 0, i, 0, 0, 0), msg_id=10 + i)


def access(region, offset, count, data=b""):
    return struct.pack("<QII", offset, region, count) + data


def irq_set(index, flags, start, count, data=b""):
    return struct.pack("<IIIII", 20 + len(data), flags, index, start, count) + data


def dma_map(iova, size, flags=3, offset=0):
    return struct.pack("<IIQQQ", 32, flags, offset, iova, size)


def dma_unmap(iova, size, flags=0, bitmap=b""):
    return struct.pack("<IIQQ", 24 + len(bitmap), flags, iova, size) + bitmap


EVFD_TRIGGER = 4 | 32
BOOL_MASK = 2 | 8
NONE_UNMASK = 1 | 16


def server_seeds():
    s = {}
    s["version"] = ver()
    s["version_twin"] = ver(TWIN)
    s["get_info"] = ver() + rec(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), msg_id=2)
    s["region_info"] = ver() + b"".join(region_info(i) for i in range(10))
    s["region_info_small_argsz"] = ver() + rec(
        REGION_INFO, struct.pack("<IIIIQQ", 32, 0, 2, 0, 0, 0), msg_id=3)
    s["region_io_fds"] = ver() + rec(IO_FDS, struct.pack("<IIII", 16 + 64, 0, 4, 0), msg_id=2)
    s["irq_info"] = ver() + b"".join(
        rec(IRQ_INFO, struct.pack("<IIII", 16, 0, i, 0), msg_id=2 + i) for i in range(6))
    s["region_rw"] = ver() + rec(REGION_WRITE, access(0, 16, 8, b"\x11" * 8), msg_id=2) + \
        rec(REGION_READ, access(0, 16, 8), msg_id=3) + \
        rec(REGION_READ, access(7, 0, 64), msg_id=4) + \
        rec(REGION_WRITE, access(2, 100, 4, b"\1\2\3\4"), msg_id=5) + \
        rec(REGION_READ, access(9, 4090, 6), msg_id=6) + \
        rec(REGION_WRITE, access(4, 0x100, 4, struct.pack("<I", 0x1234)), msg_id=7)
    # config space: command register, BAR sizing, MSI-X enable (cap at 0x40),
    # a table entry written through BAR0, vectors given eventfds
    s["pci_msix"] = ver() + \
        rec(REGION_WRITE, access(7, 4, 2, struct.pack("<H", 0x0406)), msg_id=2) + \
        rec(REGION_WRITE, access(7, 0x10, 4, b"\xff" * 4), msg_id=3) + \
        rec(REGION_READ, access(7, 0x10, 4), msg_id=4) + \
        rec(REGION_READ, access(7, 0x34, 1), msg_id=5) + \
        rec(REGION_WRITE, access(7, 0x42, 2, struct.pack("<H", 0x8000)), msg_id=6) + \
        rec(REGION_WRITE, access(0, 0x800, 16, struct.pack("<QII", 0xfee00000, 0x4021, 0)),
            msg_id=7) + \
        rec(SET_IRQS, irq_set(2, EVFD_TRIGGER, 0, 2), fds=(EVENTFD, EVENTFD), msg_id=8) + \
        rec(REGION_WRITE, access(0, 0x80c, 4, struct.pack("<I", 1)), msg_id=9) + \
        rec(REGION_READ, access(0, 0xc00, 8), msg_id=10) + \
        rec(REGION_WRITE, access(0, 0x80c, 4, struct.pack("<I", 0)), msg_id=11)
    s["write_multi"] = ver(WM) + rec(WRITE_MULTI, struct.pack("<Q", 2) +
                                     struct.pack("<QII", 0, 0, 4) + b"\1\2\3\4" + b"\0" * 4 +
                                     struct.pack("<QII", 4, 7, 2) + b"\6\0" + b"\0" * 6,
                                     msg_id=2)
    s["reset"] = ver() + rec(REGION_WRITE, access(0, 0, 4, b"abcd"), msg_id=2) + \
        rec(RESET, msg_id=3) + rec(REGION_READ, access(0, 0, 4), msg_id=4)
    s["no_reply"] = ver() + rec(REGION_WRITE, access(0, 0, 4, b"abcd"), flags=NO_REPLY,
                                msg_id=2) + rec(REGION_READ, access(0, 9000, 4), flags=NO_REPLY,
                                                msg_id=3)
    s["pipelining"] = ver() + b"".join(rec(REGION_READ, access(0, 4 * i, 4), msg_id=100 + i)
                                       for i in range(16))
    s["set_irqs"] = ver() + \
        rec(SET_IRQS, irq_set(2, EVFD_TRIGGER, 0, 4), fds=(EVENTFD,) * 4, msg_id=2) + \
        rec(SET_IRQS, irq_set(2, BOOL_MASK, 1, 2, b"\1\0"), msg_id=3) + \
        rec(SET_IRQS, irq_set(0, EVFD_TRIGGER, 0, 1), fds=(EVENTFD,), msg_id=4) + \
        rec(SET_IRQS, irq_set(0, NONE_UNMASK, 0, 1), msg_id=5) + \
        rec(SET_IRQS, irq_set(0, 4 | 8, 0, 1), fds=(EVENTFD,), msg_id=6) + \
        rec(SET_IRQS, irq_set(2, 1 | 32, 0, 0), msg_id=7) + \
        rec(SET_IRQS, irq_set(2, EVFD_TRIGGER, 0, 0), msg_id=8)
    s["dma_map"] = ver() + rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD64K,), msg_id=2) + \
        rec(DMA_MAP, dma_map(0x40000, 0x1000, 1), fds=(MEMFD4K,), msg_id=3) + \
        rec(DMA_UNMAP, dma_unmap(0x10000, 0x10000), msg_id=4) + \
        rec(DMA_UNMAP, dma_unmap(0, 0, 2), msg_id=5)
    s["dma_map_too_small_fd"] = ver() + \
        rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD4K,), msg_id=2) + \
        rec(DMA_MAP, dma_map(0x10000, 0x1000), fds=(MEMFD0,), msg_id=3) + \
        rec(DMA_MAP, dma_map(0x10000, 0x1000), fds=(EVENTFD,), msg_id=4)
    s["dma_map_message_only"] = ver() + rec(DMA_MAP, dma_map(0x10000, 0x2000), msg_id=2) + \
        rec(DMA_UNMAP, dma_unmap(0x10000, 0x2000), msg_id=3)
    s["dirty_pages"] = ver() + rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD64K,),
                                   msg_id=2) + \
        rec(DIRTY_PAGES, struct.pack("<II", 8, 1), msg_id=3) + \
        rec(REGION_READ, access(0, 0, 4), msg_id=4) + \
        rec(DIRTY_PAGES, struct.pack("<II", 8 + 32 + 2, 4) +
            struct.pack("<QQQQ", 0x10000, 0x10000, 4096, 2), msg_id=5) + \
        rec(DMA_UNMAP, dma_unmap(0x10000, 0x10000, 1, struct.pack("<QQ", 4096, 2)), msg_id=6) + \
        rec(DIRTY_PAGES, struct.pack("<II", 8, 2), msg_id=7)
    s["device_feature"] = ver() + \
        rec(DEVICE_FEATURE, struct.pack("<II", 8, (1 << 18) | 1), msg_id=2) + \
        rec(DEVICE_FEATURE, struct.pack("<II", 8 + 16, (1 << 17) | 6) +
            struct.pack("<QII", 4096, 1, 0) + struct.pack("<QQ", 0x10000, 0x10000), msg_id=3) + \
        rec(MIG_READ, struct.pack("<II", 8, 64), msg_id=4)
    # DMA logging over unmaps: the pages of a region unmapped while
    # logging, reported after (exact unmap, a range, UNMAP_ALL)
    start = rec(DEVICE_FEATURE, struct.pack("<II", 8 + 16, (1 << 17) | 6) +
                struct.pack("<QII", 4096, 0, 0), msg_id=3)

    def report(iova, length, msg_id):
        return rec(DEVICE_FEATURE, struct.pack("<II", 8 + 24 + 8, (1 << 16) | 8) +
                   struct.pack("<QQQ", iova, length, 4096), msg_id=msg_id)
    s["logging_unmapped"] = ver() + \
        rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD64K,), msg_id=2) + start + \
        rec(REGION_READ, access(0, 0, 4), msg_id=4) + \
        rec(DMA_UNMAP, dma_unmap(0x10000, 0x10000), msg_id=5) + \
        report(0x10000, 0x10000, 6) + \
        rec(DMA_MAP, dma_map(0x20000, 0x10000), fds=(MEMFD64K,), msg_id=7) + \
        rec(DMA_UNMAP, dma_unmap(0, 0x100000), msg_id=8) + \
        report(0x18000, 0x20000, 9) + \
        rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD64K,), msg_id=10) + \
        rec(DMA_UNMAP, dma_unmap(0, 0, 2), msg_id=11) + \
        report(0, 0x40000, 12) + \
        rec(DEVICE_FEATURE, struct.pack("<II", 8, (1 << 17) | 7), msg_id=13)
    # the bad_* table of the conformance suite
    s["bad_before_version"] = rec(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0)) + ver()
    s["bad_version_twice"] = ver() + ver()
    s["bad_unknown_command"] = ver() + rec(200, b"\0" * 8, msg_id=2) + rec(DMA_READ, msg_id=3)
    s["bad_flags"] = ver() + rec(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), flags=0x100,
                                 msg_id=2) + \
        rec(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0), flags=1, msg_id=3)
    s["bad_size_short"] = ver() + rec(GET_INFO, b"\0" * 4, msg_id=2)
    s["bad_size_oversized"] = ver() + rec(REGION_READ, access(0, 0, 4), size=0x7fffffff,
                                          msg_id=2)
    s["bad_size_header_only"] = ver() + rec(REGION_READ, b"", size=8, msg_id=2)
    s["bad_too_many_fds"] = ver() + rec(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0),
                                        fds=(EVENTFD, PIPE_R), msg_id=2)
    s["bad_region_index"] = ver() + region_info(40) + \
        rec(REGION_READ, access(63, 0, 4), msg_id=3) + \
        rec(REGION_READ, access(0, 0xfffffffffffffffc, 8), msg_id=4)
    s["bad_set_irqs"] = ver() + \
        rec(SET_IRQS, irq_set(2, EVFD_TRIGGER, 6, 4), fds=(EVENTFD,) * 4, msg_id=2) + \
        rec(SET_IRQS, irq_set(2, EVFD_TRIGGER, 0, 2), fds=(EVENTFD,), msg_id=3) + \
        rec(SET_IRQS, irq_set(9, NONE_UNMASK, 0, 1), msg_id=4) + \
        rec(SET_IRQS, irq_set(2, 3 | 32, 0, 1), msg_id=5)
    s["bad_dma_overlap"] = ver() + rec(DMA_MAP, dma_map(0x10000, 0x10000), fds=(MEMFD64K,),
                                       msg_id=2) + \
        rec(DMA_MAP, dma_map(0x18000, 0x1000), fds=(MEMFD4K,), msg_id=3) + \
        rec(DMA_MAP, dma_map(0xfffffffffffff000, 0x2000), fds=(MEMFD64K,), msg_id=4) + \
        rec(DMA_UNMAP, dma_unmap(0x10000, 0x1000), msg_id=5)
    s["partial_message"] = ver() + rec(REGION_READ, access(0, 0, 4), split=5, msg_id=2) + \
        rec(REGION_WRITE, access(0, 0, 4, b"wxyz"), split=20, fds=(EVENTFD,), msg_id=3)
    s["write_then_close"] = ver() + rec(REGION_WRITE, access(0, 0, 4096, b"\x42" * 4096),
                                        msg_id=2)
    s["reply_from_client"] = ver() + rec(DMA_READ, b"\0" * 16, flags=1, msg_id=7)
    for name, data in s.items():
        write("fuzz_server", name, data)


# ---- fuzz_vring ----

MEM_IOVA = 0x40000
DESC, AVAIL, USED, BUF = 0x0, 0x1000, 0x2000, 0x4000
F_PACKED, F_IN_ORDER, F_EVENT_IDX, F_INDIRECT, F_MRG, F_MSIX, F_LOG, F_NOVEC = \
    (1 << i for i in range(8))
D_NEXT, D_WRITE, D_INDIRECT = 1, 2, 4
P_AVAIL, P_USED = 1 << 7, 1 << 15


def vq(feat, size_field, la=0, lu=0, desc=DESC, avail=AVAIL, used=USED):
    return struct.pack("<BHHHHHH", feat, size_field, desc, avail, used, la, lu)


def op_write(off, data):
    assert len(data) < 1024
    return struct.pack("<BHH", 0, off, len(data)) + data


def op_rx(n):
    return struct.pack("<BB", 1, n)


def op_tx(pkts):
    return struct.pack("<BB", 2, len(pkts)) + b"".join(struct.pack("<HB", ln, segs - 1)
                                                       for ln, segs in pkts)


def frame(n):
    return bytes(12) + bytes((i * 7) & 0xff for i in range(n))


def split_desc(i, addr, ln, flags=0, nxt=0):
    return op_write(DESC + 16 * i, struct.pack("<QIHH", addr, ln, flags, nxt))


def split_avail(heads, flags=0):
    return op_write(AVAIL, struct.pack("<HH", flags, len(heads)) +
                    b"".join(struct.pack("<H", h) for h in heads))


def packed_desc(i, addr, ln, id_, flags):
    return op_write(DESC + 16 * i, struct.pack("<QIHH", addr, ln, id_, flags))


def vring_seeds():
    s = {}
    size8 = 3  # split: 1 << 3
    # the driver transmits 4 frames (one descriptor each): rx_burst
    body = b"".join(op_write(BUF + 0x800 * i, frame(60 + i)) for i in range(4))
    body += b"".join(split_desc(i, MEM_IOVA + BUF + 0x800 * i, 72 + i) for i in range(4))
    body += split_avail([0, 1, 2, 3])
    for feat, name in ((0, "split_rx"), (F_IN_ORDER, "split_rx_in_order"),
                       (F_EVENT_IDX | F_MSIX, "split_rx_event_idx_msix"),
                       (F_LOG, "split_rx_logging")):
        s[name] = vq(feat, size8) + body + op_rx(32) + op_rx(8)
    # chains: header alone, then the frame in two pieces; an indirect table
    body = op_write(BUF, frame(100)) + split_desc(0, MEM_IOVA + BUF, 12, D_NEXT, 1) + \
        split_desc(1, MEM_IOVA + BUF + 12, 50, D_NEXT, 2) + \
        split_desc(2, MEM_IOVA + BUF + 62, 50) + \
        op_write(0x3000, struct.pack("<QIHH", MEM_IOVA + BUF, 12, D_NEXT, 1) +
                 struct.pack("<QIHH", MEM_IOVA + BUF + 12, 100, 0, 0)) + \
        split_desc(3, MEM_IOVA + 0x3000, 32, D_INDIRECT) + split_avail([0, 3])
    s["split_rx_chain_indirect"] = vq(F_INDIRECT, size8) + body + op_rx(4)
    # a chain that loops, a head out of range, a buffer in the read-only region
    body = split_desc(0, MEM_IOVA + BUF, 100, D_NEXT, 1) + \
        split_desc(1, MEM_IOVA + BUF, 100, D_NEXT, 0) + \
        split_desc(2, MEM_IOVA + 0x10000 + 16, 64) + split_avail([0, 9, 2])
    s["split_rx_bad"] = vq(0, size8) + body + op_rx(4)
    # the driver posts receive buffers: tx_burst
    body = b"".join(split_desc(i, MEM_IOVA + BUF + 0x800 * i, 2048, D_WRITE) for i in range(8))
    body += split_avail(list(range(8)))
    s["split_tx"] = vq(0, size8) + body + op_tx([(60, 1), (1500, 1), (64, 2), (3000, 3)])
    s["split_tx_in_order"] = vq(F_IN_ORDER, size8) + body + op_tx([(60, 1)] * 6)
    body = b"".join(split_desc(i, MEM_IOVA + BUF + 0x100 * i, 256, D_WRITE) for i in range(8))
    body += split_avail(list(range(8)))
    s["split_tx_mrg_rxbuf"] = vq(F_MRG | F_EVENT_IDX, size8) + body + \
        op_tx([(1000, 1), (60, 1)]) + op_write(AVAIL + 2, struct.pack("<H", 8)) + \
        op_tx([(300, 2)])
    s["split_both_ways"] = vq(F_IN_ORDER | F_MSIX, size8) + body + struct.pack("<B", 3) + \
        struct.pack("<B", 3)
    s["split_wrapped_indices"] = vq(0, size8, la=0xfffe, lu=0xfffe) + \
        b"".join(split_desc(i, MEM_IOVA + BUF + 0x800 * i, 72) for i in range(2)) + \
        op_write(AVAIL, struct.pack("<HH", 0, 0)) + \
        op_write(AVAIL + 4 + 2 * 6, struct.pack("<HH", 0, 1)) + op_rx(8)

    size16 = 15  # packed: 1 + 15
    # packed: 4 frames for rx_burst, avail bit = wrap (1), used bit != wrap
    body = b"".join(op_write(BUF + 0x800 * i, frame(60 + i)) for i in range(4))
    body += b"".join(packed_desc(i, MEM_IOVA + BUF + 0x800 * i, 72 + i, i, P_AVAIL)
                     for i in range(4))
    pk = vq(F_PACKED, size16, la=0x8000, lu=0x8000, avail=0x1000, used=0x1010)
    pk_io = vq(F_PACKED | F_IN_ORDER, size16, la=0x8000, lu=0x8000, avail=0x1000, used=0x1010)
    s["packed_rx"] = pk + body + op_rx(32)
    s["packed_rx_in_order"] = pk_io + body + op_rx(32)
    body = op_write(BUF, frame(100)) + \
        packed_desc(0, MEM_IOVA + BUF, 12, 0, P_AVAIL | D_NEXT) + \
        packed_desc(1, MEM_IOVA + BUF + 12, 100, 0, P_AVAIL) + \
        op_write(0x3000, struct.pack("<QIHH", MEM_IOVA + BUF, 112, 0, 0)) + \
        packed_desc(2, MEM_IOVA + 0x3000, 16, 1, P_AVAIL | D_INDIRECT)
    s["packed_rx_chain_indirect"] = vq(F_PACKED | F_INDIRECT, size16, la=0x8000, lu=0x8000,
                                       avail=0x1000, used=0x1010) + body + op_rx(4)
    body = b"".join(packed_desc(i, MEM_IOVA + BUF + 0x800 * i, 2048, i, P_AVAIL | D_WRITE)
                    for i in range(8))
    s["packed_tx"] = pk + body + op_tx([(60, 1), (1500, 1), (64, 2), (3000, 3)])
    s["packed_tx_in_order"] = pk_io + body + op_tx([(60, 1)] * 6)
    body = b"".join(packed_desc(i, MEM_IOVA + BUF + 0x100 * i, 256, i, P_AVAIL | D_WRITE)
                    for i in range(8))
    s["packed_tx_mrg_rxbuf_event"] = vq(F_PACKED | F_MRG | F_EVENT_IDX | F_MSIX, size16,
                                        la=0x8000, lu=0x8000, avail=0x1000, used=0x1010) + \
        body + op_write(0x1000, struct.pack("<HH", 0x8004, 2)) + op_tx([(1000, 1), (60, 1)])
    # near the end of an odd-sized ring: positions wrap
    s["packed_wrap_odd_size"] = vq(F_PACKED, 4, la=0x8003, lu=0x8003, avail=0x1000,
                                   used=0x1010) + \
        packed_desc(3, MEM_IOVA + BUF, 72, 0, P_AVAIL) + \
        packed_desc(0, MEM_IOVA + BUF, 72, 1, P_USED) + op_rx(4) + op_rx(4)
    # segmentation (size field bits 11-13): the driver sends a 10000-byte
    # GSO packet (TCP/IPv4, longer than any frame but one); the port sends
    # a 5000-byte segmentation request (b 0x3c: l3_len 48, MSS 501) whole
    # to a driver that takes GSO packets, cut into segments to one that
    # does not
    gso_hdr = struct.pack("<BBHHHHH", 1, 1, 54, 1448, 34, 16, 0)
    tcp = bytes(6) + bytes([2]) + bytes(5) + b"\x08\x00" + \
        bytes([0x45, 0]) + struct.pack(">H", 10000 - 14) + bytes(5) + \
        bytes([6]) + bytes(10) + bytes(12) + bytes([0x50]) + bytes(7)
    pkt = gso_hdr + tcp + bytes((i * 5) & 0xff for i in range(10000 - len(tcp)))
    body = b"".join(op_write(BUF + o, pkt[o:o + 1000]) for o in range(0, len(pkt), 1000))
    body += split_desc(0, MEM_IOVA + BUF, len(pkt)) + split_avail([0])
    s["split_rx_gso"] = vq(0, size8 | 0x2800) + body + op_rx(4)
    # ...and kept partial (bit 10: rx_partial), not summed
    s["split_rx_gso_kept"] = vq(0, size8 | 0x2c00) + body + op_rx(4)
    # a 200-byte TCP/IPv4 frame with a partial checksum, kept
    csum_hdr = struct.pack("<BBHHHHH", 1, 0, 0, 0, 34, 16, 0)
    tcp200 = tcp[:16] + struct.pack(">H", 200 - 14) + tcp[18:]
    pkt = csum_hdr + tcp200 + bytes(200 - len(tcp200))
    body = op_write(BUF, pkt) + split_desc(0, MEM_IOVA + BUF, len(pkt)) + \
        split_avail([0])
    s["split_rx_partial_kept"] = vq(0, size8 | 0x2400) + body + op_rx(4)
    body = b"".join(split_desc(i, MEM_IOVA + BUF + 0x800 * i, 2048, D_WRITE) for i in range(16))
    body += split_avail(list(range(16)))
    s["split_tx_gso"] = vq(F_MRG, 4 | 0x1800) + body + \
        struct.pack("<BBHB", 2, 1, 5000, 0x3c)
    s["split_tx_cut"] = vq(F_MRG, 4) + body + struct.pack("<BBHB", 2, 1, 5000, 0x3d)
    for name, data in s.items():
        write("fuzz_vring", name, data)


# ---- fuzz_client: replies to the client's requests ----

def reply(req_payload, want, ctl=0, fds=(), pre=b""):
    """A record whose reply payload is want (XOR against the request)."""
    n = len(want)
    delta = bytes(want[i] ^ (req_payload[i] if i < len(req_payload) else 0) for i in range(n))
    assert len(fds) < 8
    return bytes([ctl | (len(fds) << 5)]) + pre + struct.pack("<H", n) + delta + bytes(fds)


def echo(req_payload):
    return reply(req_payload, req_payload)


def client_json(write_multi=False, twin=False):
    j = '{"capabilities":{"max_msg_fds":64,"max_data_xfer_size":1048576'
    if write_multi:
        j += ',"write_multiple":true'
    if twin:
        j += ',"twin_socket":{"supported":true}'
    return j + "}}"


def server_json(write_multi=False, twin=False):
    j = '{"capabilities":{"max_msg_fds":16,"max_data_xfer_size":1048576,' \
        '"max_dma_maps":65535,"pgsizes":4096'
    if write_multi:
        j += ',"write_multiple":true'
    if twin:
        j += ',"twin_socket":{"supported":true,"fd_index":0}'
    return j + "}}"


def region_req(i, argsz=32 + 256):
    return struct.pack("<IIIIQQ", argsz, 0, i, 0, 0, 0)


def region_rep(i, flags, size, caps=b"", argsz=None):
    cap_off = 32 if caps else 0
    body = struct.pack("<IIIIQQ", argsz or 32 + len(caps), flags | (8 if caps else 0), i,
                       cap_off, size, 0x10000 if i == 2 else 0)
    return body + caps


def sparse_cap(nxt, areas):
    return struct.pack("<HHIII", 1, 1, nxt, len(areas), 0) + \
        b"".join(struct.pack("<QQ", o, sz) for o, sz in areas)


def type_cap(nxt, t, st):
    return struct.pack("<HHIII", 2, 1, nxt, t, st)


def client_session(config, dma_req=None, tweak=None):
    wm, twin = bool(config & 2), bool(config & 1)
    r = [bytes([config])]
    vreq = version_payload(client_json(wm, twin))
    vrep = version_payload(server_json(wm, twin))
    r.append(reply(vreq, vrep, fds=(SOCKET,) if twin else ()))
    r.append(echo(dma_map(0x10000, 8192)))
    r.append(echo(dma_map(0x100000, 4096, 1)))
    info_req = struct.pack("<IIII", 16, 0, 0, 0)
    r.append(reply(info_req, struct.pack("<IIII", 16, 3, 10, 5)))
    caps2 = sparse_cap(32 + 40, [(0, 16384), (32768, 16384)]) + type_cap(0, 0x8086, 2)
    sizes = {0: 4096, 2: 65536, 4: 4096, 7: 4096, 9: 4096}
    for i in range(10):
        if i == 2:
            want = region_rep(2, 7, 65536, caps2)
            r.append(reply(region_req(2), want, fds=(MEMFD64K,)))
        elif i == 9:
            r.append(reply(region_req(9), region_rep(9, 1, 4096, type_cap(0, 0x8086, 1))))
        else:
            r.append(reply(region_req(i), region_rep(i, 3 if i in sizes else 0,
                                                     sizes.get(i, 0))))
    # region_mmap(2) asks again
    r.append(reply(region_req(2), region_rep(2, 7, 65536, caps2), fds=(MEMFD64K,)))
    io_req = struct.pack("<IIII", 16 + 8 * 32, 0, 4, 0)
    io_rep = struct.pack("<IIII", 16 + 2 * 32, 0, 4, 2) + \
        struct.pack("<QQIIIIQ", 0, 4, 0, 0, 0, 0, 0) + \
        struct.pack("<QQIIIIQ", 0x100, 4, 1, 0, 1, 0, 0x1234)
    r.append(reply(io_req, io_rep, fds=(EVENTFD, EVENTFD)))
    for i, (fl, cnt) in enumerate(((7, 1), (9, 1), (9, 8), (1, 1), (1, 1))):
        q = struct.pack("<IIII", 16, 0, i, 0)
        r.append(reply(q, struct.pack("<IIII", 16, fl, i, cnt)))
    # SET_IRQS: eventfds [e0, e1], [-1], [e3]; then BOOL mask; NONE unmask
    for q in (irq_set(2, EVFD_TRIGGER, 0, 2), irq_set(2, EVFD_TRIGGER, 2, 1),
              irq_set(2, EVFD_TRIGGER, 3, 1), irq_set(2, BOOL_MASK, 0, 4, b"\1\0\1\0"),
              irq_set(0, NONE_UNMASK, 0, 1)):
        r.append(echo(q))
    rd = access(0, 16, 256)
    r.append(reply(rd, rd + bytes(range(256)), ctl=0x08 if dma_req else 0,
                   pre=dma_req or b""))
    r.append(echo(access(0, 16, 64, b"\x5a" * 64)))
    if wm:
        r.append(reply(struct.pack("<Q", 3), struct.pack("<Q", 3)))
    else:
        for i in range(3):
            q = access(7, 4 * i, 2 + i, b"\0" * (2 + i))
            r.append(echo(q))
    r.append(echo(struct.pack("<II", 8, 1)))
    gq = struct.pack("<II", 8 + 32 + 32, 4) + struct.pack("<QQQQ", 0x10000, 8192, 4096, 32)
    r.append(reply(gq, gq + b"\3" + b"\0" * 31))
    r.append(echo(struct.pack("<II", 8, 2)))
    r.append(reply(b"", b""))
    r.append(echo(dma_unmap(0x100000, 4096)))
    r.append(echo(dma_unmap(0x10000, 8192)))
    data = b"".join(r)
    if tweak:
        data = tweak(data)
    return data


def client_seeds():
    s = {}
    s["session"] = client_session(0)
    s["session_write_multi"] = client_session(2)
    s["session_twin"] = client_session(1)
    s["session_twin_write_multi"] = client_session(3)
    # the server reads and writes client memory in the middle of a reply
    dma_rd = struct.pack("<BH", 0, 16) + struct.pack("<QQ", 0x10000, 16)
    dma_wr = struct.pack("<BH", 1, 20) + struct.pack("<QQ", 0x10010, 4) + b"dcba"
    s["session_dma_read"] = client_session(0, dma_req=dma_rd)
    s["session_dma_write"] = client_session(0, dma_req=dma_wr)
    s["session_dma_bad"] = client_session(0, dma_req=struct.pack("<BH", 0, 16) +
                                          struct.pack("<QQ", 0xfff0, 64))
    # early endings, errors, replies nobody waits for, lies
    vreq = version_payload(client_json())
    s["version_only"] = bytes([0]) + echo(vreq)
    s["version_error"] = bytes([0]) + bytes([1]) + b"\x5f" + struct.pack("<H", 0)
    s["version_hangup"] = bytes([0, 3])
    s["version_unmatched_first"] = bytes([0]) + reply(vreq, vreq, ctl=0x04)
    s["version_raw_flags"] = bytes([0, 2]) + struct.pack("<II", 0, 0) + \
        struct.pack("<H", len(vreq)) + bytes(len(vreq))
    s["version_size_lie"] = bytes([0, 0x10]) + struct.pack("<I", 0x100000) + \
        struct.pack("<H", len(vreq)) + bytes(len(vreq))
    s["version_bad_json"] = bytes([0]) + reply(vreq, version_payload('{"capabilities":['))
    s["version_newer_minor"] = bytes([0]) + reply(vreq, version_payload(server_json(), 9))
    s["version_twin_no_fd"] = bytes([1]) + reply(version_payload(client_json(twin=True)),
                                                 version_payload(server_json(twin=True)))
    for name, data in s.items():
        write("fuzz_client", name, data)


# ---- fuzz_vnet ----

V_PORT1, V_MAP, V_MSIX, V_UP = 1, 2, 4, 8
V_QBASE = 0x2000            # queue q's rings at q * V_QBASE
V_BUF = 0xa000              # packet buffers, after the five queues' rings
F_VERSION_1, F_MQ, F_CTRL_VQ, F_STATUS, F_MAC = 1 << 32, 1 << 22, 1 << 17, 1 << 16, 1 << 5
F_CTRL_RX, F_CTRL_MAC_ADDR, F_RING_RESET = 1 << 18, 1 << 23, 1 << 40
F_RING_PACKED, F_IN_ORDER_1, F_MRG_RXBUF, F_EVENT_IDX_1 = 1 << 34, 1 << 35, 1 << 15, 1 << 29
V_SPLIT = F_VERSION_1 | F_MQ | F_CTRL_VQ | F_CTRL_RX | F_CTRL_MAC_ADDR | F_STATUS | F_MAC
V_PACKED = V_SPLIT | F_RING_PACKED | F_IN_ORDER_1


def vn_write(off, data):
    assert len(data) < 1024
    return struct.pack("<BHH", 2, off, len(data)) + data


def vn_rx(q, n):
    return struct.pack("<BBB", 3, q, n)


def vn_tx(q, pkts):
    return struct.pack("<BBB", 4, q, len(pkts)) + \
        b"".join(struct.pack("<HB", ln, segs - 1) for ln, segs in pkts)


def vn_up(features, nq=5, qsize=64):
    return struct.pack("<BQBH", 5, features, nq, qsize)


def vn_region_write(region, off, data):
    return struct.pack("<BBHB", 0, region, off, len(data)) + data


def vn_doorbell(q):
    return struct.pack("<BB", 12, q)


def vn_split_post(q, bufs, write):
    """Descriptors 0.. of queue q, one per (offset, length), and the avail
    ring listing them."""
    base = q * V_QBASE
    desc = b"".join(struct.pack("<QIHH", MEM_IOVA + off, ln, D_WRITE if write else 0, 0)
                    for off, ln in bufs)
    avail = struct.pack("<HH", 0, len(bufs)) + b"".join(struct.pack("<H", i)
                                                       for i in range(len(bufs)))
    return vn_write(base, desc) + vn_write(base + 0x1000, avail)


def vn_packed_post(q, bufs, write):
    """Packed descriptors 0.. of queue q (wrap counter 1: AVAIL set, USED
    clear), ids their positions, the first one's flags written last."""
    base = q * V_QBASE
    out = b""
    for i, (off, ln) in reversed(list(enumerate(bufs))):
        out += vn_write(base + 16 * i, struct.pack("<QIHH", MEM_IOVA + off, ln, i,
                                                  P_AVAIL | (D_WRITE if write else 0)))
    return out


def vn_ctrl(cmds, packed):
    """Control commands (class, command, data) on queue 4 (MQ, 2 pairs),
    each a chain of the command and a one-byte writable ack, then the
    queue's doorbell. Packed: ids the command's index, wrap counter 1,
    the first flags written last."""
    base = 4 * V_QBASE
    out = b""
    descs = []
    for k, (cls, cmd, data) in enumerate(cmds):
        off = V_BUF + 0x4000 + 0x100 * k
        out += vn_write(off, bytes([cls, cmd]) + data) + vn_write(off + 0x80, b"\xff")
        descs.append((MEM_IOVA + off, 2 + len(data), True))
        descs.append((MEM_IOVA + off + 0x80, 1, False))
    if not packed:
        table = b"".join(struct.pack("<QIHH", a, ln, D_NEXT if first else D_WRITE,
                                     i + 1 if first else 0)
                         for i, (a, ln, first) in enumerate(descs))
        heads = range(0, len(descs), 2)
        out += vn_write(base, table) + \
            vn_write(base + 0x1000, struct.pack("<HH", 0, len(heads)) +
                     b"".join(struct.pack("<H", h) for h in heads))
    else:
        for i, (a, ln, first) in reversed(list(enumerate(descs))):
            out += vn_write(base + 16 * i, struct.pack(
                "<QIHH", a, ln, i // 2, P_AVAIL | (D_NEXT if first else D_WRITE)))
    return out + vn_doorbell(4)


def vnet_seeds():
    s = {}
    frames = b"".join(vn_write(V_BUF + 0x800 * i, frame(60 + i)) for i in range(4))
    tx_bufs = [(V_BUF + 0x800 * i, 72 + i) for i in range(4)]
    rx_bufs = [(V_BUF + 0x2000 + 0x800 * i, 0x800) for i in range(4)]
    pkts = [(60, 1), (1514, 2), (64, 1), (3000, 4)]
    # the driver transmits 4 frames (the device's rx_burst) and posts 4
    # receive buffers (the device's tx_burst), both pairs, split or packed
    for port, pname in ((0, ""), (V_PORT1, "_shadow")):
        for layout, feat, post in (("split", V_SPLIT, vn_split_post),
                                   ("packed", V_PACKED, vn_packed_post)):
            body = vn_up(feat) + frames
            for pair in range(2):
                body += post(2 * pair + 1, tx_bufs, False) + \
                    post(2 * pair, rx_bufs, True)
            body += vn_rx(0, 32) + vn_tx(0, pkts) + vn_rx(1, 8) + vn_tx(1, pkts[:2])
            s[layout + "_traffic" + pname] = bytes([port | V_MAP | V_MSIX]) + body
    # the control queue (index 4 with MQ and 2 pairs): promiscuous on, then
    # 2 queue pairs
    s["ctrl_split"] = bytes([V_MAP | V_MSIX]) + vn_up(V_SPLIT) + \
        vn_ctrl([(0, 0, b"\x01"), (4, 0, struct.pack("<H", 2))], False)
    # every command the device knows, and some it refuses: promiscuous off,
    # all-multicast on, the MAC set, a MAC table of 1 + 2 entries, 2 pairs,
    # 3 pairs (more than the device has), an unknown class, an unknown
    # receive-mode command
    mac = bytes([2, 0x11, 0x22, 0x33, 0x44, 0x55])
    cmds = [(0, 0, b"\x00"), (0, 1, b"\x01"), (1, 1, mac),
            (1, 0, struct.pack("<I", 1) + mac + struct.pack("<I", 2) + mac + mac),
            (4, 0, struct.pack("<H", 2)), (4, 0, struct.pack("<H", 3)),
            (0x7f, 0, b""), (0, 5, b"\x01")]
    s["ctrl_all_split"] = bytes([V_MAP | V_MSIX]) + vn_up(V_SPLIT) + vn_ctrl(cmds, False)
    s["ctrl_all_packed"] = bytes([V_MAP | V_MSIX]) + vn_up(V_PACKED) + vn_ctrl(cmds, True)
    # migration: stop, save, resume from what was saved, run again
    mig = struct.pack("<BBB", 9, 0, 1) + struct.pack("<BBB", 9, 0, 3) + \
        struct.pack("<BBH", 9, 1, 0xffff) + struct.pack("<BBB", 9, 0, 1) + \
        struct.pack("<BBB", 9, 0, 4) + struct.pack("<BBB", 9, 2, 0) + \
        struct.pack("<BBB", 9, 0, 1) + struct.pack("<BBB", 9, 0, 2)
    s["migration_cycle"] = bytes([V_MAP | V_MSIX | V_UP]) + frames + \
        vn_packed_post(1, tx_bufs, False) + vn_rx(0, 8) + mig + vn_rx(0, 8)
    # the same stream written back with its CRCs made right again, as is,
    # then with a byte flipped in the DEVICE section's driver state (at 76
    # of the 732-byte record: header 24, DEVICE 8 + 48, PCI 8 + 384, five
    # QUEUE 8 + 40, CTRL 8 + 12) and one in the first QUEUE section
    resealed = mig.replace(struct.pack("<BBB", 9, 2, 0), struct.pack("<BBB", 9, 2, 0x80))
    s["migration_resealed"] = bytes([V_MAP | V_MSIX | V_UP]) + resealed + vn_rx(0, 8)
    s["migration_flipped_resealed"] = bytes([V_MAP | V_MSIX | V_UP]) + \
        resealed.replace(struct.pack("<BBB", 9, 2, 0x80),
                         struct.pack("<BBBHBHB", 9, 2, 0x82, 76, 0x01, 486, 0x10)) + \
        vn_rx(0, 8)
    # dirty logging around traffic; a reset and an unmap under it; the port
    # stopped and started under the driver; interrupts changed
    s["logging"] = bytes([V_MAP | V_MSIX]) + vn_up(V_SPLIT) + bytes([10, 0]) + frames + \
        vn_split_post(0, rx_bufs, True) + vn_tx(0, pkts) + bytes([10, 2, 10, 1])
    s["reset_unmap_port"] = bytes([V_MAP | V_MSIX]) + vn_up(V_PACKED) + frames + \
        vn_packed_post(1, tx_bufs, False) + bytes([6, 0]) + vn_rx(0, 4) + \
        bytes([6, 1, 6, 2, 11]) + vn_rx(0, 4) + bytes([7]) + vn_rx(0, 4) + \
        bytes([8, 1, 8, 2, 8, 3, 8, 0, 8])
    # VIRTIO_F_RING_RESET: both queues of pair 0 reset under traffic, set
    # up again (rings where the bring-up put them, size 64, vector 0) and
    # used, split and packed; a reset of the control queue
    def vn_queue_reset(q):
        return vn_region_write(2, 0x16, struct.pack("<H", q)) + \
            vn_region_write(2, 0x3a, struct.pack("<H", 1))

    def vn_queue_setup(q):
        base = MEM_IOVA + q * V_QBASE
        return vn_region_write(2, 0x16, struct.pack("<H", q)) + \
            vn_region_write(2, 0x18, struct.pack("<H", 64)) + \
            vn_region_write(2, 0x20, struct.pack("<Q", base)) + \
            vn_region_write(2, 0x28, struct.pack("<Q", base + 0x1000)) + \
            vn_region_write(2, 0x30, struct.pack("<Q", base + 0x1800)) + \
            vn_region_write(2, 0x1a, struct.pack("<H", q)) + \
            vn_region_write(2, 0x1c, struct.pack("<H", 1))

    for layout, feat, post in (("split", V_SPLIT, vn_split_post),
                               ("packed", V_PACKED, vn_packed_post)):
        body = vn_up(feat | F_RING_RESET) + frames + post(1, tx_bufs, False) + \
            post(0, rx_bufs, True) + vn_rx(0, 2) + vn_tx(0, pkts[:2]) + \
            vn_queue_reset(0) + vn_queue_reset(1) + vn_rx(0, 8) + \
            vn_tx(0, pkts) + vn_queue_setup(0) + vn_queue_setup(1) + \
            post(1, tx_bufs, False) + post(0, rx_bufs, True) + \
            vn_rx(0, 8) + vn_tx(0, pkts) + vn_queue_reset(4)
        s["ring_reset_" + layout] = bytes([V_MAP | V_MSIX]) + body
    # the PM capability (at 0xa4, PMCSR at 0xa8): D3hot under traffic
    # (nothing moves), D1 refused, D0 (device and function reset), a new
    # bring-up and traffic again
    pmcsr = 0xa8
    for layout, feat, post in (("split", V_SPLIT, vn_split_post),
                               ("packed", V_PACKED, vn_packed_post)):
        body = vn_up(feat) + frames + post(1, tx_bufs, False) + \
            post(0, rx_bufs, True) + vn_rx(0, 2) + \
            vn_region_write(0, pmcsr, struct.pack("<H", 3)) + \
            vn_rx(0, 8) + vn_tx(0, pkts) + \
            vn_region_write(0, pmcsr, struct.pack("<H", 1)) + \
            vn_region_write(0, pmcsr, struct.pack("<H", 0)) + vn_rx(0, 8) + \
            vn_up(feat) + post(1, tx_bufs, False) + post(0, rx_bufs, True) + \
            vn_rx(0, 8) + vn_tx(0, pkts)
        s["power_reset_" + layout] = bytes([V_MAP | V_MSIX]) + body
    # config space and BAR writes a driver does not do
    s["registers"] = bytes([V_MAP]) + vn_region_write(0, 4, b"\x07\x05") + \
        vn_region_write(2, 0x16, b"\x07\x00") + vn_region_write(2, 0x18, b"\x00\x10") + \
        vn_region_write(2, 0x14, b"\x0f") + vn_region_write(1, 0, b"\xff" * 8) + \
        vn_region_write(2, 0x2000, b"\x01" * 8) + struct.pack("<BBHB", 1, 2, 0x1000, 4)
    for name, data in s.items():
        write("fuzz_vnet", name, data)


version_seeds()
server_seeds()
vring_seeds()
client_seeds()
vnet_seeds()

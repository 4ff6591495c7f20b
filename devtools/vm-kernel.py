#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Copyright 2026 The dpdk-vfio-user authors
"""The ELF kernel inside a bzImage, if QEMU can boot it directly.

    vm-kernel.py BZIMAGE OUT

A bzImage carries the kernel compressed (Debian's: xz) and decompresses it
at boot, in the guest: under TCG that takes about 3 s of every boot. The
ELF image inside boots at once through its PVH entry point (the Xen note
XEN_ELFNOTE_PHYS32_ENTRY, CONFIG_PVH), which QEMU's -kernel takes. Writes
OUT and exits 0 when the image is found and has that entry point; exits 1,
saying why, when not (the caller boots the bzImage then). As Linux's
scripts/extract-vmlinux, it looks for the first compressed stream that
decompresses to an ELF file; xz and gzip streams are tried.
"""

import lzma
import struct
import sys
import zlib

XEN_ELFNOTE_PHYS32_ENTRY = 18
PT_NOTE = 4


def streams(data):
    """Candidate decompressions: (format, bytes) for each magic found."""
    for name, magic in (("xz", b"\xfd7zXZ\x00"), ("gzip", b"\x1f\x8b\x08")):
        pos = data.find(magic)
        while pos >= 0:
            try:
                if name == "xz":
                    out = lzma.LZMADecompressor().decompress(data[pos:])
                else:
                    d = zlib.decompressobj(wbits=31)
                    out = d.decompress(data[pos:])
            except (lzma.LZMAError, zlib.error):
                out = b""
            if out[:4] == b"\x7fELF":
                yield name, out
                return
            pos = data.find(magic, pos + 1)


def has_pvh_entry(elf):
    """Whether a little-endian ELF64 file has the PVH entry note."""
    if elf[4] != 2 or elf[5] != 1:  # ELFCLASS64, ELFDATA2LSB
        return False
    phoff, = struct.unpack_from("<Q", elf, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    for i in range(phnum):
        ptype, _, off, _, _, filesz = struct.unpack_from(
            "<IIQQQQ", elf, phoff + i * phentsize)
        if ptype != PT_NOTE:
            continue
        pos, end = off, off + filesz
        while pos + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", elf, pos)
            name = elf[pos + 12:pos + 12 + namesz].rstrip(b"\0")
            if name == b"Xen" and ntype == XEN_ELFNOTE_PHYS32_ENTRY:
                return True
            pos += 12 + (namesz + 3) // 4 * 4 + (descsz + 3) // 4 * 4
    return False


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    for fmt, elf in streams(data):
        if not has_pvh_entry(elf):
            print(f"{sys.argv[1]}: the ELF kernel ({fmt}) has no PVH entry "
                  "point (CONFIG_PVH)")
            return 1
        with open(sys.argv[2], "wb") as f:
            f.write(elf)
        print(f"{sys.argv[1]}: ELF kernel ({fmt}, {len(elf) >> 20} MiB) "
              "with a PVH entry point")
        return 0
    print(f"{sys.argv[1]}: no xz or gzip stream holding an ELF kernel")
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Synthetic kernels for the boot-image tests: a tiny ELF64 `vmlinux` with (or
without) the Xen PVH entry note, wrapped into a bzImage the way the kernel's
build wraps it (arch/x86/boot: setup sectors, the "HdrS" header, the payload
offset and length, then the compressed vmlinux followed by its 4-byte size)."""

from __future__ import annotations

import gzip
import lzma
import struct
import subprocess

ELF_HEADER = 64
PROGRAM_HEADER = 56
PT_LOAD = 1
PT_NOTE = 4
XEN_PVH_NOTE = 18  # XEN_ELFNOTE_PHYS32_ENTRY
SETUP_SECTS = 0x1F1
HEADER_MAGIC = 0x202
PAYLOAD_OFFSET = 0x248
PAYLOAD_LENGTH = 0x24C

Note = tuple[str, int, bytes]  # name, type, descriptor

# What a Debian vmlinux carries in its Xen note segment (CONFIG_XEN_PV and
# CONFIG_PVH): the PVH entry is one note among several, not the first.
XEN_NOTES: tuple[Note, ...] = (
    ("Xen", 6, b"linux\0"),                                   # GUEST_OS
    ("Xen", 5, b"xen-3.0\0"),                                 # XEN_VERSION
    ("Xen", 3, struct.pack("<Q", 0xFFFFFFFF80000000)),        # VIRT_BASE
    ("Xen", XEN_PVH_NOTE, struct.pack("<I", 0x1000000)),      # PHYS32_ENTRY
)


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def note_bytes(notes: tuple[Note, ...]) -> bytes:
    """ELF notes, each name and descriptor padded to 4 bytes (as Linux's are)."""
    out = b""
    for name, kind, desc in notes:
        raw_name = name.encode() + b"\0"
        out += struct.pack("<III", len(raw_name), len(desc), kind)
        out += _pad4(raw_name) + _pad4(desc)
    return out


def elf(notes: tuple[Note, ...] = XEN_NOTES, body: bytes = b"\x90" * 256) -> bytes:
    """A little-endian ELF64 executable: a PT_LOAD of body, then one PT_NOTE of notes
    (no PT_NOTE at all when notes is empty)."""
    segments: list[tuple[int, bytes]] = [(PT_LOAD, body)]
    if notes:
        segments.append((PT_NOTE, note_bytes(notes)))
    offset = ELF_HEADER + PROGRAM_HEADER * len(segments)
    headers, data = b"", b""
    for kind, content in segments:
        align = 4 if kind == PT_NOTE else 0x1000
        headers += struct.pack("<IIQQQQQQ", kind, 4, offset + len(data), 0x1000000,
                               0x1000000, len(content), len(content), align)
        data += content
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8  # ELF64, little-endian, v1
    header = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, ELF_HEADER, 0, 0,
                                 ELF_HEADER, PROGRAM_HEADER, len(segments), 64, 0, 0)
    return header + headers + data


def compress(data: bytes, method: str) -> bytes:
    """The payload as the kernel's Makefile.lib makes it: xz (x86 BCJ filter, CRC32)
    and zstd followed by the uncompressed size; gzip carries its own."""
    size = struct.pack("<I", len(data))
    if method == "xz":
        filters = [{"id": lzma.FILTER_X86}, {"id": lzma.FILTER_LZMA2, "preset": 6}]
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32,
                             filters=filters) + size
    if method == "zstd":
        done = subprocess.run(["zstd", "-c", "-q"], input=data, capture_output=True,
                              check=True)
        return done.stdout + size
    if method == "gzip":
        return gzip.compress(data, mtime=0)
    raise ValueError(method)


def bzimage(payload: bytes, setup_sects: int = 3, payload_offset: int = 0x3A0,
            trailer: bytes = b"\xcc" * 64) -> bytes:
    """A bzImage: (setup_sects + 1) sectors of setup code with the header (a
    setup_sects of 0 means 4), the decompressor's first payload_offset bytes, the
    payload, then more code."""
    setup = bytearray(b"\xeb" * (((setup_sects or 4) + 1) * 512))
    setup[SETUP_SECTS] = setup_sects
    setup[HEADER_MAGIC:HEADER_MAGIC + 4] = b"HdrS"
    struct.pack_into("<II", setup, PAYLOAD_OFFSET, payload_offset, len(payload))
    return bytes(setup) + b"\xe8" * payload_offset + payload + trailer

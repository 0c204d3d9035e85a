"""The kernel as QEMU boots it fastest: uncompressed, entered through its PVH note.

A Debian `vmlinuz` is a bzImage: real-mode setup code, then the kernel
compressed with xz (5.10, 6.1) or zstd (6.12, 7.x). Under software emulation
the guest spends about 4 s of every boot decompressing xz before the kernel
prints its first line. The payload, once decompressed, is the `vmlinux` ELF;
every Debian kernel the lab pins has CONFIG_PVH, so that ELF carries the Xen
PVH entry note and QEMU's `-kernel` starts it directly, no decompression, no
real-mode detour. The lab decompresses once per kernel, on the host, caches the
result and checks it on every use like any other cache entry.

Layout (one entry per kernel image, keyed by the image's digest):
    boot-images/<release>_<digest>/boot/vmlinuz-<release>   (the ELF)
    boot-images/<release>_<digest>/lib/modules/<release>  -> the kernel's modules
virtme-ng finds the modules next to the image it boots (it walks up to the
nearest lib/modules) and reads the release from the file name or strings(1).
A kernel without the note, or a payload in another format, boots as before.
"""

from __future__ import annotations

import io
import lzma
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import NoteSegment

from lab.cache.cache_lock import cache_lock, drop_staging, new_staging, publish, sweep_leftovers
from lab.cache.cache_stamp import (
    Manifest,
    hashed_files,
    inputs_digest,
    stamp_problem,
    write_stamp,
)
from lab.cache.download import sha256_of
from lab.errors import LabError

BOOT_IMAGES = "boot-images"
# Linux boot protocol (Documentation/arch/x86/boot.rst): offsets in the bzImage.
SETUP_SECTS = 0x1F1
HEADER_MAGIC = 0x202
PAYLOAD_OFFSET = 0x248
PAYLOAD_LENGTH = 0x24C
ELF_MAGIC = b"\x7fELF"
XEN_PVH_NOTE = 18  # XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit PVH entry point


class NotBootable(LabError):
    """The image cannot be turned into a PVH-bootable ELF (the reason says why)."""


@dataclass(frozen=True)
class BootImage:
    """What to hand virtme-ng's --run, and whether it skips decompression."""

    path: Path
    uncompressed: bool
    note: str = ""


def boot_image(cache: Path, vmlinuz: Path, release: str, modules: Path) -> BootImage:
    """The uncompressed PVH image of vmlinuz, made once; vmlinuz itself when the
    kernel cannot be booted that way (with the reason, printed once)."""
    try:
        digest = sha256_of(vmlinuz)
        entry = cache / BOOT_IMAGES / f"{release}_{digest[:16]}"
        elf = entry / "boot" / f"vmlinuz-{release}"
        inputs = inputs_digest("pvh-image", release, digest, str(modules.resolve()))
        with cache_lock(entry, f"boot image of {release}"):
            if stamp_problem(entry, inputs, _manifest(release)) is not None:
                sweep_leftovers(entry)
                _build(entry, vmlinuz, release, modules, inputs)
    except (NotBootable, OSError) as error:
        note = f"booting the compressed image of {release}: {error}"
        print(note, file=sys.stderr, flush=True)
        return BootImage(vmlinuz, uncompressed=False, note=note)
    return BootImage(elf, uncompressed=True)


def _manifest(release: str) -> Callable[[Path], Manifest]:
    """The ELF's bytes (hashed: 65 MB, about 0.1 s) and where its modules link points."""
    def manifest(root: Path) -> Manifest:
        found = hashed_files(root, [f"boot/vmlinuz-{release}"])
        link = root / "lib" / "modules" / release
        found["modules"] = "-> " + (str(link.readlink()) if link.is_symlink() else "missing")
        return found
    return manifest


def _build(entry: Path, vmlinuz: Path, release: str, modules: Path, inputs: str) -> None:
    work = new_staging(entry)
    try:
        tree = work / "tree"
        (tree / "boot").mkdir(parents=True)
        (tree / "lib" / "modules").mkdir(parents=True)
        elf = uncompressed_kernel(vmlinuz.read_bytes())
        if not has_pvh_note(elf):
            raise NotBootable("its ELF has no PVH entry note (CONFIG_PVH is off)")
        (tree / "boot" / f"vmlinuz-{release}").write_bytes(elf)
        (tree / "lib" / "modules" / release).symlink_to(modules.resolve())
        write_stamp(tree, inputs, _manifest(release)(tree))
        publish(tree, entry)
    finally:
        drop_staging(work)


def uncompressed_kernel(bzimage: bytes) -> bytes:
    """The vmlinux ELF inside a bzImage (boot protocol 2.08+: payload offset and
    length in the setup header), decompressed with what its magic says. The
    payload ends with the uncompressed size (4 bytes, little-endian): a result of
    another size, a stream that does not end, or a corrupt one is refused."""
    if len(bzimage) < PAYLOAD_LENGTH + 4 or bzimage[HEADER_MAGIC:HEADER_MAGIC + 4] != b"HdrS":
        raise NotBootable("not a bzImage (no HdrS setup header)")
    setup_sects = bzimage[SETUP_SECTS] or 4
    offset, length = struct.unpack_from("<II", bzimage, PAYLOAD_OFFSET)
    start = (setup_sects + 1) * 512 + offset
    payload = bzimage[start:start + length]
    if len(payload) != length or length < 8:
        raise NotBootable("its payload runs past the end of the file")
    try:
        elf = _decompress(payload)
    except (lzma.LZMAError, zlib.error, EOFError) as error:
        raise NotBootable(f"its payload does not decompress: {error}") from error
    size, = struct.unpack("<I", payload[-4:])
    if len(elf) & 0xFFFFFFFF != size:
        raise NotBootable(f"its payload decompressed to {len(elf)} bytes, not the {size} "
                          "it records")
    if not elf.startswith(ELF_MAGIC):
        raise NotBootable("its payload did not decompress to an ELF")
    return elf


def _decompress(payload: bytes) -> bytes:
    if payload.startswith(b"\xfd7zXZ\x00"):
        xz = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        return _whole(xz.decompress(payload), xz.eof)
    if payload.startswith(b"\x28\xb5\x2f\xfd"):
        return _zstd(payload[:-4])  # zstd(1) refuses the trailing size as garbage
    if payload.startswith(b"\x1f\x8b"):
        gzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return _whole(gzip.decompress(payload), gzip.eof)
    raise NotBootable(f"its payload is compressed in a format the lab does not read "
                      f"(magic {payload[:4].hex()})")


def _whole(data: bytes, ended: bool) -> bytes:
    if not ended:
        raise NotBootable("its compressed stream is cut short")
    return data


def _zstd(frame: bytes) -> bytes:
    if shutil.which("zstd") is None:
        raise NotBootable("zstd(1) is not installed (`lab doctor --install` installs it)")
    done = subprocess.run(["zstd", "-d", "-c", "-q"], input=frame, capture_output=True,
                          check=False)
    if done.returncode != 0:
        raise NotBootable(f"zstd could not decompress its payload: "
                          f"{done.stderr.decode(errors='replace').strip()[-300:]}")
    return done.stdout


def has_pvh_note(elf: bytes) -> bool:
    """Whether the ELF has the Xen PHYS32_ENTRY note that QEMU's PVH loader needs."""
    try:
        segments = ELFFile(io.BytesIO(elf)).iter_segments()
        return any(note["n_name"] == "Xen" and _is_pvh_entry(note["n_type"])
                   for segment in segments if isinstance(segment, NoteSegment)
                   for note in segment.iter_notes())
    except ELFError:
        return False


def _is_pvh_entry(kind: object) -> bool:
    """pyelftools names the note types it knows and leaves Xen's as numbers."""
    return kind == XEN_PVH_NOTE

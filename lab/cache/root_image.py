"""The guest root as a read-only squashfs disk image, made once per guest root.

Over 9p (virtme-ng's default for a root directory) every file the guest opens
is a round trip to QEMU, and pages are not kept between two runs of a program.
Under software emulation that made each exec of a dynamic program cost about
0.2 s, the first `clang --version` 5 s, and the boot from initramfs to a shell
about 6 s. The same root as an uncompressed squashfs on virtio-blk (virtme-ng's
--root-disk) goes through the guest's page cache: measured on 6.1 under TCG,
the guest reaches its shell at about 5.5 s of uptime instead of 9.3 s, the first
clang takes 2.2 s and python3 starts in 0.6 s instead of 1.5 s. squashfs needs
one module and no other (ext4 needs four); uncompressed, the guest spends no
time decompressing. QEMU opens it read-only, so concurrent guests share it.

Layout: root-images/<root name>/root.squashfs, stamped like every cache entry
(lab.cache.cache_stamp): its inputs are the guest root's own stamp (which names
the root's inputs and manifest), so a rebuilt root gets a new image.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lab.cache.cache_lock import (
    cache_lock,
    drop_staging,
    new_staging,
    publish,
    require_writable,
    sweep_leftovers,
)
from lab.cache.cache_stamp import STAMP_NAME, Manifest, inputs_digest, stamp_problem, write_stamp
from lab.cache.download import sha256_of
from lab.errors import LabError

ROOT_IMAGES = "root-images"
IMAGE_NAME = "root.squashfs"
FSTYPE = "squashfs"  # what the guest mounts it as (virtme-ng's --root-fstype)
# Uncompressed inodes, data, fragments and xattrs; no xattrs at all (the root has
# none the tutorials need, and 5.10's squashfs reads the rest just the same).
MKSQUASHFS_OPTIONS = ("-noI", "-noD", "-noF", "-noX", "-no-xattrs", "-quiet", "-no-progress")
SUPERBLOCK_BYTES = 96


def root_image(cache: Path, rootfs: Path) -> Path:
    """The squashfs image of the guest root directory rootfs, built if not cached."""
    entry = cache / ROOT_IMAGES / rootfs.name
    inputs = _inputs(rootfs)
    with cache_lock(entry, f"the guest root image {rootfs.name}") as writable:
        problem = stamp_problem(entry, inputs, image_manifest)
        if problem is None:
            return entry / IMAGE_NAME
        require_writable(writable, entry, problem)
        sweep_leftovers(entry)
        _build(rootfs, entry, inputs)
    return entry / IMAGE_NAME


def intact_root_image(cache: Path, rootfs: Path) -> Path | None:
    """The image of rootfs if it is made and intact, else None; makes nothing and
    reads none of the root's files but its stamp. Without the lock: entries are
    published by a rename, so a reader sees a whole entry or none."""
    entry = cache / ROOT_IMAGES / rootfs.name
    try:
        inputs = _inputs(rootfs)
    except (LabError, OSError):
        return None
    return entry / IMAGE_NAME if stamp_problem(entry, inputs, image_manifest) is None else None


def _inputs(rootfs: Path) -> str:
    """The root's stamp (its inputs and its manifest) and how the image is made."""
    stamp = rootfs / STAMP_NAME
    if not stamp.is_file():
        raise LabError(f"the guest root {rootfs} has no stamp; build it first")
    return inputs_digest("root-image", sha256_of(stamp), list(MKSQUASHFS_OPTIONS))


def image_manifest(entry: Path) -> Manifest:
    """Size and superblock of the image: a truncated or rewritten image is caught in
    microseconds, where hashing its gigabyte would cost seconds on every run (the
    same trade the root directory's own manifest makes)."""
    image = entry / IMAGE_NAME
    with open(image, "rb") as stream:
        superblock = stream.read(SUPERBLOCK_BYTES)
    size = image.stat().st_size
    return {IMAGE_NAME: f"size:{size}:sb:{hashlib.sha256(superblock).hexdigest()}"}


def _build(rootfs: Path, entry: Path, inputs: str) -> None:
    if shutil.which("mksquashfs") is None:
        raise LabError("mksquashfs is not installed (squashfs-tools); "
                       "`lab doctor --install` installs it")
    work = new_staging(entry)
    try:
        tree = work / "tree"
        tree.mkdir()
        print(f"making the guest root image from {rootfs.name}...", file=sys.stderr, flush=True)
        started = time.monotonic()
        done = subprocess.run(["mksquashfs", str(rootfs), str(tree / IMAGE_NAME),
                               *MKSQUASHFS_OPTIONS, "-e", STAMP_NAME],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LabError(f"mksquashfs failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-1000:]}")
        write_stamp(tree, inputs, image_manifest(tree))
        publish(tree, entry)
        print(f"guest root image ready in {time.monotonic() - started:.1f} s",
              file=sys.stderr, flush=True)
    finally:
        drop_staging(work)

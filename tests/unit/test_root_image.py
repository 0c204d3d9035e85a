"""Tests for lab.cache.root_image: the guest root becomes a squashfs image once,
checked on every use, rebuilt when the root or the image changed."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.cache import root_image as module
from lab.cache.cache_stamp import STAMP_NAME
from lab.cache.root_image import IMAGE_NAME, ROOT_IMAGES, root_image
from lab.errors import LabError

pytestmark = pytest.mark.skipif(shutil.which("mksquashfs") is None,
                                reason="mksquashfs is not installed (squashfs-tools, which "
                                       "`lab doctor` lists for the tests)")
SQUASHFS_MAGIC = b"hsqs"


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    root = tmp_path / "roots" / "trixie_0123abcd"
    for relative, content in {"usr/bin/tool": b"#!/bin/sh\necho tool\n",
                              "etc/hostname": b"guest\n",
                              "var/lib/dpkg/status": b"Package: clang\n"}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    (root / "bin").symlink_to("usr/bin")
    (root / "tmp").mkdir()
    (root / STAMP_NAME).write_text('{"format": 1, "inputs": "recipe one"}\n')
    return root


def identity(path: Path) -> tuple[int, int, int]:
    status = os.stat(path)
    return status.st_ino, status.st_mtime_ns, status.st_size


def listing(image: Path) -> list[str]:
    """The paths in the image, as unsquashfs lists them (squashfs-root/...)."""
    done = subprocess.run(["unsquashfs", "-l", "-no-progress", str(image)],
                          capture_output=True, text=True, check=True)
    return [line.strip() for line in done.stdout.splitlines()
            if line.startswith("squashfs-root")]


def test_the_image_is_built_and_then_reused(tmp_path: Path, rootfs: Path) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)
    assert image == cache / ROOT_IMAGES / rootfs.name / IMAGE_NAME
    assert image.read_bytes()[:4] == SQUASHFS_MAGIC
    assert (image.parent / STAMP_NAME).is_file(), "the entry has its own stamp"
    assert (image.parent / STAMP_NAME).read_text() != (rootfs / STAMP_NAME).read_text()
    before = identity(image)

    assert root_image(cache, rootfs) == image
    assert identity(image) == before, "a good image was built again"
    # no staging directory and no lock file are left beside the entry
    assert sorted(p.name for p in (cache / ROOT_IMAGES).iterdir()) == [rootfs.name]


def test_the_image_holds_the_root_but_not_the_roots_stamp(tmp_path: Path,
                                                          rootfs: Path) -> None:
    image = root_image(tmp_path / "cache", rootfs)
    if shutil.which("unsquashfs") is None:
        pytest.skip("unsquashfs (squashfs-tools) is not installed: cannot list the image")
    paths = listing(image)
    for relative in ("usr/bin/tool", "etc/hostname", "var/lib/dpkg/status", "bin", "tmp"):
        assert f"squashfs-root/{relative}" in paths
    assert f"squashfs-root/{STAMP_NAME}" not in paths


def test_a_truncated_image_is_built_again(tmp_path: Path, rootfs: Path) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)
    whole = image.read_bytes()
    with open(image, "r+b") as stream:
        stream.truncate(len(whole) - 1)
    assert root_image(cache, rootfs) == image
    # the same image again (its superblock's mkfs time may differ: not compared)
    assert image.stat().st_size == len(whole) and image.read_bytes()[:4] == SQUASHFS_MAGIC


def test_a_rewritten_superblock_is_built_again(tmp_path: Path, rootfs: Path) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)
    whole = image.read_bytes()
    # the superblock's inode count (offset 4) changed, the size did not
    image.write_bytes(whole[:4] + bytes([whole[4] ^ 0xFF]) + whole[5:])
    root_image(cache, rootfs)
    assert image.read_bytes()[4] == whole[4]


def test_a_missing_image_or_entry_stamp_is_built_again(tmp_path: Path, rootfs: Path) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)
    image.unlink()
    assert root_image(cache, rootfs).read_bytes()[:4] == SQUASHFS_MAGIC
    (image.parent / STAMP_NAME).unlink()
    before = identity(image)
    root_image(cache, rootfs)
    assert identity(image) != before


def test_a_rebuilt_root_gets_a_new_image(tmp_path: Path, rootfs: Path) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)
    before = identity(image)
    (rootfs / "etc" / "added").write_text("new file\n")
    (rootfs / STAMP_NAME).write_text('{"format": 1, "inputs": "recipe two"}\n')
    root_image(cache, rootfs)
    assert identity(image) != before
    if shutil.which("unsquashfs") is not None:
        assert "squashfs-root/etc/added" in listing(image)


def test_a_root_without_a_stamp_is_refused(tmp_path: Path, rootfs: Path) -> None:
    (rootfs / STAMP_NAME).unlink()
    with pytest.raises(LabError, match=r"has no stamp; build it first") as info:
        root_image(tmp_path / "cache", rootfs)
    assert str(rootfs) in str(info.value)
    assert not (tmp_path / "cache" / ROOT_IMAGES).exists()


def test_a_read_only_cache_uses_a_good_image_and_explains_a_missing_one(
        tmp_path: Path, rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    image = root_image(cache, rootfs)

    @contextlib.contextmanager
    def read_only(entry: Path, what: str) -> Iterator[bool]:
        yield False  # what cache_lock yields when it cannot create its lock file
    monkeypatch.setattr(module, "cache_lock", read_only)

    assert root_image(cache, rootfs) == image
    image.unlink()
    with pytest.raises(LabError, match=r"cannot update .*this user cannot write"):
        root_image(cache, rootfs)


def test_a_failing_mksquashfs_is_a_lab_error_that_leaves_nothing(
        tmp_path: Path, rootfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MKSQUASHFS_OPTIONS", ("-no-such-option",))
    with pytest.raises(LabError, match=r"mksquashfs failed \(\d+\)"):
        root_image(tmp_path / "cache", rootfs)
    assert list((tmp_path / "cache" / ROOT_IMAGES).iterdir()) == []

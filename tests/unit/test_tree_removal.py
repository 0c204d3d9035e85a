"""Removing trees the guest or a builder shaped: deep, linked, unreadable, mounted."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.tree_removal import mount_points, mounts_under, remove_tree

MOUNTINFO = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "40 22 0:5 / /work/out/.stage/tree/proc rw - proc proc rw\n"
    "41 22 0:6 / /work/out/.stage/tree/dev/shm rw - tmpfs tmpfs rw\n"
    "42 22 0:7 / /work/out/with\\040space rw - tmpfs tmpfs rw\n"
    "43 22 0:8 / /work/outside rw - tmpfs tmpfs rw\n"
)


def deep_tree(top: Path, levels: int) -> Path:
    """top/d/d/.../d, levels deep, made through a directory fd (paths would pass PATH_MAX)."""
    top.mkdir()
    handle = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d", dir_fd=handle)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=handle)
            os.close(handle)
            handle = inner
        with open(os.open("leaf", os.O_WRONLY | os.O_CREAT, dir_fd=handle), "w") as leaf:
            leaf.write("x")
    finally:
        os.close(handle)
    return top


def test_a_tree_deeper_than_the_recursion_limit_is_removed(tmp_path: Path) -> None:
    top = deep_tree(tmp_path / "deep", 1200)
    with pytest.raises(RecursionError):  # what shutil did to the next run
        shutil.rmtree(top)
    remove_tree(top)
    assert not top.exists()


def test_links_are_removed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("host file")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "to-dir").symlink_to(outside)
    (tree / "to-file").symlink_to(outside / "keep")
    remove_tree(tree)
    assert not tree.exists()
    assert (outside / "keep").read_text() == "host file"


def test_a_link_as_the_tree_itself_is_removed_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("host file")
    (tmp_path / "link").symlink_to(outside)
    remove_tree(tmp_path / "link")
    assert not (tmp_path / "link").is_symlink()
    assert (outside / "keep").exists()


def test_directories_without_permissions_are_removed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "closed" / "inner").mkdir(parents=True)
    (tree / "closed" / "inner" / "file").write_text("x")
    (tree / "closed" / "inner").chmod(0)
    (tree / "closed").chmod(0)
    remove_tree(tree)
    assert not tree.exists()


def test_special_files_are_removed(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    os.mkfifo(tree / "fifo")
    remove_tree(tree)
    assert not tree.exists()


def test_an_absent_tree_is_nothing_to_do(tmp_path: Path) -> None:
    remove_tree(tmp_path / "absent")


def test_mount_points_are_read_with_their_escapes() -> None:
    assert "/work/out/with space" in mount_points(MOUNTINFO)


def test_mounts_under_a_tree_are_found_and_nothing_beside_it() -> None:
    assert mounts_under(Path("/work/out"), MOUNTINFO) == [
        "/work/out/.stage/tree/proc", "/work/out/.stage/tree/dev/shm", "/work/out/with space"]
    assert mounts_under(Path("/work/out/.stage/tree/proc"), MOUNTINFO) == [
        "/work/out/.stage/tree/proc"]
    assert mounts_under(Path("/work/ou"), MOUNTINFO) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_tree_with_a_live_mount_is_refused_and_left_whole(tmp_path: Path) -> None:
    tree = tmp_path / "stage"
    mounted = tree / "tree" / "dev" / "shm"
    mounted.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "lab-test", str(mounted)], check=True)
    try:
        (mounted / "host-file").write_text("must survive")
        with pytest.raises(LabError, match="mounted under it"):
            remove_tree(tree)
        (tmp_path / "alias").symlink_to(tmp_path)  # the kernel names the resolved path
        with pytest.raises(LabError, match="mounted under it"):
            remove_tree(tmp_path / "alias" / "stage")
        assert (mounted / "host-file").read_text() == "must survive"
    finally:
        subprocess.run(["umount", str(mounted)], check=True)
    remove_tree(tree)
    assert not tree.exists()

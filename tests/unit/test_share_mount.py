"""The guest's share is bounded by a tmpfs: what it holds, how it is found and undone."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.guestvm.share_mount import SOURCE, bound_share, release_shares, share_mounts
from lab.guestvm.workspace import SHARE_DIR, Workspace, share_dirs
from lab.tree_removal import remove_tree

MOUNTINFO = (
    "36 25 0:32 / /out/runs/6.1/.guest-rw rw,nosuid,nodev,noexec - tmpfs lab-guest-share rw\n"
    "37 25 0:33 / /out/runs/6.1/.guest-rw/ro rw - tmpfs lab-guest-share rw\n"
    "38 25 0:34 / /out/runs/6.12/.guest-rw rw - tmpfs lab-guest-share rw\n"
    "39 25 0:35 / /out/runs/6.1/other rw - tmpfs someone-else rw\n"
    "40 25 0:36 / /out/runs/6.1/with\\040space rw - tmpfs lab-guest-share rw\n"
)


def test_the_labs_own_mounts_are_found_innermost_first_and_nothing_else() -> None:
    assert share_mounts(Path("/out/runs/6.1"), MOUNTINFO) == [
        "/out/runs/6.1/with space", "/out/runs/6.1/.guest-rw/ro", "/out/runs/6.1/.guest-rw"]
    assert share_mounts(Path("/out/runs/6"), MOUNTINFO) == []


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root "
                                "(the lab runs as root)")


@pytest.fixture
def share(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / SHARE_DIR
    path.mkdir()
    yield path
    release_shares(tmp_path)


@needs_root
def test_the_bound_refuses_writes_past_its_size(share: Path) -> None:
    bound_share(share, 1 << 20)
    assert share_mounts(share) == [os.path.realpath(share)]
    with pytest.raises(OSError) as full, open(share / "fill", "wb") as out:
        for _ in range(2 << 10):
            out.write(b"x" * 1024)
            out.flush()
    assert full.value.errno == errno.ENOSPC
    assert (share / "fill").stat().st_size <= 1 << 20


@needs_root
def test_the_bound_allows_no_setuid_no_devices_and_no_other_user(share: Path) -> None:
    bound_share(share, 1 << 20)
    line = next(line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                if f" {os.path.realpath(share)} " in line)
    assert {"nosuid", "nodev", "noexec"} <= set(line.split(" ")[5].split(","))
    assert f" - tmpfs {SOURCE} " in line
    assert share.stat().st_mode & 0o777 == 0o700


@needs_root
def test_a_bound_left_by_a_killed_run_is_undone_before_the_run_directory_is_emptied(
        tmp_path: Path) -> None:
    """A run killed with SIGKILL leaves its tmpfs mounted, a deep tree in it: the next
    run's share_dirs unmounts it and starts empty."""
    run_dir = tmp_path / "runs" / "6.1"
    share, _ = share_dirs(run_dir)
    bound_share(share, 1 << 20)
    deep = share
    for _ in range(50):
        deep = deep / "d"
    deep.mkdir(parents=True)

    share, ro = share_dirs(run_dir)

    assert share_mounts(tmp_path) == []
    assert sorted(os.listdir(share)) == ["ro"] and os.listdir(ro) == []
    assert run_dir.stat().st_mode & 0o777 == 0o700


def test_share_dirs_empties_a_tree_too_deep_for_recursion(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "6.1"
    share, _ = share_dirs(run_dir)
    where = os.open(share, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(1200):
        os.mkdir("d", dir_fd=where)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=where)
        os.close(where)
        where = inner
    os.close(where)
    try:
        share, _ = share_dirs(run_dir)
        assert os.listdir(share) == ["ro"]
    finally:  # pytest's own clean-up of old temporary directories recurses
        remove_tree(run_dir)


def test_each_scenario_starts_on_a_share_emptied_of_what_earlier_ones_left(
        tmp_path: Path) -> None:
    """A scenario that filled the share or shaped a tree there (its logs were kept
    when it ended) does not decide the next one's verdict."""
    program = tmp_path / "bpf" / "demo"
    program.mkdir(parents=True)
    (program / "demo.bpf.c").write_text("// program\n")
    run_dir = tmp_path / "runs" / "6.1"
    share, _ = share_dirs(run_dir)
    (share / "out" / "earlier").mkdir(parents=True)
    (share / "out" / "earlier" / "fill").write_bytes(b"x" * 4096)
    (share / "deep").mkdir()
    (share / "link").symlink_to(tmp_path / "runs")

    Workspace(run_dir, "demo", program)

    assert os.listdir(share) == ["ro"], "the read-only share's mount point stays"
    assert (tmp_path / "runs").is_dir()

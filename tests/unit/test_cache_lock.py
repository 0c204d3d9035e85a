"""Tests for lab.cache.cache_lock: per-entry flocks between processes, and the staging
and sweeping that keep concurrent or killed builds from trampling each other."""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lab.cache.cache_lock
from lab.cache.cache_lock import (
    cache_lock,
    discard,
    drop_staging,
    lock_path,
    new_staging,
    publish,
    require_writable,
    sweep_leftovers,
    try_cache_lock,
)
from lab.errors import LabError
from lab.tree_removal import mounts_under


def hold(entry: Path, ready: multiprocessing.synchronize.Event, seconds: float) -> None:
    with cache_lock(entry, "a test entry"):
        ready.set()
        time.sleep(seconds)


def holder(entry: Path, seconds: float) -> multiprocessing.Process:
    """Another process holding entry's lock for seconds (already holding on return)."""
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    process = context.Process(target=hold, args=(entry, ready, seconds))
    process.start()
    assert ready.wait(10)
    return process


def test_the_lock_file_is_removed_on_release(tmp_path: Path) -> None:
    entry = tmp_path / "kernels" / "k"
    with cache_lock(entry, "k") as writable:
        assert writable
        assert lock_path(entry).read_text() == f"{os.getpid()}\n"
        with cache_lock(tmp_path / "debs" / "d.deb", "d"):  # another entry: no wait
            pass
    assert sorted(p.name for p in (tmp_path / "kernels").iterdir()) == []


def test_a_second_process_waits_says_why_and_then_gets_the_lock(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    entry = tmp_path / "rootfs" / "bookworm-x"
    other = holder(entry, 0.4)
    started = time.monotonic()
    with cache_lock(entry, "the guest root bookworm-x"):
        waited = time.monotonic() - started
    other.join(10)
    assert waited > 0.2
    assert capfd.readouterr().err == (
        f"waiting for another lab process (pid {other.pid}) to finish with the guest root "
        f"bookworm-x (lock {entry}.lock)\n")


def test_a_killed_holder_does_not_block_the_next_process(tmp_path: Path) -> None:
    entry = tmp_path / "kernels" / "k"
    other = holder(entry, 60)
    os.kill(other.pid, signal.SIGKILL)
    other.join(10)
    assert lock_path(entry).exists(), "a killed holder leaves its lock file..."
    started = time.monotonic()
    with cache_lock(entry, "k"):
        pass
    assert time.monotonic() - started < 1, "...but not its lock"


def test_try_cache_lock_does_not_wait(tmp_path: Path) -> None:
    entry = tmp_path / "debs" / "k.deb"
    other = holder(entry, 0.5)
    with try_cache_lock(entry) as free:
        assert not free
    other.join(10)
    with try_cache_lock(entry) as free:
        assert free
    assert not lock_path(entry).exists()


def test_a_cache_this_user_cannot_write_is_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(lab.cache.cache_lock.os, "open", refuse)
    entry = tmp_path / "kernels" / "k"
    with cache_lock(entry, "k") as writable:
        assert not writable
        require_writable(True, entry, "fine")
        with pytest.raises(LabError) as info:
            require_writable(writable, entry, "it is not there")
    assert str(info.value) == (
        f"cannot update {entry} (it is not there): this user cannot write to {entry.parent}; "
        "run as the user who owns the cache, or set LAB_CACHE_DIR to a cache of your own")


def test_staging_is_private_and_published_over_the_old_entry(tmp_path: Path) -> None:
    entry = tmp_path / "kernels" / "k"
    (entry / "old").mkdir(parents=True)
    one, two = new_staging(entry), new_staging(entry)
    assert one != two
    assert one.parent == entry.parent and one.name.startswith(".k.build-")
    (one / "tree" / "new").mkdir(parents=True)
    publish(one / "tree", entry)
    assert sorted(p.name for p in entry.iterdir()) == ["new"]
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted(["k", one.name, two.name])


def test_sweep_removes_only_the_leftovers_of_that_entry(tmp_path: Path) -> None:
    kernels = tmp_path / "kernels"
    names = ["k", ".k.build-abc123", ".k.discard-4242", "k.partial",
             "k2", ".k2.build-zzz", ".k.notes"]
    for name in names:
        (kernels / name).mkdir(parents=True)
    sweep_leftovers(kernels / "k")
    assert sorted(p.name for p in kernels.iterdir()) == sorted(["k", "k2", ".k2.build-zzz",
                                                                 ".k.notes"])


# --- trees a killed builder left with something mounted under them ------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")


@contextlib.contextmanager
def host_directory_bound_into(tree: Path, host: Path) -> Iterator[Path]:
    """host (holding a file the host owns) bind-mounted at tree/dev/shm, as mmdebstrap
    binds the host's /dev/shm into the root it builds; whatever is left mounted under
    host's parent is unmounted at the end, whatever the code under test did."""
    host.mkdir(parents=True)
    (host / "host-file").write_text("the host's")
    point = tree / "dev" / "shm"
    point.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(host), str(point)], check=True)
    try:
        yield point
    finally:
        for mounted in reversed(mounts_under(host.parent)):
            subprocess.run(["umount", "--lazy", mounted], check=False)


@needs_root
def test_the_sweep_unmounts_a_leftover_and_never_deletes_through_its_mounts(
        tmp_path: Path) -> None:
    entry = tmp_path / "rootfs" / "bookworm-x"
    leftover = entry.parent / ".bookworm-x.build-killed"
    host = tmp_path / "host-shm"
    with host_directory_bound_into(leftover / "tree", host):
        sweep_leftovers(entry)
        assert (host / "host-file").read_text() == "the host's"
        assert not leftover.exists()
        assert mounts_under(tmp_path / "rootfs") == []


@needs_root
def test_a_leftover_whose_mount_is_busy_is_refused_and_left_whole(tmp_path: Path) -> None:
    entry = tmp_path / "rootfs" / "bookworm-x"
    leftover = entry.parent / ".bookworm-x.build-killed"
    host = tmp_path / "host-shm"
    with host_directory_bound_into(leftover / "tree", host) as point:
        with open(point / "host-file") as busy:  # umount: target is busy
            with pytest.raises(LabError, match=r"cannot be unmounted .*nothing under .* "
                                               r"was removed"):
                sweep_leftovers(entry)
            assert busy.read() == "the host's"
        assert (host / "host-file").read_text() == "the host's"
        assert (leftover / "tree" / "dev" / "shm").is_dir()


@needs_root
def test_discarding_an_entry_with_a_mount_under_it_spares_the_mounted_files(
        tmp_path: Path) -> None:
    entry = tmp_path / "rootfs" / "bookworm-x"
    host = tmp_path / "host-shm"
    with host_directory_bound_into(entry, host):
        discard(entry)
        assert not entry.exists()
        assert (host / "host-file").read_text() == "the host's"


@needs_root
def test_a_staging_tree_that_cannot_be_removed_safely_is_left_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = new_staging(tmp_path / "rootfs" / "bookworm-x")
    host = tmp_path / "host-shm"
    with host_directory_bound_into(work / "tree", host) as point:
        with open(point / "host-file"):
            drop_staging(work)
        assert f"warning: left {work} in place" in capsys.readouterr().err
        assert (host / "host-file").read_text() == "the host's"
    drop_staging(work)
    assert not work.exists()

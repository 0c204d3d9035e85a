"""File locks and private staging for cache entries shared by several lab processes.

Two `tox -e kernel-*` (or `lab matrix` lines) may build the same kernel, guest
root or .deb at once. Each entry gets an flock(2) on `<entry>.lock`: one process
builds, the others wait and then reuse what it built. The operating system
drops an flock when its holder dies, so a killed build never blocks the next run.

The lock file is removed by its holder before it lets go, so the cache is not
littered with them; a waiter that wakes up on a removed file opens the path
again (the usual "lock, then check it is still the file at that path" dance).

Builds happen in a directory private to one process (`.<entry>.build-XXXX`,
next to the entry so the final rename stays on one filesystem) and are renamed
into place under the lock. Left-overs of killed builds are swept under the same
lock: while a process holds it, no other one can be building that entry.

Staging trees and left-overs are removed with lab.tree_removal.remove_tree, never
walked into while something is mounted under them (a builder that mounts, like
mmdebstrap in root mode, may have been killed before it unmounted): what is still
mounted there is unmounted first, and a tree whose mounts cannot be unmounted is
left in place with an error that says so.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lab.errors import LabError
from lab.tree_removal import mounts_under, remove_tree

LOCK_SUFFIX = ".lock"
BUILD_INFIX = ".build-"
DISCARD_INFIX = ".discard-"
LEGACY_STAGING_SUFFIX = ".partial"
READ_ONLY_ERRNOS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


def lock_path(entry: Path) -> Path:
    """Where the lock of entry lives: next to it, so it is on the cache's filesystem."""
    return entry.with_name(entry.name + LOCK_SUFFIX)


@contextlib.contextmanager
def cache_lock(entry: Path, what: str) -> Iterator[bool]:
    """Hold the exclusive lock of entry; say so once if another process has it.

    Yields True. Yields False, without a lock, when this user cannot create the
    lock file (a cache another user built, a read-only mount): reading a good
    entry is still fine, and require_writable explains why building is not.
    """
    path = lock_path(entry)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _acquire(path, what)
    except OSError as error:
        if error.errno not in READ_ONLY_ERRNOS:
            raise
        yield False
        return
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield True
    finally:
        path.unlink(missing_ok=True)  # still held: nobody else can be using this file
        os.close(fd)


def require_writable(writable: bool, entry: Path, problem: str) -> None:
    """Stop with what to do when entry must be (re)built in a cache we cannot write."""
    if not writable:
        raise LabError(
            f"cannot update {entry} ({problem}): this user cannot write to "
            f"{entry.parent}; run as the user who owns the cache, or set LAB_CACHE_DIR "
            f"to a cache of your own"
        )


@contextlib.contextmanager
def try_cache_lock(entry: Path) -> Iterator[bool]:
    """Hold entry's lock if nobody else does; yields False (without waiting) if busy."""
    path = lock_path(entry)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        if not _flock_now(fd) or not _is_file_at(fd, path):
            yield False
            return
        try:
            yield True
        finally:
            path.unlink(missing_ok=True)
    finally:
        os.close(fd)


def _acquire(path: Path, what: str) -> int:
    """An fd holding the flock of the file that is at path now (not a removed one)."""
    told = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            if not _flock_now(fd):
                if not told:
                    _say_waiting(fd, path, what)
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
            if _is_file_at(fd, path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _flock_now(fd: int) -> bool:
    """Take the exclusive flock without waiting; False if another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def _is_file_at(fd: int, path: Path) -> bool:
    """True if fd is still the file at path (its holder removes it before releasing)."""
    try:
        at_path = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (at_path.st_dev, at_path.st_ino)


def _say_waiting(fd: int, path: Path, what: str) -> None:
    """One line, so a run that seems stuck says what it waits for and on which file."""
    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
    by = f" (pid {holder})" if holder.isdigit() else ""
    print(f"waiting for another lab process{by} to finish with {what} (lock {path})",
          file=sys.stderr, flush=True)


def new_staging(entry: Path) -> Path:
    """A fresh directory private to this process, next to entry; the caller fills
    `<result>/tree` and publishes it with `publish`."""
    entry.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{entry.name}{BUILD_INFIX}", dir=entry.parent))


def sweep_leftovers(entry: Path) -> None:
    """Remove what killed builds of entry left (staging, discarded copies); call it
    under entry's lock, where no other process can be building it."""
    prefixes = (f".{entry.name}{BUILD_INFIX}", f".{entry.name}{DISCARD_INFIX}")
    legacy = entry.name + LEGACY_STAGING_SUFFIX
    if not entry.parent.is_dir():
        return
    for path in entry.parent.iterdir():
        if (path.name.startswith(prefixes) or path.name == legacy) and not path.is_symlink():
            remove_leftover(path)


def remove_leftover(path: Path) -> None:
    """Remove a tree a builder shaped: first unmount whatever is still mounted under
    it (a killed builder's proc, sys, devpts or a bind of the host's /dev/shm), then
    remove it with remove_tree, which refuses (LabError) while anything is mounted."""
    path = path.parent.resolve() / path.name  # mountinfo names the real path
    mounted = mounts_under(path)
    for point in _outermost(mounted):
        done = subprocess.run(["umount", "--recursive", point],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LabError(f"{point} is mounted under the left-over build {path} and cannot "
                           f"be unmounted ({done.stderr.strip()}); nothing under {path} was "
                           f"removed. Find who uses it (`fuser -vm {point}`), stop that, "
                           f"then `umount -R {point}` and run again")
    remove_tree(path)


def _outermost(points: list[str]) -> list[str]:
    """The mount points not below another one of the list: `umount --recursive` on
    each takes the ones below with it."""
    return [point for point in points
            if not any(point != other and point.startswith(other.rstrip("/") + "/")
                       for other in points)]


def drop_staging(work: Path) -> None:
    """Remove this process's staging tree after a build, whatever happened to it;
    a tree that cannot be removed safely is left to the next run's sweep (with a
    line saying why), and never hides the error that ended the build."""
    try:
        remove_leftover(work)
    except (LabError, OSError) as error:
        print(f"warning: left {work} in place: {error}", file=sys.stderr, flush=True)


def discard(entry: Path) -> None:
    """Move entry out of the way at once, then delete it: an interrupted delete
    leaves a swept left-over, never a half-deleted entry under its real name."""
    if not entry.exists() and not entry.is_symlink():
        return
    aside = entry.with_name(f".{entry.name}{DISCARD_INFIX}{os.getpid()}")
    remove_leftover(aside)
    entry.rename(aside)
    remove_leftover(aside)


def publish(tree: Path, entry: Path) -> None:
    """Rename a finished tree into place, replacing any discarded old entry."""
    discard(entry)
    tree.rename(entry)

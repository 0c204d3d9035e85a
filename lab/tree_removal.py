"""Remove a directory tree that someone else may have shaped, safely as root.

The lab deletes trees the guest wrote (its share, its logs) and trees a
builder mounted things into (mmdebstrap's staging root). `shutil.rmtree`
is wrong for both: it recurses (a tree 1,200 levels deep raises
RecursionError on Python 3.11, and with `ignore_errors` the line can never
run again until someone cleans up by hand), and it walks into whatever is
mounted below the tree (a bind of the host's /dev/shm, a live /proc).

`remove_tree` refuses a tree with anything mounted under it (read from
/proc/self/mountinfo), then removes it without recursion, holding one
directory open at a time, following no link and never leaving the tree's
filesystem.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError

MOUNTINFO = Path("/proc/self/mountinfo")
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Mount:
    """One line of /proc/self/mountinfo: where, what filesystem, from what source."""

    point: str
    fstype: str
    source: str


def mounts(mountinfo: str) -> list[Mount]:
    """Every mount a mountinfo text names, in its order (a mount after the one it
    sits on), octal escapes undone."""
    found = []
    for line in mountinfo.splitlines():
        mine, _, theirs = line.partition(" - ")
        fields, described = mine.split(" "), theirs.split(" ")
        if len(fields) > 4:
            fstype, source = (described + ["", ""])[:2]
            found.append(Mount(_unescape(fields[4]), fstype, _unescape(source)))
    return found


def mount_points(mountinfo: str) -> list[str]:
    """Every mount point named in a mountinfo text."""
    return [mount.point for mount in mounts(mountinfo)]


def _unescape(field: str) -> str:
    r"""mountinfo writes space, tab, newline and backslash as \040, \011, \012, \134."""
    return field.encode().decode("unicode_escape") if "\\" in field else field


def mounts_below(path: Path, mountinfo: str | None = None) -> list[Mount]:
    """The mounts at or below path, in mountinfo's order. The kernel names mount
    points by their resolved path, so path is resolved too (a link on the way
    must not hide a mount)."""
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text()
        except OSError:
            return []
    top = os.path.realpath(path)
    return [mount for mount in mounts(mountinfo)
            if mount.point == top or mount.point.startswith(top.rstrip("/") + "/")]


def mounts_under(path: Path, mountinfo: str | None = None) -> list[str]:
    """The mount points at or below path."""
    return [mount.point for mount in mounts_below(path, mountinfo)]


def remove_tree(path: Path) -> None:
    """Remove path (a directory tree, a file or a link) if it exists.

    Raises LabError, removing nothing, when something is mounted at or under it:
    unmount first (the message says what). Never follows a link, never crosses
    into another filesystem, and needs no recursion however deep the tree is.
    """
    path = Path(os.path.abspath(path))
    mounted = mounts_under(path)
    if mounted:
        raise LabError(f"refusing to remove {path}: {', '.join(mounted)} "
                       f"{'is' if len(mounted) == 1 else 'are'} mounted under it "
                       f"(unmount with `umount -R {mounted[0]}`, then run again)")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        path.unlink()
        return
    parent = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _empty_directory(parent, path.name, info)
        os.rmdir(path.name, dir_fd=parent)
    finally:
        os.close(parent)


def _empty_directory(parent: int, name: str, info: os.stat_result) -> None:
    """Remove everything below parent/name, depth first, one open directory at a
    time: each level is left through "..", checked to be the directory it came from."""
    device = info.st_dev
    current = _open_dir(parent, name, info)
    path: list[tuple[str, tuple[int, int]]] = [(name, (info.st_dev, info.st_ino))]
    try:
        while True:
            child = _unlink_files(current)
            if child is not None:
                child_info = os.stat(child, dir_fd=current, follow_symlinks=False)
                if child_info.st_dev != device:
                    raise LabError(f"refusing to remove {child!r}: another filesystem "
                                   "is mounted there")
                inner = _open_dir(current, child, child_info)
                os.close(current)
                current = inner
                path.append((child, (child_info.st_dev, child_info.st_ino)))
                continue
            if len(path) == 1:
                return
            done, _ = path.pop()
            up = os.open("..", DIR_FLAGS, dir_fd=current)
            os.close(current)
            current = up
            up_info = os.fstat(current)
            if (up_info.st_dev, up_info.st_ino) != path[-1][1]:
                raise LabError(f"the tree under {name!r} was moved while it was removed")
            os.rmdir(done, dir_fd=current)
    finally:
        os.close(current)


def _open_dir(parent: int, name: str, info: os.stat_result) -> int:
    """parent/name opened as a directory, the one that was looked at (not a swap)."""
    try:
        handle = os.open(name, DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # a mode the guest set (chmod 0): the owner may change it
        os.chmod(name, 0o700, dir_fd=parent)
        handle = os.open(name, DIR_FLAGS, dir_fd=parent)
    opened = os.fstat(handle)
    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
        os.close(handle)
        raise LabError(f"{name!r} was replaced while it was removed")
    return handle


def _unlink_files(directory: int) -> str | None:
    """Unlink every entry of directory that is not a directory; the name of one
    directory left in it, or None when it is empty."""
    with os.scandir(directory) as entries:
        names = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries]
    child = None
    for entry_name, is_dir in names:
        if is_dir:
            child = child or entry_name
        else:
            os.unlink(entry_name, dir_fd=directory)
    return child

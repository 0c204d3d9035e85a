"""Read what the guest wrote, without letting the guest redirect the host.

The guest can write anything into its read-write share, links, FIFOs and
device nodes included. The host reads files there only through these
functions, which follow no link anywhere below the share's root, open only
what was a regular file a moment before (opening a planted device node can
have side effects: a tape rewinds, a terminal becomes the controlling one),
check after opening that it is still that file, and never write there at all.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

READ_LIMIT = 8 << 20  # a runaway log is cut, not loaded whole
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Even on a file that was regular when looked at (it may be swapped before the
# open): no link, no blocking on a FIFO, no controlling terminal.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def read_untrusted(root: Path, relative: str, limit: int = READ_LIMIT) -> str:
    """root/relative as text, or '' when it is absent, a link, or not a regular file.
    A file over limit is cut to its last limit bytes."""
    data = _read(root, relative, limit, whole=False)
    return "" if data is None else data.decode("utf-8", "replace")


def read_untrusted_bytes(root: Path, relative: str, limit: int) -> bytes | None:
    """root/relative's bytes, whole; None when it is absent, a link, not a regular
    file, or larger than limit (an archive cut short is worth nothing)."""
    return _read(root, relative, limit, whole=True)


def _read(root: Path, relative: str, limit: int, whole: bool) -> bytes | None:
    parts = [p for p in relative.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"not a plain relative path: {relative!r}")
    try:
        directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            inner = os.open(part, DIR_FLAGS, dir_fd=directory)
            os.close(directory)
            directory = inner
        return _read_file(directory, parts[-1], limit, whole)
    except OSError:
        return None  # absent, or a link where a directory or file should be
    finally:
        os.close(directory)


def _read_file(directory: int, name: str, limit: int, whole: bool) -> bytes | None:
    """The file's bytes if it is a regular file, looked at before it is opened."""
    seen = os.stat(name, dir_fd=directory, follow_symlinks=False)
    if not stat.S_ISREG(seen.st_mode):
        return None  # a link, FIFO, socket, device node or directory: never opened
    handle = os.open(name, FILE_FLAGS, dir_fd=directory)
    try:
        opened = os.fstat(handle)
        if (opened.st_dev, opened.st_ino) != (seen.st_dev, seen.st_ino) or \
                not stat.S_ISREG(opened.st_mode):
            return None  # swapped between the look and the open
        size = opened.st_size
        if size > limit:
            if whole:
                return None
            os.lseek(handle, size - limit, os.SEEK_SET)
        chunks, left = [], limit
        while left > 0 and (chunk := os.read(handle, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(handle)

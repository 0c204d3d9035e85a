"""A kernel line's run directory (lab-output/runs/<line>): one run at a time.

Each run of a line empties the line's directory and shares it with its guest,
so two runs of one line on one output (a `lab run` beside `tox -e kernel-6.1`,
two terminals) emptied each other's directory in mid-run. An flock(2) on
runs/<line>.lock gives the directory to one run; a second one stops at once,
naming the pid and command that hold it, instead of waiting: a run lasts
minutes to an hour, so a wait would look like a hang, and once it was over the
second run would empty the first one's evidence anyway. What the user wants is
to let the first run finish, or give the second its own LAB_OUTPUT_DIR. The
kernel drops the lock when its holder dies, so a killed run blocks nothing.

The directory is emptied with lab.tree_removal.remove_tree: the guest shaped it
(a tree 1,200 levels deep, modes it chose), and shutil.rmtree would recurse.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from lab.errors import LabError
from lab.guestvm.share_mount import release_shares
from lab.names import LINE_NAME
from lab.tree_removal import remove_tree

LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
COMMAND_CHARS = 200


class RunDir:
    """runs/<line> under output, held by this process until release()."""

    def __init__(self, output: Path, line: str) -> None:
        if not LINE_NAME.fullmatch(line):  # callers pass lock entries: this is a backstop
            raise LabError(f"{line!r} is not a kernel line name")
        self.path = output / "runs" / line
        self.lock = self.path.with_name(line + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = _take(self.lock, line, self.path)

    def empty(self) -> Path:
        """Remove what an earlier run (and its guest) left; an empty directory."""
        try:
            release_shares(self.path)  # a killed run's share bound (lab.guestvm.share_mount)
            remove_tree(self.path)
            self.path.mkdir()
        except OSError as error:
            raise LabError(f"cannot empty {self.path} for this run: {error}") from error
        return self.path

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _take(lock: Path, line: str, path: Path) -> int:
    try:
        fd = os.open(lock, LOCK_FLAGS, 0o644)
    except OSError as error:
        raise LabError(f"kernel {line}: cannot open the lock of {path}: {error}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
        os.close(fd)
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
        raise LabError(f"kernel {line}: {path} is in use by another run of that line "
                       f"({describe_holder(holder)}); let it finish, or give this run its "
                       "own output directory with LAB_OUTPUT_DIR") from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def describe_holder(pid_text: str) -> str:
    """`pid 123: lab run --kernel 6.1`, as far as /proc still tells."""
    if not pid_text.isdigit():
        return "pid unknown"
    if int(pid_text) == os.getpid():
        return f"pid {pid_text}, this process"
    try:
        raw = Path(f"/proc/{pid_text}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid_text}"
    command = raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
    shown = "".join(c if c.isprintable() else "?" for c in command[:COMMAND_CHARS])
    return f"pid {pid_text}: {shown}"

"""SIGTERM and SIGHUP handled like Ctrl-C, and a second signal that cannot cut a
teardown short.

tox, CI runners and `lab matrix` stop a run with SIGTERM, and a closed terminal
(an ssh session that drops, a window closed) sends SIGHUP; Python's default for
both is to die on the spot, so no fixture tears down, the guest is not powered
off and the report is not written. With `StopOnce` installed, the first SIGINT,
SIGTERM or SIGHUP raises KeyboardInterrupt (pytest then tears down and writes
the report, as on Ctrl-C) and a later one only says that the teardown is
running: a guest powers off in under two seconds, and a teardown cut short
would leave QEMU behind. SIGKILL still ends a run at once.

A closed terminal also makes every write to it fail with EIO, so the
teardown's first progress line would raise and cut it short: on SIGHUP the
descriptors of a hung-up terminal are pointed at /dev/null first (nobody can
read that terminal any more; a terminal that is still open is left alone).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys
import termios
import threading
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopOnce:
    """KeyboardInterrupt on the first stop signal, a notice on the later ones."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        if signum == signal.SIGHUP:
            silence_hung_up_terminals()
        name = signal.Signals(signum).name
        if len(self.received) == 1:
            raise KeyboardInterrupt(f"{name} received")
        print(f"\nebpf-lab: {name} received while stopping: the guest is being powered off "
              "and the report written (SIGKILL stops at once)", file=sys.stderr, flush=True)

    def describe(self) -> str | None:
        """What stopped the run, for the summary: the notice above is lost when it
        lands inside a test whose captured output pytest then drops."""
        if not self.received:
            return None
        first, *later = (signal.Signals(s).name for s in self.received)
        text = f"stopped by {first}: torn down, the finished cells kept"
        return text + (f"; {', '.join(later)} waited for that" if later else "")


def silence_hung_up_terminals(fds: Iterable[int] | None = None) -> list[int]:
    """Point each descriptor (default: all of this process's) of a hung-up terminal
    at /dev/null; return those changed. This includes the copies of the terminal
    that pytest's capture keeps and puts back after each test."""
    if fds is None:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    hung_up = [fd for fd in fds if _is_hung_up_terminal(fd)]
    if hung_up:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            for fd in hung_up:
                os.dup2(null, fd, inheritable=os.get_inheritable(fd))
        finally:
            os.close(null)
    return hung_up


def _is_hung_up_terminal(fd: int) -> bool:
    """A character device whose terminal ioctl fails with EIO: the kernel's hung-up
    terminal (an open terminal answers, /dev/null says ENOTTY)."""
    try:
        if not stat.S_ISCHR(os.fstat(fd).st_mode):
            return False
        termios.tcgetattr(fd)
    except termios.error as error:
        return bool(error.args) and error.args[0] == errno.EIO
    except OSError:  # closed meanwhile (the directory listing's own descriptor)
        return False
    return False


def install(handler: Callable[[int, FrameType | None], Any]) -> dict[int, Handler]:
    """Put `handler` on SIGINT, SIGTERM and SIGHUP; return what it replaced, for `restore`.

    A signal the process ignores stays ignored (a background job of a
    non-interactive shell ignores SIGINT: that is its caller's choice), and so
    does one whose handler was set outside Python. Only the main thread may set
    handlers: elsewhere (an embedding, a thread) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Handler] = {}
    for signum in STOP_SIGNALS:
        current = signal.getsignal(signum)
        if current is not None and current is not signal.SIG_IGN:
            previous[signum] = current
            signal.signal(signum, handler)
    return previous


def restore(previous: dict[int, Handler]) -> None:
    """Put back the handlers `install` replaced."""
    for signum, handler in previous.items():
        signal.signal(signum, handler)

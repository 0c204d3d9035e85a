"""SIGTERM handled like Ctrl-C, and a second signal that cannot cut a teardown short.

tox, CI runners and `lab matrix` stop a run with SIGTERM; Python's default for
it is to die on the spot, so no fixture tears down, the guest is not powered
off and the report is not written. With `StopOnce` installed, the first SIGINT
or SIGTERM raises KeyboardInterrupt (pytest then tears down and writes the
report, as on Ctrl-C) and a later one only says that the teardown is running:
a guest powers off in under two seconds, and a teardown cut short would leave
QEMU behind. SIGKILL still ends a run at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopOnce:
    """KeyboardInterrupt on the first stop signal, a notice on the later ones."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
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


def install(handler: Callable[[int, FrameType | None], Any]) -> dict[int, Handler]:
    """Put `handler` on SIGINT and SIGTERM; return what it replaced, for `restore`.

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

"""One way to wait for the guest: a deadline, a poll, and a timeout that says what
was awaited and what was last seen (labgrid's Timeout, testcontainers' wait
strategies). The clock is a parameter, so a fake one makes a test's timeouts
take no time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from lab.errors import GuestError

T = TypeVar("T")
SEEN_CHARS = 500  # how much of the last thing seen a timeout shows


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The host's monotonic clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class WaitTimeout(GuestError):
    """A wait missed its deadline; `what` was awaited, `last` was seen last."""

    def __init__(self, what: str, timeout: float, last: str, console_tail: str = "") -> None:
        super().__init__(f"timed out after {timeout:.0f} s waiting for {what}; "
                         f"last seen: {last[-SEEN_CHARS:]!r}", console_tail)
        self.what = what
        self.last = last


def wait_until(clock: Clock, ready: Callable[[], T | None], timeout: float, what: str,
               seen: Callable[[], str] = lambda: "", poll: float = 0.05,
               tail: Callable[[], str] = lambda: "") -> T:
    """ready()'s first true value, asked every poll seconds; once the deadline has
    passed, WaitTimeout with what and seen() (and the console's tail)."""
    deadline = clock.monotonic() + timeout
    while True:
        value = ready()
        if value:
            return value
        if clock.monotonic() > deadline:
            raise WaitTimeout(what, timeout, seen(), tail())
        clock.sleep(poll)

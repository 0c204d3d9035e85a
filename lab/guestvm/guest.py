"""What the lab needs of a booted guest: the one protocol the scenario runner, the
prebuilder and the workload are written against.

lab.guestvm.vm.GuestVM implements it over virtme-ng and a pexpect console; the
unit tests drive the runner with a fake one (tests/support/fake_guest.py). Each
part the callers use is a protocol of its own, so a caller names only what it
needs: a build a Shell, the workload a Conversation, the runner the Guest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol, TypeVar

from lab.guestvm.console import CommandResult

T = TypeVar("T")


class Shell(Protocol):
    """Run one command line in the guest's shell: its exit status and output."""

    def run(self, command: str, timeout: float) -> CommandResult: ...


class Conversation(Shell, Protocol):
    """The console as a workload converses with the programs it starts."""

    def sendline(self, line: str) -> None: ...
    def sendeof(self) -> None: ...
    def interrupt(self) -> None: ...
    def expect(self, pattern: str, timeout: float, waiting_for: str) -> re.Match[str]: ...
    def expect_prompt(self, timeout: float) -> str: ...
    def last_output(self) -> str: ...


class Guest(Conversation, Protocol):
    """A booted guest, as the scenario runner drives it.

    Every wait has a deadline; a missed one raises lab.errors.GuestError naming what
    was awaited and the last thing seen (lab.guestvm.waiting.WaitTimeout)."""

    @property
    def release(self) -> str: ...

    @property
    def cpus(self) -> int: ...

    @property
    def alive(self) -> bool: ...

    @property
    def in_doubt(self) -> bool:
        """Whether a wait timed out since the shell last answered (something may
        still hold the console)."""

    def check(self, command: str, timeout: float) -> str:
        """Run a command that must succeed: its output, or GuestError."""

    def start_background(self, command: str, output: str, timeout: float) -> int:
        """Start command in the background, its output to the guest path output;
        its pid (lab.guestvm.workload.StepFailed when it printed none)."""

    def answers(self, timeout: float) -> bool:
        """Whether the lab's shell is back and runs a command (after an interrupt)."""

    def read_share(self, relative: str) -> str:
        """A file the guest wrote under its read-write share, read through
        lab.guestvm.untrusted ('' when absent or not a regular file)."""

    def console_tail(self) -> str: ...

    def wait_until(self, ready: Callable[[], T | None], timeout: float, what: str,
                   seen: Callable[[], str], poll: float) -> T:
        """ready()'s first true value, calling it every poll seconds; after timeout
        seconds, WaitTimeout naming what and the end of seen()."""


class BootedGuest(Guest, Protocol):
    """A guest the session booted, and powers off."""

    @property
    def boot_seconds(self) -> float: ...

    def close(self) -> None: ...

"""A shell on the guest's serial console, driven by pexpect.

The shell gets a prompt no program prints and echo off, so everything read
between two prompts is the command's own output. The markers that carry a
command's exit status (and, in lab.guestvm.workload, a pid) are random and
fresh for every use, as labgrid's ShellDriver makes them (gen_marker): a
program's output cannot pass for them, nor can a program that reads the
console's input, since the shell has read the marker's line before the command
runs. Every wait is a deadline; a missed one raises GuestError naming the
pattern, the state and the last output, and EOF (QEMU gone: panic, poweroff)
is reported as such.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Protocol

import pexpect

from lab.errors import GuestError
from lab.verdicts.kernel_health import panic_message

PROMPT = "[lab]# "
SETUP = "stty -echo; set +o emacs +o vi; bind 'set enable-bracketed-paste off' 2>/dev/null; " \
        "dmesg -n 1; PS2=''; PS1='[lab]''# '"
TAIL_CHARS = 3000
MARKER_BYTES = 8  # 64 random bits: no program guesses them


class Expecter(Protocol):
    """The part of pexpect.spawn the console uses (a fake one serves the unit tests)."""

    before: str | None
    match: re.Match[str] | None

    def sendline(self, s: str = "") -> int: ...
    def sendintr(self) -> None: ...
    def sendeof(self) -> None: ...
    def expect(self, pattern: object, timeout: float | None = -1) -> int: ...


@dataclass(frozen=True)
class CommandResult:
    status: int
    output: str


class GuestConsole:
    """Run commands in the guest shell and converse with what they start."""

    def __init__(self, child: Expecter, tail: TailSource) -> None:
        self._child = child
        self._tail = tail
        # A wait that timed out leaves the console in doubt: something may still hold
        # it. Cleared once the lab's own shell has run a command again.
        self.in_doubt = False

    def setup(self, timeout: float) -> None:
        self._child.sendline(SETUP)
        self.expect_prompt(timeout)

    def run(self, command: str, timeout: float) -> CommandResult:
        """Run one line in the guest shell and return its exit status and output.

        The command and the echo of its status are one group: the shell reads
        both lines before anything runs, so the command cannot read the marker
        from its input."""
        marker = new_marker("RC")
        self._child.sendline(f"{{ {command}\n}}; echo {typed(marker)}=$?")
        found = self.expect(rf"{marker}=(\d+)\r*\n", timeout, f"`{command}` to finish")
        output = clean_output(self._child.before or "")
        status = int(found.group(1))
        self.expect_prompt(timeout)
        self.in_doubt = False
        return CommandResult(status, output)

    def answers(self, timeout: float) -> bool:
        """Whether the lab's shell is back, after an interrupt: its prompt comes, then
        it runs a command. A program that ignores the interrupt keeps the console,
        and a line typed while it ran may have been discarded, so nothing is typed
        before the prompt shows."""
        try:
            self.expect_prompt(timeout)
            return self.run("true", timeout).status == 0
        except GuestError:
            return False

    def check(self, command: str, timeout: float) -> str:
        """Run a command that must succeed; its output, or GuestError with it."""
        result = self.run(command, timeout)
        if result.status != 0:
            raise GuestError(f"`{command}` exited {result.status}: {result.output[-1500:]}",
                             self.tail())
        return result.output

    def sendline(self, line: str) -> None:
        self._child.sendline(line)

    def interrupt(self) -> None:
        self._child.sendintr()

    def sendeof(self) -> None:
        self._child.sendeof()

    def last_output(self) -> str:
        """What the last expect consumed: the text before the match and the match."""
        matched = self._child.match.group(0) if self._child.match else ""
        return clean_output((self._child.before or "") + matched)

    def expect(self, pattern: str, timeout: float, waiting_for: str) -> re.Match[str]:
        """Wait for a regex; GuestError says what was awaited and what came instead."""
        try:
            self._child.expect(pattern, timeout=timeout)
        except pexpect.TIMEOUT:
            self.in_doubt = True
            raise GuestError(
                f"timed out after {timeout:.0f} s waiting for {waiting_for} "
                f"(pattern {pattern!r}); last output: "
                f"{clean_output(self._child.before or '')[-500:]!r}",
                self.tail(),
            ) from None
        except pexpect.EOF:
            tail = self.tail()
            panic = panic_message(tail)
            what = (f"kernel panic: {panic}" if panic is not None
                    else f"QEMU exited{last_words(tail)}")
            raise GuestError(f"the guest went away while waiting for {waiting_for} ({what})",
                             tail, panic) from None
        assert self._child.match is not None
        return self._child.match

    def expect_prompt(self, timeout: float) -> str:
        self.expect(re.escape(PROMPT), timeout, "the guest shell prompt")
        return clean_output(self._child.before or "")

    def tail(self) -> str:
        return self._tail()


class TailSource(Protocol):
    def __call__(self) -> str: ...


def new_marker(kind: str) -> str:
    """A marker for the lab's own protocol, random and fresh for each use."""
    return f"__LAB_{kind}_{secrets.token_hex(MARKER_BYTES)}__"


def typed(marker: str) -> str:
    """The marker as the shell is given it: two quoted halves it joins, so the
    typed line, were it ever echoed, would not show the marker itself."""
    half = len(marker) // 2
    return f"'{marker[:half]}''{marker[half:]}'"


def last_words(tail: str) -> str:
    """The last line a dying QEMU or virtme-ng printed, to name why it exited."""
    lines = [line.strip() for line in clean_output(tail).splitlines() if line.strip()]
    return f"; its last output: {lines[-1][:300]}" if lines else ""


def clean_output(text: str) -> str:
    """Console text as the program wrote it: CRLF folded, prompt remnants dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "")
    return text.replace(PROMPT, "")

"""One booted guest: virtme-ng under pexpect, as a context manager.

Starting retries a failed boot once (under TCG about one boot in ten hangs or
stops early); closing powers the guest off through sysrq and makes sure no
QEMU survives, whatever happened before. Each boot gets its share bounded by a
fresh tmpfs (lab.guestvm.share_mount), unmounted once QEMU is gone; the console
log the host writes from what the guest prints is bounded too
(lab.guestvm.capped_log).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import pexpect

from lab.errors import GuestError, LabError
from lab.guest_text import visible
from lab.guestvm.capped_log import CappedLog
from lab.guestvm.console import TAIL_CHARS, CommandResult, GuestConsole, new_marker, typed
from lab.guestvm.share_mount import bound_share, release_shares
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vng_command import RO_MOUNT_POINT, GuestSpec, vng_command
from lab.guestvm.waiting import SystemClock, wait_until
from lab.guestvm.workload import pid_from

FIRST_PROMPT = r"root@[^\r\n]*# "
SHUTDOWN_TIMEOUT_S = 20.0
T = TypeVar("T")


class GuestVM:
    """A guest kernel booted with the lab root, reachable through its console; the
    lab's Guest (lab.guestvm.guest), its commands run by the console's shell."""

    def __init__(self, spec: GuestSpec, console_log: Path, boot_timeout: float = 150.0,
                 boot_attempts: int = 2) -> None:
        self.spec = spec
        self.console_log = console_log
        self.boot_timeout = boot_timeout
        self.boot_attempts = boot_attempts
        self.boot_seconds = 0.0
        self._child: pexpect.spawn | None = None
        self._console: GuestConsole | None = None
        self._bounded = False  # a tmpfs of ours is on spec.work_dir

    @property
    def alive(self) -> bool:
        return self._child is not None and self._child.isalive()

    @property
    def console(self) -> GuestConsole:
        if self._console is None:
            raise GuestError("the guest is not running")
        return self._console

    @property
    def release(self) -> str:
        return self.spec.release

    @property
    def cpus(self) -> int:
        return self.spec.cpus

    @property
    def in_doubt(self) -> bool:
        return self.console.in_doubt

    def run(self, command: str, timeout: float) -> CommandResult:
        return self.console.run(command, timeout)

    def check(self, command: str, timeout: float) -> str:
        return self.console.check(command, timeout)

    def start_background(self, command: str, output: str, timeout: float) -> int:
        """command in the background, its output to output; its pid, under a fresh marker."""
        mark = new_marker("PID")
        printed = self.check(f"{command} > {output} 2>&1 & echo {typed(mark)}=$!", timeout)
        return int(pid_from(printed, command, mark))

    def answers(self, timeout: float) -> bool:
        return self.console.answers(timeout)

    def sendline(self, line: str) -> None:
        self.console.sendline(line)

    def sendeof(self) -> None:
        self.console.sendeof()

    def interrupt(self) -> None:
        self.console.interrupt()

    def expect(self, pattern: str, timeout: float, waiting_for: str) -> re.Match[str]:
        return self.console.expect(pattern, timeout, waiting_for)

    def expect_prompt(self, timeout: float) -> str:
        return self.console.expect_prompt(timeout)

    def last_output(self) -> str:
        return self.console.last_output()

    def read_share(self, relative: str) -> str:
        return read_untrusted(self.spec.work_dir, relative)

    def wait_until(self, ready: Callable[[], T | None], timeout: float, what: str,
                   seen: Callable[[], str], poll: float) -> T:
        return wait_until(SystemClock(), ready, timeout, what, seen, poll, self.console_tail)

    def start(self) -> GuestVM:
        for attempt in range(1, self.boot_attempts + 1):
            try:
                self._boot()
                return self
            except GuestError as error:
                self._kill()
                if attempt == self.boot_attempts:
                    raise
                print(f"boot attempt {attempt} failed ({visible(str(error))}); retrying once",
                      file=sys.stderr, flush=True)
            except BaseException:  # Ctrl-C or SIGTERM mid-boot: no QEMU may outlive it
                self._kill()
                raise
        raise AssertionError("unreachable")

    def _boot(self) -> None:
        command = vng_command(self.spec)
        self._bound_share()
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        log = CappedLog(self.console_log)
        log.write(f"\n===== {' '.join(command)}\n")
        started = time.monotonic()
        try:
            self._child = pexpect.spawn(command[0], command[1:], encoding="utf-8",
                                        codec_errors="replace", dimensions=(50, 250),
                                        env=os.environ.copy())
        except pexpect.ExceptionPexpect as error:
            log.close()
            raise GuestError(f"cannot start {command[0]}: {error} (is virtme-ng installed "
                             "in this environment?)") from error
        self._child.logfile_read = log
        self._console = GuestConsole(self._child, self.console_tail)
        self._console.expect(FIRST_PROMPT, self.boot_timeout, "the guest to boot to a shell")
        self._console.setup(timeout=60)
        self.boot_seconds = time.monotonic() - started

    def _bound_share(self) -> None:
        """A fresh, empty tmpfs of spec.share_limit bytes on the read-write share, with
        the read-only share's mount point in it (LabError: GuestError carries a console)."""
        if self.spec.share_limit <= 0:
            return
        try:
            bound_share(self.spec.work_dir, self.spec.share_limit)
        except LabError as error:
            raise GuestError(str(error)) from error
        self._bounded = True
        if self.spec.ro_dir is not None:
            (self.spec.work_dir / RO_MOUNT_POINT).mkdir()

    def console_tail(self, chars: int = TAIL_CHARS) -> str:
        try:
            with open(self.console_log, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - chars))
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close(self) -> None:
        """Power off through sysrq (a minbase root has no poweroff), then make sure."""
        child = self._child
        if child is None:
            return
        if child.isalive():
            try:
                child.sendline("echo o > /proc/sysrq-trigger")
                child.expect(pexpect.EOF, timeout=SHUTDOWN_TIMEOUT_S)
            except (pexpect.TIMEOUT, OSError):
                pass
        self._kill()

    def _kill(self) -> None:
        child, self._child, self._console = self._child, None, None
        if child is not None:
            if child.isalive():
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            child.close(force=True)
            if child.logfile_read is not None:
                child.logfile_read.close()
        if self._bounded:  # QEMU is gone: what the host keeps from the share it copied
            self._bounded = False
            release_shares(self.spec.work_dir)

    def __enter__(self) -> GuestVM:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

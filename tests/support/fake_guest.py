"""A guest for unit tests of the scenario runner and the session: it implements
lab.guestvm.guest.Guest without a VM.

It answers the lab's own commands the way a guest would (the boot state, the
kernel log's mark and the records after it, the taint, the programs loaded, a
loader started in the background, kill -0 and wait), writes what the guest
would write into a real share directory (read back through
lab.guestvm.untrusted, as from a real guest), and takes scripted answers for any
other command by pattern. Its clock is fake: a timeout costs no time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from lab.cache.boot_image import BootImage
from lab.cache.catalog import LockedKernel
from lab.cache.kernels import KernelBuild
from lab.cache.userlands import Userlands
from lab.errors import GuestError
from lab.guestvm import session
from lab.guestvm.accel import AccelChoice
from lab.guestvm.console import CommandResult
from lab.guestvm.session import GuestRoot, KernelLab, Prepared
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vng_command import GuestSpec
from lab.guestvm.waiting import wait_until
from lab.guestvm.workload import StepFailed
from lab.settings import Settings

T = TypeVar("T")
TYPED_MARKER = re.compile(r"'([^']*)''([^']*)'=\$!")
REDIRECT = re.compile(r">>? ?(/lab/\S+)")
DIGEST = "d" * 64


class FakeClock:
    """Time that passes only when someone sleeps or a command takes it."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Loader:
    """What the program started in the background does: what it prints (at once,
    or once the clock reaches `ready_at`), whether it keeps running, how it exits."""

    output: str = ""
    ready_at: float = 0.0
    running: bool = True
    status: int = 0
    ignores_stop: bool = False  # stays loaded after kill -TERM (its programs do)
    on_interrupt: str | None = None  # printed (and then it exits) on kill -INT; None: ignores it


@dataclass
class Answer:
    status: int = 0
    output: str = ""
    writes: dict[str, str] = field(default_factory=dict)  # share-relative path: text
    takes: float = 0.0  # seconds of the fake clock
    error: GuestError | None = None  # raised instead (a lost console, a dead guest)
    kills: bool = False  # the guest dies running it


class FakeGuest:
    """A guest whose commands are answered by rules, newest first, then by the
    built-in answers to the lab's own commands, then with status 0 and no output."""

    def __init__(self, share: Path, release: str = "6.1.0-99-amd64", cpus: int = 2) -> None:
        self.share = share
        self.release = release
        self.cpus = cpus
        self.clock = FakeClock()
        self.alive = True
        self.in_doubt = False
        self.answering = True  # whether the shell answers after an interrupt
        self.boot_seconds = 1.5
        self.rules: list[tuple[re.Pattern[str], Answer | Callable[[str], Answer]]] = []
        self.commands: list[str] = []
        self.interrupts = 0
        self.console = "[    0.0] Linux version 6.1\n"
        self.kernel_log: list[str] = ["Linux version 6.1"]
        self.taint = 0
        self.programs = 0  # BPF programs loaded
        self.loader = Loader()
        self.loader_pid = 4242
        self.step_pid = 5151  # what a workload step that records its pid gets
        self.closed = False

    # --- scripting -------------------------------------------------------------

    def on(self, pattern: str, answer: Answer | Callable[[str], Answer]) -> None:
        """Answer commands matching pattern (a regex searched in the command line)."""
        self.rules.append((re.compile(pattern), answer))

    def log_kernel(self, message: str) -> None:
        """A record the kernel logs now (the next kernel check reads it)."""
        self.kernel_log.append(message)

    # --- the Guest protocol ------------------------------------------------------

    def run(self, command: str, timeout: float) -> CommandResult:
        if not self.alive:
            raise GuestError("the guest went away while waiting for the shell prompt "
                             "(QEMU exited)", self.console)
        self.commands.append(command)
        answer = self._answer(command)
        self.clock.now += answer.takes
        if answer.kills:
            self.alive = False
        if answer.error is not None:
            self.in_doubt = True
            raise answer.error
        for relative, text in answer.writes.items():
            self.write(relative, text)
        self.in_doubt = False
        return CommandResult(answer.status, answer.output)

    def check(self, command: str, timeout: float) -> str:
        result = self.run(command, timeout)
        if result.status != 0:
            raise GuestError(f"`{command}` exited {result.status}: {result.output}",
                             self.console)
        return result.output

    def start_background(self, command: str, output: str, timeout: float) -> int:
        result = self.run(f"{command} > {output} 2>&1 & echo $!", timeout)
        if not result.output.strip().isdigit():
            raise StepFailed(f"`{command}` did not report its pid; output: {result.output!r}")
        return int(result.output)

    def answers(self, timeout: float) -> bool:
        self.clock.now += 0 if self.answering else timeout
        if self.answering:
            self.in_doubt = False
        return self.answering and self.alive

    def read_share(self, relative: str) -> str:
        self._loader_prints()
        return read_untrusted(self.share, relative)

    def console_tail(self) -> str:
        return self.console

    def wait_until(self, ready: Callable[[], T | None], timeout: float, what: str,
                   seen: Callable[[], str], poll: float) -> T:
        return wait_until(self.clock, ready, timeout, what, seen, poll, self.console_tail)

    def interrupt(self) -> None:
        self.interrupts += 1

    def sendline(self, line: str) -> None:
        self.commands.append(line)

    def sendeof(self) -> None:
        pass

    def expect(self, pattern: str, timeout: float, waiting_for: str) -> re.Match[str]:
        raise GuestError(f"timed out after {timeout:.0f} s waiting for {waiting_for}")

    def expect_prompt(self, timeout: float) -> str:
        return ""

    def last_output(self) -> str:
        return ""

    def close(self) -> None:
        self.closed, self.alive = True, False

    # --- the guest's side ----------------------------------------------------------

    def write(self, relative: str, text: str) -> None:
        path = self.share / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def _answer(self, command: str) -> Answer:
        for pattern, answer in reversed(self.rules):
            if pattern.search(command):
                return answer(command) if callable(answer) else answer
        return self.lab_answer(command)

    def lab_answer(self, command: str) -> Answer:  # noqa: PLR0911 - one answer per command
        """How a guest answers the lab's own commands (a rule may fall back on it)."""
        pid = str(self.loader_pid)
        if "sha256sum" in command and "upperdir" in command:  # the boot state
            return Answer(output=f"{DIGEST}  -\n{DIGEST}  -\n")
        if "awk -F, -v s=" in command:  # the records after the mark
            return self._kernel_records(command)
        if "/dev/kmsg" in command:  # the mark
            last = len(self.kernel_log)
            return Answer(output=f"{self.taint}\n6,{last},0,-;{self.kernel_log[-1]}\n")
        if "bpftool prog show" in command:
            return Answer(output=f"{self.programs}\n")
        if command.endswith("2>&1 & echo $!"):  # the loader
            self._start_loader(command)
            return Answer(output=pid)
        if command.startswith(f"if kill -0 {pid} "):  # stop it (and drain)
            return self._stop_loader(command)
        if command == f"kill -0 {pid}":
            return Answer(status=0 if self.loader.running else 1)
        if command == f"kill -INT {pid}":
            return self._interrupt_loader()
        if command == f"wait {pid}":
            return Answer(status=self.loader.status)
        marker = TYPED_MARKER.search(command)
        if marker:  # a workload step that records its pid
            return Answer(output=f"{marker[1]}{marker[2]}={self.step_pid}\n")
        return self._drain(command)

    def _start_loader(self, command: str) -> None:
        target = REDIRECT.search(command)
        assert target is not None, command
        self._load_log = target.group(1).removeprefix("/lab/")
        self.write(self._load_log, "")
        self._loader_started = self.clock.now
        self._loader_prints()

    def _loader_prints(self) -> None:
        """The loader's output, once it is started and the clock says it printed."""
        log = getattr(self, "_load_log", None)
        if log and self.clock.now - self._loader_started >= self.loader.ready_at:
            self.write(log, self.loader.output)

    def _interrupt_loader(self) -> Answer:
        """Ctrl-C: a loader that handles it prints its last words and exits."""
        if not self.loader.running:
            return Answer(status=1)
        if self.loader.on_interrupt is not None:
            self.loader.output += self.loader.on_interrupt
            self.loader.running = False
            self._loader_prints()
        return Answer()

    def _stop_loader(self, command: str) -> Answer:
        if not self.loader.running:
            return Answer(status=1)
        self.loader.running = self.loader.ignores_stop
        return self._drain(command)

    def _drain(self, command: str) -> Answer:
        """The trace the probes wrote (a test writes it with `trace`)."""
        if "trace_pipe" in command:
            target = re.search(r"of=(/lab/\S+)", command)
            errors = re.search(r"2>(/lab/[^\s;]+)", command)
            assert target is not None and errors is not None
            return Answer(writes={target.group(1).removeprefix("/lab/"): self.trace,
                                  errors.group(1).removeprefix("/lab/"): self.drain_errors})
        return Answer()

    trace = ""
    # what dd says when the pipe is empty; a test puts another error here
    drain_errors = ("dd: error reading '/sys/kernel/tracing/trace_pipe': "
                    "Resource temporarily unavailable\n")

    def _kernel_records(self, command: str) -> Answer:
        after = int(re.search(r"-v s=(\d+)", command).group(1))  # type: ignore[union-attr]
        target = REDIRECT.search(command.split("awk -F,")[1])
        assert target is not None
        records = "".join(f"4,{n},0,-;{m}\n" for n, m in enumerate(self.kernel_log, 1)
                          if n > after)
        return Answer(output=f"{self.taint}\n",
                      writes={target.group(1).removeprefix("/lab/"): records})


def fake_root(where: Path, userland: str = "bookworm") -> GuestRoot:
    """A userland's root as lab.guestvm.session.prepare_root would give it, with a
    dpkg status of its own (the build cache's toolchain digest)."""
    rootfs = where / ("rootfs" if userland == "bookworm" else f"rootfs-{userland}")
    (rootfs / "var" / "lib" / "dpkg").mkdir(parents=True, exist_ok=True)
    (rootfs / "var" / "lib" / "dpkg" / "status").write_text(f"Package: clang\n# {userland}\n")
    return GuestRoot(userland, rootfs, where / f"{userland}.img", f"clang of {userland}")


def prepared_line(where: Path, release: str = "6.1.0-99-amd64", arch: str = "x86_64") -> Prepared:
    """What lab.guestvm.session.prepare would give for a line, without fetching or
    building anything: enough for a session that boots fake guests. Its userlands
    are bookworm (the default, prepared) and trixie (prepared when first used)."""
    kernel = LockedKernel("6.1" if arch == "x86_64" else f"6.1-{arch}", "bookworm", release, "1",
                          (), (), arch)
    userlands = Userlands("bookworm", {"bookworm": where / "rootfs.toml",
                                       "trixie": where / "rootfs-trixie.toml"})
    return Prepared(kernel, KernelBuild(release, where / "kernel"),
                    BootImage(where / "vmlinuz", uncompressed=False),
                    {"bookworm": fake_root(where)}, AccelChoice("tcg", "no KVM here"), {},
                    userlands)


def fake_guests(booted: list[FakeGuest]) -> Callable[[GuestSpec, Path], FakeGuest]:
    """A session's guest factory: each boot a new FakeGuest on the spec's share,
    kept in booted."""
    def boot(spec: GuestSpec, console_log: Path) -> FakeGuest:
        booted.append(FakeGuest(spec.work_dir, spec.release, spec.cpus))
        return booted[-1]

    return boot


def fake_session(where: Path, monkeypatch: pytest.MonkeyPatch, booted: list[FakeGuest],
                 project: Path, build_cache: bool = True,
                 run_cpus: int | None = None, guest_cpus: int | None = None) -> KernelLab:
    """A session of the 6.1 line, prepared at once (prepared_line), whose guests are
    fakes kept in booted; output and cache under where."""
    monkeypatch.setattr(session, "prepare", lambda settings, line, *_: prepared_line(where))
    monkeypatch.setattr(session, "prepare_root",
                        lambda settings, userlands, userland, arch: fake_root(where, userland))
    settings = Settings(project=project, cache=where / "cache", output=where / "out",
                        accel="tcg", build_cache=build_cache, run_cpus=run_cpus,
                        guest_cpus=guest_cpus)
    return KernelLab(settings, "6.1", boot_guest=fake_guests(booted))

"""What one repetition of the benchmark measured, on either side (plain data)."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


class BenchError(SystemExit):
    """A side could not do its work: no time is given for it, the run stops."""

    def __init__(self, message: str) -> None:
        super().__init__(f"benchmark: {message}")


def run_script(main: Callable[[], None], name: str) -> None:
    """A bench script's entry point: a BenchError or Ctrl-C ends it with one line
    on stderr (its guests powered off by then) and no report written."""
    try:
        main()
    except BenchError as error:
        print(f"{name}: {error.code}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{name}: stopped; no report written", file=sys.stderr)
        sys.exit(130)


@dataclass
class Stages:
    """One tutorial of one run: seconds per stage, in order, and in all."""

    name: str
    timings: dict[str, float]
    total: float
    build_reused: bool | None = None  # the lab's build cache; None: nothing to build, or bare

    @property
    def outside(self) -> float:
        """The scenario's time that no stage accounts for."""
        return self.total - sum(self.timings.values())


@dataclass
class LabBoot:
    """One lab boot: GuestVM started, /proc/uptime read, powered off."""

    total: float  # start to powered off, the uptime read left out
    to_shell: float  # GuestVM.boot_seconds: spawned to a set-up prompt
    uptime: float  # the guest's /proc/uptime at that prompt
    probe: float  # how long reading it took (the uptime is taken within it)
    poweroff: float

    @property
    def host_side(self) -> float:
        """vng's start-up, QEMU's, the firmware: spawned until the kernel started."""
        return self.to_shell + self.probe / 2 - self.uptime

    @property
    def guest_side(self) -> float:
        return self.to_shell - self.host_side


@dataclass
class LabRun:
    """One lab run of the tutorials."""

    total: float
    prepare: float
    start: float  # KernelLab.start once prepared: boot and the runner's set-up
    boot: LabBoot  # to_shell, uptime and probe (total and poweroff unused)
    scenarios: list[Stages]
    close: float
    ahead: float = 0.0  # KernelLab.prebuild: builds the cache lacked, side by side

    @property
    def runner_setup(self) -> float:
        return self.start - self.boot.to_shell


@dataclass
class VngRun:
    """One bare `vng --exec`: wall time, and when (seconds after spawning vng) the
    watched files appeared in the share."""

    total: float
    seen: dict[str, float]
    output: str


@dataclass
class BareRun:
    """One bare run of the tutorials; the guest side from the script's times file."""

    total: float
    uptime: float | None  # the guest's /proc/uptime as the script started
    started: float | None  # host seconds from spawning vng to the script's start
    finished: float | None  # ... to the script's last line
    tutorials: list[Stages] = field(default_factory=list)

    @property
    def host_side(self) -> float | None:
        if self.started is None or self.uptime is None:
            return None
        return self.started - self.uptime


@dataclass
class Series:
    """The repetitions of one row, both sides."""

    work: str
    lab: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)


@dataclass
class Results:
    boot: Series
    tutorials: Series
    lab_boots: list[LabBoot] = field(default_factory=list)
    lab_runs: list[LabRun] = field(default_factory=list)
    bare_runs: list[BareRun] = field(default_factory=list)
    dry_runs: list[float] = field(default_factory=list)


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """median, min, max"""
    return statistics.median(values), min(values), max(values)


def median_run(runs: Sequence[T], total: Callable[[T], float]) -> tuple[int, T]:
    """The run whose total is the median (the lower one of an even count), and its index."""
    order = sorted(range(len(runs)), key=lambda i: total(runs[i]))
    index = order[(len(order) - 1) // 2]
    return index, runs[index]

"""The lab's side of the benchmark: a GuestVM booted as KernelLab boots one, and
KernelLab running the tutorials as the pytest plugin drives it, each cell judged
by lab.verdicts.verdict.cell_for as every command judges one."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from measured import BenchError, LabBoot, LabRun, Stages

from lab.cache.build_cache import BUILDS
from lab.guestvm.console import GuestConsole
from lab.guestvm.session import KernelLab, Prepared, guest_spec, prepare
from lab.guestvm.vm import GuestVM
from lab.guestvm.vng_command import vng_command
from lab.guestvm.workspace import share_dirs
from lab.scenario import Scenario
from lab.settings import Settings
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import DRIFT, PASS, UNEXPECTED_PASS, Cell, cell_for

# The verdicts of a run that passed, whose times are the tutorial's: a drifting
# document or a recorded failure that did not happen do not change the timing.
TIMED = (PASS, DRIFT, UNEXPECTED_PASS)


def read_uptime(console: GuestConsole) -> tuple[float, float]:
    """The guest's uptime (seconds since its kernel started) and how long the read took."""
    started = time.monotonic()
    output = console.check("cat /proc/uptime", 30)
    return float(output.split()[0]), time.monotonic() - started


def lab_boot(settings: Settings, prepared: Prepared, work: Path) -> LabBoot:
    """A GuestVM as KernelLab boots one (same spec), started and powered off."""
    share, ro = share_dirs(work)
    vm = GuestVM(guest_spec(prepared, share, ro, settings.guest_append), work / "console.log")
    started = time.monotonic()
    try:
        vm.start()
        uptime, probe = read_uptime(vm.console)
        closing = time.monotonic()
    finally:
        vm.close()
    ended = time.monotonic()
    return LabBoot(ended - started - probe, vm.boot_seconds, uptime, probe, ended - closing)


def cold_build_cache(cache: Path, where: Path) -> Path:
    """A scratch cache whose entries link to the real cache's, all but the stored
    builds: a lab run with it builds everything, the rest stays warm."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for entry in cache.iterdir():
        if entry.name != BUILDS:
            (where / entry.name).symlink_to(entry)
    return where


def lab_tutorials(settings: Settings, line: str, scenarios: Sequence[Scenario],
                  work: Path, cold_builds: bool = False,
                  judge: Callable[[Outcome, Scenario, str], Cell] | None = None) -> LabRun:
    """KernelLab as the pytest plugin drives it, in its own output directory. The
    uptime is read once the lab has started (after the runner's set-up): the
    boot's split comes out right, and the read is left out of the total.
    judge: what stops the run (default: judged, a cell that did not pass)."""
    judge = judge or judged
    lab_settings = dataclasses.replace(settings, output=work)
    if cold_builds:
        lab_settings = dataclasses.replace(
            lab_settings, cache=cold_build_cache(settings.cache, work.parent / "cold-cache"))
    started = time.monotonic()
    lab = KernelLab(lab_settings, line)
    done: list[Stages] = []
    try:
        lab.prepared = prepare(lab_settings, line)  # what lab.start() would do first
        prepared = time.monotonic()
        lab.start()
        if lab.failure is not None:
            raise BenchError(f"lab: {lab.failure}")
        vm = lab_vm(lab)
        uptime, probe = read_uptime(vm.console)
        start = time.monotonic() - prepared - probe
        # the uptime as it was at the set-up prompt, before the runner's set-up
        boot = LabBoot(0.0, vm.boot_seconds, uptime - (start - vm.boot_seconds), probe, 0.0)
        ahead_began = time.monotonic()
        lab.prebuild(scenarios)  # as the pytest plugin does once a line has booted
        ahead = time.monotonic() - ahead_began
        for scenario in scenarios:
            began = time.monotonic()
            outcome = lab.run(scenario)
            judge(outcome, scenario, line)
            reused = outcome.build_reused is not None if scenario.build else None
            done.append(Stages(scenario.name, dict(outcome.timings), time.monotonic() - began,
                               reused))
        closing = time.monotonic()
    finally:
        lab.close()
    ended = time.monotonic()
    return LabRun(ended - started - probe, prepared - started, start, boot, done,
                  ended - closing, ahead)


def judged(outcome: Outcome, scenario: Scenario, line: str) -> Cell:
    """The cell as `lab run`, pytest and the matrix judge it; one whose run did not
    pass stops the benchmark with that cell's verdict and reason: no time is given."""
    cell = cell_for(outcome, scenario, line)
    if cell.verdict not in TIMED:
        raise BenchError(f"lab: {scenario.name}: {cell.verdict} at {cell.stage}: "
                         f"{cell.reason}\n(evidence in {outcome.evidence})")
    return cell


def lab_vm(lab: KernelLab) -> GuestVM:
    """The booted guest of a KernelLab (KernelLab.guest), a GuestVM under virtme-ng."""
    vm = lab.guest
    if not isinstance(vm, GuestVM):
        raise BenchError("lab: KernelLab has no booted GuestVM; bench/benchmark.py "
                         "needs it to read the guest's uptime")
    return vm


def vng_dry_run(settings: Settings, prepared: Prepared, work: Path) -> float:
    """virtme-ng's own start-up (Python, argument handling), no QEMU: part of the host
    side of the lab's boot."""
    share, ro = share_dirs(work)
    started = time.monotonic()
    subprocess.run(vng_command(guest_spec(prepared, share, ro), ["--dry-run"]),
                   capture_output=True, check=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - started

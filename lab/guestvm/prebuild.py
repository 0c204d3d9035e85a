"""Cold builds ahead of the scenarios, two at a time on the guest's two vCPUs.

Under emulation a cold tutorial build costs 3 to 18 s of one vCPU (clang is
single-threaded), and scenarios run one after another, so the guest's other
vCPU idled through every build. Before its first scenario a kernel line builds
every planned scenario the build cache (lab.cache.build_cache) does not have,
as many at once as the guest has vCPUs, and stores the successful builds; each
scenario then finds its build stored.

Nothing else runs meanwhile. Not alongside a scenario: its probes would trace
the builds (minimal traces every write(), strlen-snoop every strlen()), the
builds could overflow its trace buffer, and a build's kernel message would be
blamed on it.

A prebuild only fills the cache. A build that fails here is neither stored nor
reported: its scenario builds it again on its own turn, and its own compiler
error is the verdict, exactly as without a prebuild. A prebuild that kills or
hangs the guest leaves the scenarios to build on their own turns in a new guest.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lab.cache.build_cache import BuildCache
from lab.guestvm.build_steps import (
    STEP_TIMEOUT_S,
    BuildStep,
    build_steps,
    dump_vmlinux_h_command,
    keep_build,
)
from lab.guestvm.console import CommandResult
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vng_command import GUEST_RO_DIR, GUEST_WORK_DIR
from lab.guestvm.workspace import RO_DIR, SHARE_DIR, guest_build_dir, stage_sources
from lab.scenario import Scenario

PREBUILD = "prebuild"  # under the read-only share (scripts) and the read-write one (results)
DONE = "built"
UPTIME = "cut -d' ' -f1 /proc/uptime"  # when a job started and ended, on the guest's clock


class Shell(Protocol):
    """The guest's console, as far as a prebuild uses it."""

    def run(self, command: str, timeout: float) -> CommandResult: ...


@dataclass(frozen=True)
class Job:
    """One scenario's build, run ahead: where, from what, under which cache key."""

    name: str
    program: str  # the scenario's program directory, as the scenario names it
    key: str
    steps: tuple[BuildStep, ...]
    needs_vmlinux_h: bool


@dataclass(frozen=True)
class PrebuildReport:
    built: tuple[str, ...]
    failed: tuple[str, ...]  # built again on their own turn, which reports why
    seconds: float
    # each job's start and end in guest uptime seconds, as the job wrote them
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)

    def describe(self, line: str, jobs: int) -> str:
        failed = (f"; {len(self.failed)} failed ({', '.join(self.failed)}): each builds again "
                  "on its own turn, which reports why") if self.failed else ""
        return (f"kernel {line}: built {len(self.built)} tutorial(s) ahead, {jobs} at a time, "
                f"in {self.seconds:.1f} s{failed}")


def planned_jobs(scenarios: Sequence[Scenario], key_of: Callable[[Scenario], str],
                 builds: BuildCache, line: str) -> list[Job]:
    """The scenarios that build something the cache does not hold, each once, in
    order; not those expected to fail their build on this line (built ahead, they
    would only fail twice: 30 s of kprobe-link on 7.2 under emulation)."""
    jobs: dict[str, Job] = {}
    for scenario in scenarios:
        if not scenario.build or scenario.name in jobs or _fails_build_on(scenario, line):
            continue
        key = key_of(scenario)
        if builds.lookup(key) is None:
            jobs[scenario.name] = Job(scenario.name, scenario.program, key,
                                      tuple(build_steps(scenario)),
                                      scenario.vmlinux_h is not None)
    return list(jobs.values())


def _fails_build_on(scenario: Scenario, line: str) -> bool:
    incompatible = scenario.incompatible.get(line)
    return incompatible is not None and incompatible.stage == "build"


def job_script(job: Job) -> str:
    """The build of one scenario as a bash script (the console's shell, so a
    command means what it means on the scenario's own turn): in the directory
    its own turn builds in, the same steps, then its tar and the done mark; the
    directory is removed whatever happened."""
    where, out = guest_build_dir(job.name), f"{GUEST_WORK_DIR}/{PREBUILD}/{job.name}"
    log = f"{out}/build.log"
    chain = [f"rm -rf {where}", f"mkdir -p {where}", f"cd {where}",
             f"cp -r {GUEST_RO_DIR}/src/{job.name}/. .",
             *(f"( {step.command} ) >> {log} 2>&1" for step in job.steps),
             f"tar -cf {out}/build.tar ."]
    lines = [f"mkdir -p {out} && {UPTIME} > {out}/started",
             "if " + " &&\n   ".join(chain) + f"\nthen echo {DONE} > {out}/status; fi",
             f"cd / && rm -rf {where}; {UPTIME} > {out}/finished"]
    return "\n".join(lines) + "\n"


def driver_command(jobs: Sequence[Job], parallel: int) -> str:
    """One console command: vmlinux.h first if a job wants it (jobs would race to
    make it), then the jobs, `parallel` at a time."""
    names = " ".join(shlex.quote(job.name) for job in jobs)
    first = f"{dump_vmlinux_h_command()}; " if any(j.needs_vmlinux_h for j in jobs) else ""
    return (f"{first}printf '%s\\n' {names} | "
            f"xargs -P {parallel} -I@ bash {GUEST_RO_DIR}/{PREBUILD}/@.sh >/dev/null 2>&1; true")


def driver_timeout(jobs: Sequence[Job]) -> float:
    """Every step at its own limit, one after another, and vmlinux.h."""
    return STEP_TIMEOUT_S * (sum(len(job.steps) for job in jobs) + 1)


class Prebuilder:
    """Runs the planned jobs in the guest and stores what they built."""

    def __init__(self, console: Shell, run_dir: Path, project: Path,
                 builds: BuildCache, release: str, parallel: int) -> None:
        self.console = console
        self.run_dir = run_dir
        self.project = project
        self.builds = builds
        self.release = release
        self.parallel = parallel

    def run(self, jobs: Sequence[Job]) -> PrebuildReport:
        """Build the jobs in the guest (raises GuestError if it dies or does not
        answer in time), store each success; failures are left to their turn."""
        started = time.monotonic()
        scripts = self.run_dir / RO_DIR / PREBUILD
        scripts.mkdir(parents=True, exist_ok=True)
        for job in jobs:
            stage_sources(self.run_dir, job.name, self.project / job.program)
            (scripts / f"{job.name}.sh").write_text(job_script(job))
        self.console.run(driver_command(jobs, self.parallel),
                         driver_timeout(jobs))
        built: list[str] = []
        failed: list[str] = []
        for job in jobs:
            (built if self._store(job) else failed).append(job.name)
        return PrebuildReport(tuple(built), tuple(failed), time.monotonic() - started,
                              self._spans(jobs))

    def _spans(self, jobs: Sequence[Job]) -> dict[str, tuple[float, float]]:
        """When each job ran, on the guest's clock (jobs that wrote no times left out)."""
        share, spans = self.run_dir / SHARE_DIR, {}
        for job in jobs:
            times = [read_untrusted(share, f"{PREBUILD}/{job.name}/{mark}").strip()
                     for mark in ("started", "finished")]
            try:
                spans[job.name] = (float(times[0]), float(times[1]))
            except ValueError:
                continue
        return spans

    def _store(self, job: Job) -> bool:
        """Keep a job's tar if the job said it finished; whether it did."""
        share, out = self.run_dir / SHARE_DIR, f"{PREBUILD}/{job.name}"
        if read_untrusted(share, f"{out}/status").strip() != DONE:
            return False
        return keep_build(self.builds, share, f"{out}/build.tar", job.key, {
            "scenario": job.name, "release": self.release, "ahead_of_its_turn": True,
            "build_log": read_untrusted(share, f"{out}/build.log")[-6000:]})

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

Builds side by side must not reach into each other: each writes its tar to a
name of its own (lab.guestvm.build_steps.private_name) and seals it, and the
host stores only a build whose seal matches its key.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.cache.build_cache import BuildCache, BuildInputs, SourceError
from lab.guestvm.build_seal import Boot, Seal, keep_build, private_name
from lab.guestvm.build_steps import (
    STEP_TIMEOUT_S,
    BuildStep,
    build_steps,
    in_clean_env,
    step_command,
)
from lab.guestvm.guest import Shell
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vng_command import GUEST_RO_DIR, GUEST_WORK_DIR
from lab.guestvm.workspace import RO_DIR, SHARE_DIR, guest_build_dir, stage_sources
from lab.scenario import Scenario

PREBUILD = "prebuild"  # under the read-only share (scripts) and the read-write one (results)
DONE = "built"
UPTIME = "cut -d' ' -f1 /proc/uptime"  # when a job started and ended, on the guest's clock


@dataclass(frozen=True)
class Job:
    """One scenario's build, run ahead: where, from what, under which cache key."""

    name: str
    program: str  # the scenario's program directory, as the scenario names it
    inputs: BuildInputs
    steps: tuple[BuildStep, ...]
    vmlinux_h: str | None  # where the build wants vmlinux.h, if it does
    archive: str = field(default_factory=private_name)  # its tar's name: its own

    @property
    def key(self) -> str:
        return self.inputs.key()

    @property
    def needs_vmlinux_h(self) -> bool:
        return self.vmlinux_h is not None


@dataclass(frozen=True)
class PrebuildReport:
    built: tuple[str, ...]
    failed: tuple[str, ...]  # built again on their own turn, which reports why
    seconds: float
    # each job's start and end in guest uptime seconds, as the job wrote them
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    # builds that finished but were not stored: why (their seal did not match the key)
    refused: dict[str, str] = field(default_factory=dict)

    def describe(self, line: str, jobs: int) -> str:
        failed = (f"; {len(self.failed)} failed ({', '.join(self.failed)}): each builds again "
                  "on its own turn, which reports why") if self.failed else ""
        refused = "".join(f"\n  {name}: {why}" for name, why in self.refused.items())
        return (f"kernel {line}: built {len(self.built)} tutorial(s) ahead, {jobs} at a time, "
                f"in {self.seconds:.1f} s{failed}{refused}")


def planned_jobs(scenarios: Sequence[Scenario], inputs_of: Callable[[Scenario], BuildInputs],
                 builds: BuildCache, line: str) -> list[Job]:
    """The scenarios that build something the cache does not hold, each once, in
    order; not those expected to fail their build on this line (built ahead, they
    would only fail twice: 30 s of kprobe-link on 7.2 under emulation), nor those
    whose sources are refused (their own turn says why)."""
    jobs: dict[str, Job] = {}
    for scenario in scenarios:
        if not scenario.build or scenario.name in jobs or _fails_build_on(scenario, line):
            continue
        try:
            inputs = inputs_of(scenario)
        except SourceError:
            continue
        if builds.lookup(inputs.key()) is None:
            jobs[scenario.name] = Job(scenario.name, scenario.program, inputs,
                                      tuple(build_steps(scenario)), scenario.vmlinux_h)
    return list(jobs.values())


def _fails_build_on(scenario: Scenario, line: str) -> bool:
    incompatible = scenario.incompatible.get(line)
    return incompatible is not None and incompatible.stage == "build"


def job_script(job: Job) -> str:
    """The build of one scenario as a bash script: in the directory its own turn
    builds in, the same steps run the same way (lab.guestvm.build_steps), then its
    seal and tar (to its own name) and the done mark; the directory is removed
    whatever happened."""
    where, out = guest_build_dir(job.name), f"{GUEST_WORK_DIR}/{PREBUILD}/{job.name}"
    log = f"{out}/build.log"
    seal = in_clean_env(Seal.of(job.inputs, job.vmlinux_h).script(f"{out}/{job.archive}"))
    chain = [f"rm -rf {where}", f"mkdir -p {where}", f"cd {where}",
             f"cp -r {GUEST_RO_DIR}/src/{job.name}/. .",
             *(step_command(step, log) for step in job.steps),
             f"{seal} > {out}/seal"]
    lines = [f"rm -rf {out} && mkdir -p {out} && {UPTIME} > {out}/started",
             "if " + " &&\n   ".join(chain) + f"\nthen echo {DONE} > {out}/status; fi",
             f"cd / && rm -rf {where}; {UPTIME} > {out}/finished"]
    return "\n".join(lines) + "\n"


def driver_command(jobs: Sequence[Job], parallel: int) -> str:
    """One console command: the jobs, `parallel` at a time, in a clean environment
    (nothing an earlier cell exported reaches them: BASH_ENV, PATH, ...)."""
    names = " ".join(shlex.quote(job.name) for job in jobs)
    run = in_clean_env(f"xargs -P {parallel} -I@ bash {GUEST_RO_DIR}/{PREBUILD}/@.sh")
    return f"printf '%s\\n' {names} | {run} >/dev/null 2>&1; true"


def driver_timeout(jobs: Sequence[Job]) -> float:
    """Every step at its own limit, one after another, and the seal."""
    return STEP_TIMEOUT_S * (sum(len(job.steps) for job in jobs) + 1)


class Prebuilder:
    """Runs the planned jobs in the guest and stores what they built."""

    def __init__(self, console: Shell, run_dir: Path, project: Path,
                 builds: BuildCache, release: str, parallel: int,
                 boot: Boot) -> None:
        self.console = console
        self.run_dir = run_dir
        self.project = project
        self.builds = builds
        self.release = release
        self.parallel = parallel
        self.boot = boot  # its vmlinux.h is dumped before the jobs if one wants it

    def run(self, jobs: Sequence[Job]) -> PrebuildReport:
        """Build the jobs in the guest (raises GuestError if it dies or does not
        answer in time), store each success; failures are left to their turn."""
        started = time.monotonic()
        scripts = self.run_dir / RO_DIR / PREBUILD
        scripts.mkdir(parents=True, exist_ok=True)
        for job in jobs:
            stage_sources(self.run_dir, job.name, self.project / job.program)
            (scripts / f"{job.name}.sh").write_text(job_script(job))
        digest = self.boot.vmlinux_h() if any(j.needs_vmlinux_h for j in jobs) else None
        self.console.run(driver_command(jobs, self.parallel),
                         driver_timeout(jobs))
        built: list[str] = []
        failed: list[str] = []
        refused: dict[str, str] = {}
        for job in jobs:
            why = self._store(job, digest)
            (failed if why is not None else built).append(job.name)
            if why:
                refused[job.name] = why
        return PrebuildReport(tuple(built), tuple(failed), time.monotonic() - started,
                              self._spans(jobs), refused)

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

    def _store(self, job: Job, vmlinux_h: str | None) -> str | None:
        """Keep a job's tar if the job said it finished and its seal matches its key:
        None when stored, '' when the build failed, else why it was not stored."""
        share, out = self.run_dir / SHARE_DIR, f"{PREBUILD}/{job.name}"
        if read_untrusted(share, f"{out}/status").strip() != DONE:
            return ""
        why = keep_build(self.builds, share, f"{out}/{job.archive}", job.key, {
            "scenario": job.name, "release": self.release, "ahead_of_its_turn": True,
            "build_log": read_untrusted(share, f"{out}/build.log")[-6000:]},
            Seal.of(job.inputs, job.vmlinux_h, self.boot.root, vmlinux_h),
            read_untrusted(share, f"{out}/seal"))
        return why or None

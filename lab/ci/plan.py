"""The workflow's plan: its jobs, their cache keys and the cells the merge expects.

The table (every target x every tutorial) is judged by one job per (target,
shard), each running the tutorials of its stable shard (lab.scenario.shards).
When a push changed some tutorials' own files, a `first` job per target runs
those first, for a fast answer on what the author touched, and the shard jobs
skip them. Each job uploads its column under its own artifact name; the merge
expects every cell from the job named here, and shows the ones it did not get
as missing (lab.verdicts.expected).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.arches import split_target
from lab.ci.content_key import builds_key, builds_prefix, roots_key
from lab.errors import LabError
from lab.scenario import Scenario
from lab.scenario.shards import Shard, in_shard
from lab.verdicts.expected import EXPECTED_KEY, Expected

# Shards per target. A target's 42 tutorials take 3-5 minutes under KVM
# (BENCHMARKS.md, "Everything"), and each job spends 2-3 more on its set-up
# (checkout, host packages, restoring a cache of about 1 GB). With 4 a shard runs
# 5-16 of today's tutorials (the split is by name, not even), so its cells take
# about as long as its set-up: a few minutes a job, 32 jobs for the 8 targets.
# More shards would mostly repeat the set-up, and queue: a free account runs 20
# jobs at once. arm64 runners without KVM emulate: there a shard is the whole of
# a job's time, so the table grows by adding shards, not by waiting longer.
DEFAULT_SHARDS = 4
MAX_JOBS = 256  # a matrix's limit on GitHub
RUNNERS = {"x86_64": "ubuntu-24.04", "arm64": "ubuntu-24.04-arm"}


@dataclass
class Plan:
    shards: int
    changed: list[str]  # tutorials whose own files changed since the base revision
    first: list[str]  # the ones the `first` jobs run (none when too many changed)
    first_jobs: list[dict[str, Any]] = field(default_factory=list)
    shard_jobs: list[dict[str, Any]] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)

    def to_json(self) -> str:
        """The whole plan, for the merge (`lab report --expect`) and for people."""
        return json.dumps({
            "shards": self.shards, "changed": self.changed, "first": self.first,
            "first_jobs": self.first_jobs, "shard_jobs": self.shard_jobs,
            EXPECTED_KEY: [e.to_json() for e in self.expected]}, indent=1) + "\n"

    def outputs(self) -> str:
        """The step outputs GitHub reads (`name=value` lines for $GITHUB_OUTPUT): each
        job matrix as JSON for `fromJSON` in `strategy.matrix`, and the tutorials run
        first, comma-separated for `--scenario` and `--skip-scenario`."""
        return "\n".join([
            "shard=" + json.dumps({"include": self.shard_jobs}, separators=(",", ":")),
            "first=" + json.dumps({"include": self.first_jobs}, separators=(",", ":")),
            "first_scenarios=" + ",".join(self.first)]) + "\n"


def first_share(scenarios: Sequence[Scenario], shards: int) -> int:
    """How many changed tutorials run first at most: a shard's share. More would make
    the first job slower than a shard job, and no answer would come first."""
    return max(1, len(scenarios) // shards)


def make_plan(project: Path, targets: Sequence[str], scenarios: Sequence[Scenario],
              shards: int, changed: Sequence[str]) -> Plan:
    """The jobs and expected cells of the table targets x scenarios in `shards`
    shards a target; `changed`: the tutorials a push touched (lab.ci.tutorial_files)."""
    if shards < 1:
        raise LabError(f"--shards {shards}: at least one shard a target")
    first = list(changed) if len(changed) <= first_share(scenarios, shards) else []
    plan = Plan(shards, list(changed), first)
    for target in targets:
        line, arch = split_target(target)
        where = {"target": target, "line": line, "arch": arch.name, "runner": RUNNERS[arch.name],
                 "roots_key": roots_key(project, target, scenarios)}
        owner: dict[str, str] = {}
        if first:
            artifact = f"column-{target}-first"
            plan.first_jobs.append({**where, "artifact": artifact, "save_roots": True})
            owner |= {name: f"the first job of {target} (artifact {artifact})" for name in first}
        for job, runs in _shard_jobs(project, where, scenarios, shards, first):
            plan.shard_jobs.append(job)
            owner |= {name: f"shard {job['shard']} of {target} (artifact {job['artifact']})"
                      for name in runs}
        plan.expected.extend(Expected(target, s.name, owner[s.name]) for s in scenarios)
    if len(plan.shard_jobs) > MAX_JOBS:
        raise LabError(f"{len(targets)} targets x {shards} shards make {len(plan.shard_jobs)} "
                       f"jobs; a GitHub matrix runs at most {MAX_JOBS}: ask for fewer shards")
    return plan


def _shard_jobs(project: Path, where: dict[str, Any], scenarios: Sequence[Scenario],
                shard_count: int, first: Sequence[str]) -> list[tuple[dict[str, Any], list[str]]]:
    """One target's shard jobs, each with the tutorials it runs; a shard left with
    nothing to run (every one of its tutorials ran first, or it has none) has none."""
    target = where["target"]
    jobs: list[tuple[dict[str, Any], list[str]]] = []
    for index in range(1, shard_count + 1):
        shard = Shard(index, shard_count)
        members = in_shard(list(scenarios), shard)
        runs = [s.name for s in members if s.name not in first]
        if not runs:
            continue
        jobs.append(({
            **where, "shard": str(shard), "tutorials": len(runs),
            "artifact": f"column-{target}-shard-{index}of{shard_count}",
            "builds_key": builds_key(project, target, shard, members),
            "builds_restore": builds_prefix(target, shard),
            # a shard that skipped tutorials lacks their builds: its cache would stay
            # incomplete under its key, so it leaves saving to the next run
            "save_builds": len(runs) == len(members),
            # kernels and roots are saved by the first job, else by a target's first shard
            "save_roots": not first and not jobs}, runs))
    return jobs

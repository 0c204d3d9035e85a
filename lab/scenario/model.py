"""A scenario as the lab uses it: how to build, load and drive one tutorial,
and what its capture must show (pure data, read by lab.scenario.reader).

What the judge reads (expectations, recorded failures) is defined with the
judging code, in lab.verdicts.expectation, and re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lab.arches import split_target
from lab.errors import LabError
from lab.names import NAME
from lab.verdicts.expectation import (
    TEMPLATE_FIELD,
    Expectation,
    Incompatibility,
    KnownDrift,
    Row,
)
from lab.verdicts.kernel_health import Accepted

__all__ = ["BACKGROUND", "CAPTURES", "NAME", "REFERENCE", "STEP_KINDS", "STOPS", "TEMPLATE_FIELD",
           "Expectation", "Incompatibility", "Load", "Row", "Scenario", "ScenarioError", "Step",
           "record_fields"]

CAPTURES = ("trace_pipe", "output")
# How the loader is stopped after the workload: SIGTERM, or SIGINT as a reader's
# Ctrl-C (a tool that prints its histogram or summary on ^C), its exit awaited.
STOPS = ("terminate", "interrupt")
STEP_KINDS = ("run", "interactive", "spawn")
# ${record.field}: a value an earlier workload step recorded (its last record of that name)
REFERENCE = re.compile(r"\$\{(\w+)\.(\w+)\}")
# A run step whose command ends in a lone `&` starts a background job and records its pid.
BACKGROUND = re.compile(r"(?<![&|>])&\s*$")


class ScenarioError(LabError):
    """A scenario file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Load:
    """How the tutorial's program runs. A daemon-like loader prints `ready` once
    attached and runs until stopped (`stop`); a one-shot tool (`once`) runs to
    completion within ready_timeout. With `once` or stop="interrupt" the lab waits
    for its exit, which must be `status`."""

    command: str
    ready: str | None
    capture: str
    ready_timeout: float = 180.0
    settle_timeout: float = 60.0
    stop: str = "terminate"
    once: bool = False
    status: int = 0

    @property
    def awaits_exit(self) -> bool:
        """Whether the loader's own exit (and its status) is part of the cell."""
        return self.once or self.stop == "interrupt"


@dataclass(frozen=True)
class Step:
    """One workload step. kind: run (a command), interactive (type lines into a
    program with a prompt), spawn (start a program, read it until a pattern)."""

    kind: str
    command: str
    record: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    lines: tuple[str, ...] = ()
    prompt: str | None = None
    until: str | None = None
    collect: str | None = None
    timeout: float = 120.0
    status: int = 0  # the exit status a run step must end with

    @property
    def background(self) -> bool:
        """A run step ending in `&`: it starts a job, records the job's pid, goes on."""
        return self.kind == "run" and bool(BACKGROUND.search(self.command))



@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    summary: str
    program: str
    build: tuple[str, ...]
    load: Load
    workload: tuple[Step, ...]
    expect: tuple[Expectation, ...]
    incompatible: dict[str, Incompatibility] = field(default_factory=dict)
    kernel_config: tuple[str, ...] = ()
    accepted_kernel_messages: tuple[Accepted, ...] = ()
    document: str | None = None  # the published tutorial; default bpf/<name>/README.md
    guest_packages: tuple[str, ...] = ()
    # where the build wants the running kernel's vmlinux.h (bpftool btf dump),
    # which the lab makes once per boot instead of once per tutorial
    vmlinux_h: str | None = None
    # steps before the loader starts (a namespace, a server, the process the load
    # command names) and after it stopped, whatever happened; not cached with the build
    setup: tuple[Step, ...] = ()
    teardown: tuple[Step, ...] = ()
    series: str | None = None  # the tutorial series it belongs to, for selection and reports
    userland: str | None = None  # the guest root's suite (None: the recipe's, vm/rootfs.toml)
    # another userland on some kernel targets: (`7.2`, every architecture of the
    # line, or `7.2-arm64`, one; its userland), e.g. the kernel's own suite, whose
    # compiler its headers build modules with
    userland_by_line: tuple[tuple[str, str], ...] = ()
    kernel_cmdline: tuple[str, ...] = ()  # booted with these arguments, in a guest of its own
    # the measured reason it cannot run in a VM at all (hardware) or be built offline:
    # every cell is judged not runnable with it, and nothing is booted for it
    not_runnable: str | None = None
    # drifts of a document kept as published, each measured (lab.verdicts.verdict)
    known_drift: tuple[KnownDrift, ...] = ()
    source: str | None = None  # where the tutorial comes from (a series' chapter: src/<chapter>)

    def userland_on(self, target: str | None) -> str | None:
        """The userland its guest runs on a kernel target (None: any line): the one
        named for the target, else for its line, else `userland`."""
        if target is None or not self.userland_by_line:
            return self.userland
        named = dict(self.userland_by_line)
        return named.get(target, named.get(split_target(target)[0], self.userland))

    @property
    def userlands(self) -> tuple[str | None, ...]:
        """Every userland it runs on, on some line (None: the default one)."""
        return tuple(dict.fromkeys([self.userland, *dict(self.userland_by_line).values()]))

    def flavor_on(self, target: str | None, default: str | None = None
                  ) -> tuple[str | None, tuple[str, ...]]:
        """What the guest must be booted with for this scenario on a kernel target:
        scenarios of one flavor share a guest. default: the name of the userland
        a scenario that names none runs on (`bookworm` named or not is one root)."""
        return self.userland_on(target) or default, self.kernel_cmdline


def record_fields(step: Step) -> set[str]:
    """The names a record of this step carries, for ${...} in expectations."""
    fields = {"pid", *step.variables}
    if step.kind == "interactive":
        fields.add("line")
    if step.collect:
        fields |= set(re.compile(step.collect).groupindex)
    return fields

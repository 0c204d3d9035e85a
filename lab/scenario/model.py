"""A scenario as the lab uses it: how to build, load and drive one tutorial,
and what its capture must show (pure data, read by lab.scenario.reader).

What the judge reads (expectations, recorded failures) is defined with the
judging code, in lab.verdicts.expectation, and re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.names import NAME
from lab.verdicts.expectation import TEMPLATE_FIELD, Expectation, Incompatibility, Row
from lab.verdicts.kernel_health import Accepted

__all__ = ["BACKGROUND", "CAPTURES", "NAME", "REFERENCE", "STEP_KINDS", "TEMPLATE_FIELD",
           "Expectation", "Incompatibility", "Load", "Row", "Scenario", "ScenarioError", "Step",
           "record_fields"]

CAPTURES = ("trace_pipe", "output")
STEP_KINDS = ("run", "interactive", "spawn")
# ${record.field}: a value an earlier workload step recorded (its last record of that name)
REFERENCE = re.compile(r"\$\{(\w+)\.(\w+)\}")
# A run step whose command ends in a lone `&` starts a background job and records its pid.
BACKGROUND = re.compile(r"(?<![&|>])&\s*$")


class ScenarioError(LabError):
    """A scenario file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Load:
    command: str
    ready: str
    capture: str
    ready_timeout: float = 180.0
    settle_timeout: float = 60.0


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


def record_fields(step: Step) -> set[str]:
    """The names a record of this step carries, for ${...} in expectations."""
    fields = {"pid", *step.variables}
    if step.kind == "interactive":
        fields.add("line")
    if step.collect:
        fields |= set(re.compile(step.collect).groupindex)
    return fields

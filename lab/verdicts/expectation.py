"""What a scenario records for the judge: the lines or rows a capture must show,
and the failures measured on a kernel line (pure data).

The scenario reader (lab.scenario) builds these from a TOML file; the matcher
and the verdict read them. They live here, under the judging code, so that the
judging code needs nothing from the reader and the imports point one way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

TEMPLATE_FIELD = re.compile(r"\$\{(\w+)\}")

Row = tuple[tuple[str, str], ...]  # (column, value template) pairs, in the file's order


@dataclass(frozen=True)
class Expectation:
    """For each record of a workload step, these lines (regexes) or rows (columns of
    a table, by header name) must be in the capture; with `absent`, none of them."""

    summary: str
    for_each: str
    lines: tuple[str, ...]
    in_order: bool = True
    rows: tuple[Row, ...] = ()
    absent: bool = False


@dataclass(frozen=True)
class Incompatibility:
    """A measured failure on one kernel line: the stage it happens at and a regex
    the observed failure must match, so that any other failure still fails."""

    stage: str
    evidence: str
    reason: str


@dataclass(frozen=True)
class KnownDrift:
    """A measured drift of a published document the lab keeps as published (a
    series chapter's README): the finding's kind and document line, and why. Only
    that finding is excused; any other drift is still the cell's verdict."""

    kind: str
    line: int
    reason: str
    # an output line whose counterpart depends on the run (the runtime's choice of
    # thread, measured both ways): a run that matches it is not news
    varies: bool = False

    def covers(self, kind: str, line: int) -> bool:
        return (self.kind, self.line) == (kind, line)


class Recorded(Protocol):
    """What the verdict reads of a scenario: its name, its recorded failures and
    why it cannot run at all, if so (lab.scenario.Scenario is one)."""

    @property
    def name(self) -> str: ...

    @property
    def incompatible(self) -> Mapping[str, Incompatibility]: ...

    @property
    def not_runnable(self) -> str | None: ...

    @property
    def known_drift(self) -> tuple[KnownDrift, ...]: ...

"""A scenario as a pipeline of stages: each unit does one stage's work on the
cell, the pipeline only sequences them, times them and attributes a failure to
the stage it happened in (pytest's runtestprotocol: setup, call, teardown, each
with its report).

Two kinds of unit: the scenario's own (preflight to expect), which stop at the
first failure (StageFailed or GuestError), and the checks after it (tear-down,
kernel health), which run whatever happened and say what they found.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lab.guestvm.cell import Cell
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage


@dataclass(frozen=True)
class Unit:
    """One step of the scenario: the stage a failure in it is attributed to, the
    timings key its seconds are kept under (none: not timed on its own)."""

    name: str
    stage: Stage
    run: Callable[[Cell], None]
    timing: str = ""
    loads: bool = False  # only when the scenario's program is loaded


@dataclass(frozen=True)
class Check:
    """A check after the scenario ran: what it found wrong ('' when nothing)."""

    stage: Stage
    run: Callable[[Cell], str]


def run_units(units: Sequence[Unit], cell: Cell) -> None:
    """Each unit in order, as its stage; the first failure propagates."""
    for unit in units:
        if unit.loads and not cell.load_program:
            continue
        cell.outcome.stage = unit.stage
        if unit.timing:
            with cell.outcome.timing(unit.timing):
                unit.run(cell)
        else:
            unit.run(cell)


def run_checks(checks: Sequence[Check], cell: Cell,
               usable: Callable[[], bool]) -> None:
    """Each check while the guest is usable; what one finds fails the cell there."""
    for check in checks:
        if not usable():
            return
        found = check.run(cell)
        if found:
            fail_after(cell.outcome, check.stage, found)


def fail_after(outcome: Outcome, stage: Stage, why: str) -> None:
    """A failure found after the scenario ran. A kernel splat is the verdict whatever
    happened before (it may be why a step failed); leftovers of a failed scenario
    only add to its message, the failure stays the scenario's own."""
    if outcome.passed or stage == Stage.KERNEL:
        earlier = "" if outcome.passed else f"\n(also failed at {outcome.stage}: {outcome.message})"
        outcome.passed, outcome.stage, outcome.message = False, stage, why + earlier
    else:
        outcome.message += f"\n{why}"

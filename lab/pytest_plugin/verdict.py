"""Turn a scenario outcome into a pytest verdict, with the evidence attached."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.guest_text import visible
from lab.scenario import Scenario
from lab.verdicts.findings import drifts
from lab.verdicts.matrix_report import write_run
from lab.verdicts.outcome import Outcome
from lab.verdicts.report import capture_tail, console_tail, failure_text
from lab.verdicts.verdict import (
    DRIFT,
    EXPECTED_INCOMPATIBLE,
    FAIL,
    KNOWN_DRIFT,
    NOT_RUNNABLE,
    UNEXPECTED_PASS,
    Cell,
    cell_for,
    not_run,
)

CELLS = pytest.StashKey[list[Cell]]()
REPORT_DIR = pytest.StashKey[Path]()  # set by pytest_configure when --kernel is given


def record(config: pytest.Config, cell: Cell) -> None:
    """Keep the cell and rewrite the report at once, not only at session end: tox
    follows Ctrl-C with SIGTERM and SIGKILL within half a second, and CI may kill
    a job outright, so a run killed at any moment loses at most its running cell."""
    cells = config.stash.setdefault(CELLS, [])
    cells.append(cell)
    output = config.stash.get(REPORT_DIR, None)
    if output is not None:
        write_run(output, cells)


def attach_evidence(node: pytest.Item, outcome: Outcome, kernel: str) -> None:
    text = failure_text(outcome, kernel)
    if outcome.evidence:
        (outcome.evidence / "failure.txt").write_text(text + "\n")
    node.add_report_section("call", "captured trace (tail)", capture_tail(outcome))
    if outcome.console_tail:
        node.add_report_section("call", "guest console (tail)", console_tail(outcome))


def judge_not_runnable(node: pytest.Item, scenario: Scenario, kernel: str) -> str:
    """A scenario that declares it cannot run: its cell judged as every cell is
    (cell_for) and recorded, with nothing booted; the text the test is skipped with."""
    cell = cell_for(not_run(scenario), scenario, kernel)
    record(node.config, cell)
    if cell.verdict != NOT_RUNNABLE:
        pytest.fail(visible(f"{scenario.name} on {kernel}: {cell.verdict}: {cell.reason}"),
                    pytrace=False)
    return visible(f"not runnable: {cell.reason}")


def judge(node: pytest.Item, scenario: Scenario, kernel: str, outcome: Outcome) -> None:
    """Pass, fail, or an expected incompatibility recorded in the scenario; every
    verdict becomes a cell of the compatibility report. Every text shown is made
    visible (lab.guest_text): the guest wrote much of it."""
    cell = cell_for(outcome, scenario, kernel)
    record(node.config, cell)
    if not outcome.passed:
        attach_evidence(node, outcome, kernel)
    if cell.verdict == EXPECTED_INCOMPATIBLE:
        pytest.xfail(visible(f"expected incompatible on {kernel}: {cell.reason}"))
    if cell.verdict == KNOWN_DRIFT:
        pytest.xfail(visible(f"works on {kernel}; its published document drifts as "
                             f"recorded: {cell.reason}"))
    if cell.verdict == UNEXPECTED_PASS:
        pytest.fail(f"{scenario.name} passed on {kernel}, but {scenario.path} records it as "
                    f"incompatible ({cell.expected}): remove that record",
                    pytrace=False)
    if cell.verdict == FAIL:
        pytest.fail(f"{visible(cell.reason)}\n{failure_text(outcome, kernel)}", pytrace=False)
    if cell.verdict == DRIFT:
        pytest.fail(visible(f"{scenario.name} works on {kernel}, but its document drifts:\n"
                            + "\n".join(f.text() for f in drifts(outcome.document))),
                    pytrace=False)

"""Turn a scenario outcome into a pytest verdict, with the evidence attached."""

from __future__ import annotations

import pytest

from lab.matrix_report import EXPECTED_INCOMPATIBLE, FAIL, UNEXPECTED_PASS, Cell, cell_for
from lab.outcome import Outcome
from lab.report import capture_tail, failure_text
from lab.scenario import Scenario

CELLS = pytest.StashKey[list[Cell]]()


def attach_evidence(node: pytest.Item, outcome: Outcome, kernel: str) -> None:
    text = failure_text(outcome, kernel)
    if outcome.evidence:
        (outcome.evidence / "failure.txt").write_text(text + "\n")
    node.add_report_section("call", "captured trace (tail)", capture_tail(outcome))
    if outcome.console_tail:
        node.add_report_section("call", "guest console (tail)", outcome.console_tail)


def judge(node: pytest.Item, scenario: Scenario, kernel: str, outcome: Outcome) -> None:
    """Pass, fail, or an expected incompatibility recorded in the scenario; every
    verdict becomes a cell of the compatibility report."""
    cell = cell_for(outcome, scenario, kernel)
    node.config.stash.setdefault(CELLS, []).append(cell)
    if not outcome.passed:
        attach_evidence(node, outcome, kernel)
    if cell.verdict == EXPECTED_INCOMPATIBLE:
        pytest.xfail(f"expected incompatible on {kernel}: {scenario.incompatible[kernel]} "
                     f"(failed at {outcome.stage}: {outcome.message.strip()[:300]})")
    if cell.verdict == UNEXPECTED_PASS:
        pytest.fail(f"{scenario.name} passed on {kernel}, but {scenario.path} records it as "
                    f"incompatible ({scenario.incompatible[kernel]}): remove that record",
                    pytrace=False)
    if cell.verdict == FAIL:
        pytest.fail(failure_text(outcome, kernel), pytrace=False)

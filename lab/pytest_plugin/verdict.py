"""Turn a scenario outcome into a pytest verdict, with the evidence attached."""

from __future__ import annotations

import pytest

from lab.report import capture_tail, failure_text
from lab.runner import Outcome
from lab.scenario import Scenario


def attach_evidence(node: pytest.Item, outcome: Outcome) -> None:
    node.add_report_section("call", "captured trace (tail)", capture_tail(outcome))
    if outcome.console_tail:
        node.add_report_section("call", "guest console (tail)", outcome.console_tail)


def judge(node: pytest.Item, scenario: Scenario, kernel: str, outcome: Outcome) -> None:
    """Pass, fail, or an expected incompatibility recorded in the scenario."""
    reason = scenario.incompatible.get(kernel)
    if not outcome.passed:
        attach_evidence(node, outcome)
        if reason:
            pytest.xfail(f"expected incompatible on {kernel} ({reason}); "
                         f"failed at {outcome.stage}: {outcome.message[:300]}")
        pytest.fail(failure_text(outcome, kernel), pytrace=False)
    if reason:
        pytest.fail(f"{scenario.name} passed on {kernel}, but its scenario records it as "
                    f"incompatible ({reason}): update {scenario.path}", pytrace=False)

"""The real thing must be able to fail: a scenario whose program is never loaded
gets a clear failure naming the expectation, and leaves the guest usable."""

from __future__ import annotations

import pytest

from lab.guestvm.session import KernelLab
from lab.scenario import Scenario
from lab.verdicts.report import failure_text


@pytest.mark.lab_scenarios("minimal")
def test_unloaded_program_fails_clearly(lab_kernel: KernelLab, lab_scenario: Scenario) -> None:
    outcome = lab_kernel.run(lab_scenario, load_program=False)

    assert not outcome.passed
    assert outcome.stage == "expect"
    assert outcome.records["writers"], "the workload still ran and recorded its writers"
    text = failure_text(outcome, lab_kernel.line)
    assert "FAIL each writer's write() is traced with its own PID" in text
    assert "no line matches" in text
    assert f"PID {outcome.records['writers'][0]['pid']}" in text


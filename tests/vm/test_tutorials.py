"""Every scenario on every --kernel: builds, loads, and shows the documented trace."""

from __future__ import annotations

import pytest

from lab.guestvm.session import KernelLab
from lab.pytest_plugin.verdict import judge
from lab.scenario import Scenario


def test_tutorial(request: pytest.FixtureRequest, lab_kernel: KernelLab,
                  lab_scenario: Scenario) -> None:
    outcome = lab_kernel.run(lab_scenario)
    judge(request.node, lab_scenario, lab_kernel.line, outcome)

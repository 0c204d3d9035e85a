"""The option is what makes opensnoop pass: the same tutorial loaded without
--pid_target traces the other process too, and its `absent` expectation fails."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lab.guestvm.session import KernelLab
from lab.scenario import Scenario


@pytest.mark.lab_scenarios("opensnoop")
def test_opensnoop_without_its_option_fails_on_the_other_pid(
        lab_kernel: KernelLab, lab_scenario: Scenario) -> None:
    unfiltered = replace(lab_scenario, load=replace(lab_scenario.load,
                                                    command="ecli run opensnoop.bpf.o"))
    outcome = lab_kernel.run(unfiltered)

    assert not outcome.passed
    assert outcome.stage == "expect"
    shell, others = outcome.results
    assert shell.passed, "the shell is traced with or without the filter"
    (problem,) = others.problems
    cat = outcome.records["others"][0]["pid"]
    assert f"Process ID: {cat} enter sys openat" in problem
    assert "must not appear" in problem

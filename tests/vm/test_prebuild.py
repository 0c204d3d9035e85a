"""Building ahead in the real guest: the builds run side by side on the guest's
vCPUs, the successful ones are what the scenarios then reuse, and a build that
fails ahead is judged on its scenario's own turn by its own compiler error.

The tutorials are private copies of `minimal` with fresh markers in their
sources, so they are never in the build cache before this test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from private_tutorial import private_copy

from lab.guestvm.session import KernelLab
from lab.scenario import Scenario

BROKEN = "\nint this_does_not_compile(void) { return undeclared_in_ahead; }\n"


@pytest.mark.lab_scenarios("minimal")
def test_builds_made_ahead_side_by_side_are_reused_and_a_failure_is_judged_on_its_turn(
        lab_kernel: KernelLab, lab_scenario: Scenario, tmp_path: Path) -> None:
    if not lab_kernel.settings.build_cache:
        pytest.skip("LAB_BUILD_CACHE=0: builds made ahead would have nowhere to go")
    project = lab_kernel.settings.project
    first, second, broken = (
        private_copy(lab_scenario, project, tmp_path / name, f"minimal-{name}", extra)
        for name, extra in (("ahead-1", ""), ("ahead-2", ""), ("ahead-broken", BROKEN)))

    report = lab_kernel.prebuild([first, second, broken])

    assert report is not None, "nothing was built ahead"
    assert set(report.built) == {first.name, second.name}
    assert report.failed == (broken.name,)
    (a_start, a_end), (b_start, b_end) = report.spans[first.name], report.spans[second.name]
    assert max(a_start, b_start) < min(a_end, b_end), \
        f"the two builds did not overlap: {report.spans}"

    reused = lab_kernel.run(first)
    assert reused.passed, reused.message
    assert reused.build_reused is not None, "the build made ahead was not the one reused"

    failed = lab_kernel.run(broken)
    assert not failed.passed
    assert failed.stage == "build"
    assert "undeclared_in_ahead" in failed.message, failed.message

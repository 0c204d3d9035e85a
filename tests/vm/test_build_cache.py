"""The build cache in the real guest: an unchanged tutorial is built once, a
changed one builds again, and a failing build is never stored (its compiler
error stays the verdict, every time).

The tutorial is a private copy of `minimal` with a fresh marker in its source,
so the first run of this test is always a cache miss, whatever the cache holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from private_tutorial import private_copy

from lab.guestvm.session import KernelLab
from lab.scenario import Scenario


@pytest.mark.lab_scenarios("minimal")
def test_unchanged_sources_reuse_the_build_and_changed_ones_rebuild(
        lab_kernel: KernelLab, lab_scenario: Scenario, tmp_path: Path) -> None:
    if not lab_kernel.settings.build_cache:
        pytest.skip("LAB_BUILD_CACHE=0: nothing is reused, by request")
    project = lab_kernel.settings.project
    first = private_copy(lab_scenario, project, tmp_path / "src", "minimal-build-cache")

    built = lab_kernel.run(first)
    assert built.passed, built.message
    assert built.build_reused is None, "a never-seen source was not built"

    reused = lab_kernel.run(first)
    assert reused.passed, reused.message
    assert reused.build_reused is not None, "the same sources were built again"
    assert "reused the stored build" in reused.logs["build"]

    changed = private_copy(lab_scenario, project, tmp_path / "src", "minimal-build-cache")
    rebuilt = lab_kernel.run(changed)
    assert rebuilt.passed, rebuilt.message
    assert rebuilt.build_reused is None, "a changed source reused an old build"


@pytest.mark.lab_scenarios("minimal")
def test_a_failing_build_is_reported_every_time_and_never_stored(
        lab_kernel: KernelLab, lab_scenario: Scenario, tmp_path: Path) -> None:
    broken = private_copy(lab_scenario, lab_kernel.settings.project, tmp_path / "src",
                          "minimal-build-cache",
                          "\nint this_does_not_compile(void) { return x; }\n")

    for attempt in (1, 2):
        outcome = lab_kernel.run(broken)
        assert not outcome.passed
        assert outcome.stage == "build", f"attempt {attempt}: {outcome.message}"
        assert "use of undeclared identifier 'x'" in outcome.message, outcome.message
        assert outcome.build_reused is None

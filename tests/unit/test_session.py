"""KernelLab turns a guest that cannot boot into a scenario failure at 'boot'."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import GuestError
from lab.scenario import load_scenario
from lab.session import KernelLab

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "minimal.toml"


def test_a_guest_that_cannot_boot_fails_the_scenario_at_boot_with_its_console(
        monkeypatch: pytest.MonkeyPatch) -> None:
    lab = KernelLab.__new__(KernelLab)  # no prepare(): nothing to fetch for this test
    lab.line, lab._vm, lab._runner = "6.1", None, None

    def boot_that_hangs() -> None:
        raise GuestError("timed out after 150 s waiting for the guest to boot to a shell",
                         "[    2.5] Kernel panic - not syncing")

    monkeypatch.setattr(lab, "_boot", boot_that_hangs)

    outcome = lab.run(load_scenario(SCENARIO))

    assert not outcome.passed
    assert outcome.stage == "boot"
    assert outcome.message.startswith("timed out after 150 s waiting for the guest to boot")
    assert outcome.console_tail == "[    2.5] Kernel panic - not syncing"

"""KernelLab's lifecycle: a line that cannot be prepared or booted fails every
scenario at 'boot' (no retry per scenario), and a dirty guest is replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lab.errors import GuestError, LabError
from lab.guestvm import session
from lab.guestvm.session import KernelLab
from lab.scenario import load_scenarios
from lab.settings import Settings
from lab.verdicts.outcome import Outcome

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KernelLab:
    monkeypatch.setattr(session, "prepare", lambda settings, line: "prepared")
    settings = Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                        accel="tcg")
    return KernelLab(settings, "6.1")


def scenarios() -> list[Any]:
    return load_scenarios(PROJECT / "scenarios")[:2]


def test_a_guest_that_cannot_boot_fails_every_scenario_at_boot_with_its_console(
        lab: KernelLab, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def boot_that_hangs() -> None:
        attempts.append(1)
        raise GuestError("timed out after 150 s waiting for the guest to boot to a shell",
                         "[    2.5] Kernel panic - not syncing")

    monkeypatch.setattr(lab, "_boot", boot_that_hangs)
    lab.start()
    outcomes = [lab.run(scenario) for scenario in scenarios()]

    assert len(attempts) == 1, "a line that cannot boot is not booted again per scenario"
    for outcome in outcomes:
        assert not outcome.passed
        assert outcome.stage == "boot"
        assert outcome.message.startswith("kernel 6.1 could not be booted: timed out after 150 s")
        assert outcome.console_tail == "[    2.5] Kernel panic - not syncing"


def test_a_line_that_cannot_be_prepared_fails_every_scenario_at_boot(
        lab: KernelLab, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_kernel(settings: Settings, line: str) -> None:
        raise LabError("the lock pins linux-image-6.1 6.1.1-1, but the archive no longer has it")

    monkeypatch.setattr(session, "prepare", no_kernel)
    lab.prepared = None
    lab.start()
    outcome = lab.run(scenarios()[0])

    assert outcome.stage == "boot"
    assert outcome.message.startswith("kernel 6.1 could not be prepared: the lock pins")


class FakeVM:
    alive = True

    def close(self) -> None:
        self.alive = False


class FakeRunner:
    needs_reboot = False

    def run(self, scenario: Any, *, load_program: bool = True) -> Outcome:
        return Outcome(scenario.name, passed=True)


def test_a_guest_left_dirty_is_replaced_before_the_next_scenario(
        lab: KernelLab, monkeypatch: pytest.MonkeyPatch) -> None:
    boots = []

    def boot() -> None:
        boots.append(1)
        lab._vm, lab._runner = FakeVM(), FakeRunner()  # type: ignore[assignment]

    monkeypatch.setattr(lab, "_boot", boot)
    lab.start()
    first, second = scenarios()
    assert lab.run(first).scenario == first.name
    assert len(boots) == 1, "a clean guest is kept"
    lab._runner.needs_reboot = True  # type: ignore[union-attr]
    assert lab.run(second).scenario == second.name
    assert len(boots) == 2, "a dirty guest is replaced"
    old_vm = lab._vm
    old_vm.alive = False  # type: ignore[union-attr]
    lab.run(first)
    assert len(boots) == 3, "a dead guest is replaced"


def test_only_emulated_guests_boot_the_uncompressed_kernel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.cache.boot_image import BootImage
    from lab.cache.kernels import KernelBuild
    from lab.guestvm import session

    build = KernelBuild("6.1.0-50-amd64", tmp_path)
    made = BootImage(tmp_path / "boot" / "vmlinuz-6.1.0-50-amd64", uncompressed=True)
    monkeypatch.setattr(session, "boot_image", lambda *args: made)

    assert session.kernel_to_boot("tcg", build, tmp_path) == made
    under_kvm = session.kernel_to_boot("kvm", build, tmp_path)
    assert under_kvm.path == build.image and not under_kvm.uncompressed

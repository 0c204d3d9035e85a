"""KernelLab's lifecycle: a line that cannot be prepared or booted fails every
scenario at 'boot' (no retry per scenario), and a dirty guest is replaced."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_guest import FakeGuest, fake_session, prepared_line

from lab.errors import GuestError, LabError
from lab.guestvm import session
from lab.guestvm.session import KernelLab
from lab.guestvm.vng_command import GuestSpec
from lab.scenario import load_scenarios
from lab.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KernelLab:
    monkeypatch.setattr(session, "prepare", lambda settings, line, *_: "prepared")
    settings = Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                        accel="tcg")
    return KernelLab(settings, "6.1")


def scenarios() -> list[Any]:
    return load_scenarios(PROJECT / "scenarios")[:2]


def test_a_guest_that_cannot_boot_fails_every_scenario_at_boot_with_its_console(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    attempts = []

    def boot_that_hangs(spec: GuestSpec, console_log: Path) -> FakeGuest:
        attempts.append(1)
        raise GuestError("timed out after 150 s waiting for the guest to boot to a shell",
                         "[    2.5] Kernel panic - not syncing")

    monkeypatch.setattr(session, "prepare", lambda settings, line, *_: prepared_line(tmp_path))
    lab = KernelLab(out_settings(tmp_path), "6.1", boot_guest=boot_that_hangs)
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
    def no_kernel(settings: Settings, line: str, *_: object) -> None:
        raise LabError("the lock pins linux-image-6.1 6.1.1-1, but the archive no longer has it")

    monkeypatch.setattr(session, "prepare", no_kernel)
    lab.prepared = None
    lab.start()
    outcome = lab.run(scenarios()[0])

    assert outcome.stage == "boot"
    assert outcome.message.startswith("kernel 6.1 could not be prepared: the lock pins")


def fake_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             booted: list[FakeGuest]) -> KernelLab:
    """A session whose line is prepared at once and whose guests are fakes."""
    return fake_session(tmp_path, monkeypatch, booted, PROJECT, build_cache=False)


def test_a_guest_left_dirty_is_replaced_before_the_next_scenario(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    booted: list[FakeGuest] = []
    lab = fake_lab(tmp_path, monkeypatch, booted)
    lab.start()
    first, second = scenarios()
    assert lab.run(first).scenario == first.name
    assert len(booted) == 1, "a clean guest is kept"
    assert lab.runner is not None
    lab.runner.needs_reboot = True
    assert lab.run(second).scenario == second.name
    assert len(booted) == 2, "a dirty guest is replaced"
    assert booted[0].closed, "the dirty guest was powered off"
    booted[1].alive = False
    lab.run(first)
    assert len(booted) == 3, "a dead guest is replaced"
    assert lab.guest is booted[2] and lab.boots == 3
    lab.close()
    assert booted[2].closed and lab.guest is None


def test_a_scenario_runs_in_the_booted_guest_and_its_document_is_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    booted: list[FakeGuest] = []
    with fake_lab(tmp_path, monkeypatch, booted) as lab:
        outcome = lab.run(scenarios()[0])

        assert lab.failure is None
        assert outcome.evidence == lab.work_dir / outcome.scenario
        assert list(outcome.timings)[-2:] == ["finish", "document"]
        assert booted[0].commands, "the scenario ran in the fake guest"
        assert lab.prebuild(scenarios()) is None, "no build cache: nothing to build ahead"
    assert booted[0].closed


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


# --- the run directory: a checked line, one run at a time, emptied without recursion ---

def out_settings(tmp_path: Path) -> Settings:
    return Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                    accel="tcg")


@pytest.mark.parametrize("line", ["../../victim", "{victim}", "6.1/../../../victim"])
def test_a_line_not_in_the_lock_is_refused_before_any_disk_work(tmp_path: Path,
                                                                line: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")

    with pytest.raises(LabError, match="no kernel line .* in the catalog"):
        KernelLab(out_settings(tmp_path), line.format(victim=victim))

    assert [p.name for p in victim.iterdir()] == ["keep.txt"]
    assert not (tmp_path / "out").exists()


def test_a_tree_too_deep_for_recursion_does_not_stop_the_next_run(tmp_path: Path) -> None:
    deep = tmp_path / "out" / "runs" / "6.1" / "share"
    deep.mkdir(parents=True)
    handle = os.open(deep, os.O_RDONLY)
    for _ in range(1200):  # what a guest made under /lab; too deep for shutil.rmtree
        os.mkdir("d", dir_fd=handle)
        inner = os.open("d", os.O_RDONLY, dir_fd=handle)
        os.close(handle)
        handle = inner
    os.close(handle)

    lab = KernelLab(out_settings(tmp_path), "6.1")

    assert lab.work_dir == tmp_path / "out" / "runs" / "6.1"
    assert list(lab.work_dir.iterdir()) == []
    lab.close()


HOLDER = """
import sys
from pathlib import Path
from lab.guestvm.session import KernelLab
from lab.guestvm.vng_command import GuestSpec
from lab.settings import Settings
settings = Settings(project=Path(sys.argv[1]), cache=Path(sys.argv[2]) / "cache",
                    output=Path(sys.argv[2]) / "out", accel="tcg")
lab = KernelLab(settings, "6.1")
(lab.work_dir / "evidence.txt").write_text("the first run's")
print("holding", flush=True)
sys.stdin.read()
lab.close()
"""


def test_a_second_run_of_a_line_stops_naming_the_first_and_leaves_its_directory(
        tmp_path: Path) -> None:
    first = subprocess.Popen([sys.executable, "-c", HOLDER, str(PROJECT), str(tmp_path)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None and first.stdout.readline() == "holding\n"

        with pytest.raises(LabError) as info:
            KernelLab(out_settings(tmp_path), "6.1")

        assert str(info.value).startswith(
            f"kernel 6.1: {tmp_path / 'out' / 'runs' / '6.1'} is in use by another run of "
            f"that line (pid {first.pid}: {sys.executable} -c ")
        assert "give this run its own output directory with LAB_OUTPUT_DIR" in str(info.value)
        evidence = tmp_path / "out" / "runs" / "6.1" / "evidence.txt"
        assert evidence.read_text() == "the first run's"
    finally:
        first.communicate("", timeout=30)
    assert first.returncode == 0

    second = KernelLab(out_settings(tmp_path), "6.1")  # the first one is over: free again
    assert not evidence.exists()
    second.close()


def test_close_gives_the_run_directory_up(tmp_path: Path) -> None:
    KernelLab(out_settings(tmp_path), "6.1").close()
    KernelLab(out_settings(tmp_path), "6.1").close()

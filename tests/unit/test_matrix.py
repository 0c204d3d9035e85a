"""`lab matrix` stopped by a signal: it passes the signal on to its pytest children,
starts no further line, and still merges the columns that exist (no VM: the
children are small Python scripts standing in for pytest)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab import matrix
from lab.cache.catalog import LockedKernel
from lab.guestvm import session
from lab.scenario import load_scenarios
from lab.settings import Settings
from lab.verdicts.matrix_report import column_path, read_json
from lab.verdicts.verdict import PASS, Cell

PROJECT = Path(__file__).resolve().parents[2]

FAKE_PYTEST = """
import json, pathlib, signal, sys, time
line, column, marker = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])

def stop(signum, frame):
    marker.write_text(signal.Signals(signum).name)
    sys.exit(2)

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
column.parent.mkdir(parents=True, exist_ok=True)
column.write_text(json.dumps([{"kernel": line, "tutorial": "minimal", "verdict": "pass",
                               "reason": "", "stage": "expect"}]))
time.sleep(60)
"""


class Guard:
    """A SIGTERM the code under test fails to catch is noted here, not fatal to pytest."""

    def __init__(self) -> None:
        self.stray: list[int] = []

    def __call__(self, signum: int, frame: object) -> None:
        self.stray.append(signum)


@pytest.fixture
def sigterm_guard() -> Iterator[Guard]:
    guard = Guard()
    previous = signal.signal(signal.SIGTERM, guard)
    yield guard
    signal.signal(signal.SIGTERM, previous)


def fake_matrix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    script = tmp_path / "fake_pytest.py"
    script.write_text(FAKE_PYTEST)
    settings = Settings(project=tmp_path, cache=tmp_path / "cache", output=tmp_path / "out",
                        accel="tcg")
    monkeypatch.setattr(matrix, "prepare_every_userland", lambda settings, line: None)
    monkeypatch.setattr(matrix, "pytest_command", lambda settings, line, scenarios=(): [
        sys.executable, str(script), line, str(column_path(settings.output, line)),
        str(tmp_path / f"stopped-{line}")])
    return settings


def kernel(line: str) -> LockedKernel:
    return LockedKernel(line, "suite", f"{line}.0-1-amd64", "1", (), ())


def send_when(path: Path, signum: int) -> threading.Thread:
    """SIGTERM to this process once `path` exists (the child is running by then)."""
    def wait_then_send() -> None:
        deadline = time.monotonic() + 30
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        signal.raise_signal(signum)

    thread = threading.Thread(target=wait_then_send, daemon=True)
    thread.start()
    return thread


def test_a_stopped_matrix_forwards_the_signal_and_merges_what_exists(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sigterm_guard: Guard,
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = fake_matrix(tmp_path, monkeypatch)
    send_when(column_path(settings.output, "6.1"), signal.SIGTERM)

    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        matrix.run_matrix(settings, [kernel("6.1"), kernel("6.12")], jobs=1)

    assert (tmp_path / "stopped-6.1").read_text() == "SIGTERM", "the child got the signal"
    assert not column_path(settings.output, "6.12").exists(), "no line starts after a stop"
    assert read_json([settings.output / "lab-report.json"]) == [
        Cell("6.1", "minimal", PASS, "", "expect")]
    err = capsys.readouterr().err
    assert "kernel 6.1: pytest exited 2" in err
    assert "kernel 6.12: not started" in err
    assert sigterm_guard.stray == [], "the matrix handled the signal itself"
    assert signal.getsignal(signal.SIGTERM) is sigterm_guard, "and gave the handler back"


def test_children_stopped_before_a_line_starts_do_not_start_it(tmp_path: Path) -> None:
    children = matrix.Children()
    children.forward(signal.SIGINT, None)

    with open(tmp_path / "log", "w") as out:
        code = children.run([sys.executable, "-c", "raise SystemExit(5)"], out, tmp_path)

    assert code is None
    assert children.stopped_by == signal.SIGINT


def test_the_matrix_runs_the_tutorials_test_for_the_chosen_scenarios(tmp_path: Path) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    command = matrix.pytest_command(settings, "6.1", ["one-tutorial", "another"])
    assert str(tmp_path / "tests" / "vm" / "test_tutorials.py") in command
    assert command[command.index("--scenario") + 1] == "one-tutorial,another"
    assert "--scenario" not in matrix.pytest_command(settings, "6.1")


def test_the_children_get_the_matrixs_own_directories(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"LAB_PROJECT_DIR": str(Path(__file__).parents[2]),
                                  "LAB_OUTPUT_DIR": "relative-out", "LAB_CACHE_DIR": "c"})

    env = matrix.child_environment(settings)

    assert env["LAB_OUTPUT_DIR"] == str(tmp_path / "relative-out")
    assert env["LAB_CACHE_DIR"] == str(tmp_path / "c")
    assert env["LAB_PROJECT_DIR"] == str(settings.project)


def test_a_hangup_is_forwarded_after_a_closed_terminal_is_silenced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    silenced: list[int] = []
    monkeypatch.setattr(matrix.interrupts, "silence_hung_up_terminals",
                        lambda: silenced.append(1) or [])
    children = matrix.Children()

    children.forward(signal.SIGHUP, None)

    assert silenced == [1], "the matrix still prints, then merges, after the terminal closed"
    assert children.stopped_by == signal.SIGHUP


def test_the_matrix_prepares_the_root_of_every_userland_the_projects_scenarios_use(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before its lines start, so that each line's child does not build a root in turn."""
    settings = Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                        accel="tcg")
    asked: list[list[str]] = []
    monkeypatch.setattr(session, "prepare", lambda settings, kernel, scenarios=(): asked.append(
        [s.name for s in scenarios]))

    session.prepare_every_userland(settings, "6.1")

    assert asked == [[s.name for s in load_scenarios(PROJECT / "scenarios")]]

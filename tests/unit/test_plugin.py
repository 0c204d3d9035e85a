"""Tests for the ebpf-lab pytest plugin's --kernel handling and collection, run in
a pytest subprocess; nothing is booted (collection only, usage errors, or tests
that judge made-up outcomes and stop themselves with a signal)."""

from __future__ import annotations

import itertools
import json
import os
import signal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from lab.cache.userlands import find_userlands
from lab.pytest_plugin.fixtures import describe_line
from lab.scenario import load_scenarios

pytest_plugins = ["pytester"]

PROJECT = Path(__file__).resolve().parents[2]
# every shipped scenario, in the plugin's order (by file name): a new one is collected too
SCENARIOS = [s.name for s in load_scenarios(PROJECT / "scenarios")]
DEFAULT = find_userlands(PROJECT / "vm" / "rootfs.toml").default
FLAVORS = {s.name: s.flavor_on("6.1", DEFAULT) for s in load_scenarios(PROJECT / "scenarios")}
TEST_FILE = """
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
"""


@pytest.fixture
def project_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("LAB_PROJECT_DIR", str(PROJECT))
    monkeypatch.setenv("LAB_CACHE_DIR", str(pytester.path / "cache"))
    monkeypatch.delenv("LAB_ACCEL", raising=False)
    pytester.makepyfile(test_x=TEST_FILE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--rootdir", str(pytester.path), "-p", "no:cacheprovider",
                                         *args)


def test_without_kernel_a_lab_test_is_a_usage_error_naming_the_option(
        project_test: pytest.Pytester) -> None:
    result = run(project_test, "--collect-only", "-q")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_x.py::test_x boots guests: pass --kernel LINE (e.g. --kernel 6.1)" in output
    assert "[6.1-" not in result.stdout.str(), "nothing is parametrized by a kernel"


@pytest.mark.parametrize("line", ["9.99", "../../victim", "{victim}"])
def test_unknown_kernel_line_is_a_usage_error_naming_it(
        project_test: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    victim = project_test.path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("mine")
    line = line.format(victim=victim)
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(project_test.path / "out"))

    result = run(project_test, "--kernel", line, "--collect-only", "-q")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--kernel: no kernel line {line!r} in the catalog (known: " in result.stderr.str()
    assert [p.name for p in victim.iterdir()] == ["keep.txt"]


def test_kernel_61_collects_one_test_per_scenario(project_test: pytest.Pytester) -> None:
    result = run(project_test, "--kernel", "6.1", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    collected = [line for line in result.stdout.lines if line.startswith("test_x.py::")]
    assert sorted(collected) == sorted(f"test_x.py::test_x[6.1-{name}]" for name in SCENARIOS)
    flavors = [FLAVORS[line.split("[6.1-")[1].rstrip("]")] for line in collected]
    assert [flavor for flavor, _ in itertools.groupby(flavors)] == list(dict.fromkeys(flavors)), \
        "the scenarios of one guest flavor run one after the other"
    assert not (project_test.path / "cache").exists(), "collection prepares no kernel"


def test_lab_scenarios_marker_narrows_collection(project_test: pytest.Pytester) -> None:
    chosen = [SCENARIOS[0], SCENARIOS[-1]]  # any two of the shipped scenarios
    project_test.makepyfile(test_x=f"""
import pytest

@pytest.mark.lab_scenarios({", ".join(repr(name) for name in chosen)})
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
""")
    # in-process (the plugin is the installed entry point there too): saves a pytest start
    result = project_test.runpytest_inprocess("--kernel", "6.1", "--collect-only", "-q")
    collected = [line for line in result.stdout.lines if line.startswith("test_x.py::")]
    assert collected == [f"test_x.py::test_x[6.1-{name}]" for name in chosen]


KILLED_MIDWAY = """
import os, signal
from pathlib import Path
from lab.verdicts.outcome import Outcome
from lab.pytest_plugin.verdict import judge
from lab.scenario import load_scenarios

MINIMAL = next(s for s in load_scenarios(Path(os.environ["LAB_PROJECT_DIR"]) / "scenarios")
               if s.name == "minimal")

def test_finished(request):
    judge(request.node, MINIMAL, "6.1", Outcome("minimal", stage="expect", passed=True))

def test_killed_while_running():
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_killed_outright_keeps_every_cell_judged_before(
        project_test: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    output = project_test.path / "out"
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(output))
    project_test.makepyfile(test_x=KILLED_MIDWAY)

    result = run(project_test, "--kernel", "6.1")

    assert result.ret == -9
    column = json.loads((output / "report" / "6.1.json").read_text())
    assert [(c["tutorial"], c["verdict"]) for c in column] == [("minimal", "pass")]
    assert "| `minimal` | ✅ pass |" in (output / "lab-report.md").read_text()


STOPPED_MIDWAY = """
import os, signal, time
from pathlib import Path
import pytest

@pytest.fixture(scope="session")
def guest():
    yield
    os.kill(os.getpid(), signal.SIGTERM)  # tox's next signal, in the middle of the teardown
    time.sleep(0.5)
    Path({marker!r}).write_text("powered off")

def test_stopped(guest):
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)
"""


def test_sigterm_tears_down_like_ctrl_c_and_a_second_one_does_not_cut_it_short(
        project_test: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(project_test.path / "out"))
    marker = project_test.path / "teardown"
    project_test.makepyfile(test_x=STOPPED_MIDWAY.format(marker=str(marker)))

    result = run(project_test, "--kernel", "6.1")

    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert marker.read_text() == "powered off"
    assert "KeyboardInterrupt" in result.stdout.str()
    assert "SIGTERM received while stopping" in result.stderr.str()
    result.stdout.fnmatch_lines(["stopped by SIGTERM: *; SIGTERM waited for that"])


def test_the_sigterm_handler_lives_as_long_as_the_lab_session(
        project_test: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(project_test.path / "out"))
    project_test.makepyfile(test_x="""
import signal
from lab.interrupts import StopOnce

def test_handler():
    assert isinstance(signal.getsignal(signal.SIGTERM), StopOnce)
""")
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)

    result = project_test.runpytest_inprocess("--kernel", "6.1", "-q")

    result.assert_outcomes(passed=1)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_line_another_run_holds_stops_the_session_naming_it(
        project_test: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.guestvm import session
    from lab.guestvm.run_dir import RunDir

    output = project_test.path / "out"
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(output))
    monkeypatch.setattr(session, "prepare", lambda *args: pytest.fail("nothing is prepared"))
    held = RunDir(output, "6.1")  # another run of 6.1 on this output (here: this process)
    (held.path / "evidence").mkdir(parents=True)
    try:
        result = project_test.runpytest_inprocess("--kernel", "6.1", "-q", "-p",
                                                  "no:cacheprovider")
    finally:
        held.release()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines([f"*kernel 6.1: {held.path} is in use by another run of that "
                                 f"line (pid {os.getpid()}, this process)*"])
    assert (held.path / "evidence").is_dir(), "the other run's directory is left alone"


BOOTED = "kernel 6.1: linux-image-6.1.0-50-amd64 6.1.176-1, acceleration tcg (no /dev/kvm)"


def fake_lab(prepared: bool, failure: str | None) -> Any:
    kernel = SimpleNamespace(package="linux-image-6.1.0-50-amd64", version="6.1.176-1")
    accel = SimpleNamespace(accel="tcg", reason="no /dev/kvm")
    ready = SimpleNamespace(kernel=kernel, accel=accel)
    return SimpleNamespace(line="6.1", failure=failure, prepared=ready if prepared else None)


@pytest.mark.parametrize(("prepared", "failure", "line"), [
    (True, None, BOOTED),
    (True, "kernel 6.1 could not be booted: timed out",
     f"{BOOTED}; not booted: kernel 6.1 could not be booted: timed out"),
    (False, "kernel 6.1 could not be prepared: no such package",
     "kernel 6.1: not prepared: kernel 6.1 could not be prepared: no such package"),
])
def test_the_summary_says_what_was_booted_or_why_not(
        prepared: bool, failure: str | None, line: str) -> None:
    assert describe_line(fake_lab(prepared, failure)) == line


def test_the_line_plans_the_scenarios_of_the_selected_tests_of_that_line() -> None:
    from lab.pytest_plugin.fixtures import planned_scenarios
    first, second = load_scenarios(PROJECT / "scenarios")[:2]

    def item(kernel: str, scenario: object) -> Any:
        return SimpleNamespace(callspec=SimpleNamespace(
            params={"lab_kernel": kernel, "lab_scenario": scenario}))

    items = [item("6.1", first), item("5.10", second), SimpleNamespace(),
             item("6.1", second), item("6.1", None)]
    assert planned_scenarios(items, "6.1") == [first, second]

"""`not_runnable = "reason"`: a scenario that cannot run in a VM at all, or cannot be
built offline. Every command judges its cell not runnable with the reason, through
the one judge (cell_for), boots nothing for it, and shows it in the reports; pytest
reports it as skipped, never as a pass, and its summary names it."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from fake_lab import FakeLabs, use_lab_dirs
from series_project import make_project, scenario_text

import lab.verdicts.verdict as verdict_module
from lab import cli
from lab.scenario import ScenarioError, load_scenario, parse_scenario
from lab.verdicts.matrix_report import markdown, read_json, write_json
from lab.verdicts.outcome import Outcome
from lab.verdicts.report import summary_line
from lab.verdicts.verdict import (
    FAIL,
    NOT_RUNNABLE,
    SYMBOLS,
    UNEXPECTED_PASS,
    Cell,
    cell_for,
    not_run,
)

pytest_plugins = ["pytester"]

REASON = "needs a GPU the VM does not have (measured: no /dev/nvidia0 in the guest)"
LINE = "6.1"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`gpu` cannot run, `plain` can."""
    root = make_project(tmp_path / "project", {"gpu": scenario_text(not_runnable=REASON),
                                                "plain": scenario_text()})
    use_lab_dirs(monkeypatch, root, tmp_path)
    return root


def scenario(project: Path, name: str = "gpu") -> Any:
    return load_scenario(project / "scenarios" / f"{name}.toml")


# --- the scenario key ---------------------------------------------------------

def test_the_reader_keeps_the_reason(project: Path) -> None:
    assert scenario(project).not_runnable == REASON
    assert scenario(project, "plain").not_runnable is None


@pytest.mark.parametrize("value", ["", "   ", 3, True, ["a reason"]])
def test_a_reason_that_says_nothing_is_refused(value: object) -> None:
    data = {**tomllib.loads(scenario_text()), "not_runnable": value}
    with pytest.raises(ScenarioError, match="`not_runnable` must be the measured reason"):
        parse_scenario(data, Path("scenarios/demo.toml"))


# --- the one judge ------------------------------------------------------------

def test_the_cell_is_not_runnable_with_the_reason_and_agrees_with_the_scenario(
        project: Path) -> None:
    cell = cell_for(not_run(scenario(project)), scenario(project), LINE)
    assert (cell.verdict, cell.reason, cell.stage, cell.ok) == (NOT_RUNNABLE, REASON,
                                                                 "preflight", True)
    assert cell.observed == f"preflight: not runnable: {REASON}"


def test_a_declared_not_runnable_scenario_that_passes_is_news(project: Path) -> None:
    cell = cell_for(Outcome("gpu", passed=True), scenario(project), LINE)
    assert cell.verdict == UNEXPECTED_PASS and not cell.ok
    assert REASON in cell.reason


def test_the_reports_show_it_with_its_reason(project: Path, tmp_path: Path) -> None:
    cell = cell_for(not_run(scenario(project)), scenario(project), LINE)
    write_json(tmp_path / "column.json", [cell])
    assert read_json([tmp_path / "column.json"]) == [cell]
    table = markdown([cell])
    assert f"| `gpu` | {SYMBOLS[NOT_RUNNABLE]} |" in table
    assert f"| `gpu` | {LINE} | not-runnable | `{REASON}` |" in table
    assert summary_line(not_run(scenario(project)), cell).split()[2] == "NOT-RUNNABLE"


# --- lab run and lab docs verify ------------------------------------------------

class CountingLabs(FakeLabs):
    """FakeLabs that count the lines started (a KernelLab boots when entered)."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[object] = []

    def __call__(self, *args: object, **_: object) -> Any:
        self.started.append(args[1])
        return super().__call__(*args)


def test_lab_run_boots_nothing_for_a_scenario_that_cannot_run(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    labs = CountingLabs().install(monkeypatch)
    status = cli.main(["run", "--kernel", LINE, "gpu"])
    out = capsys.readouterr().out
    assert status == 0, "a declared not-runnable cell agrees with its scenario"
    assert labs.started == [] and labs.runs == []
    assert "NOT-RUNNABLE (preflight)" in out and REASON in out


def test_lab_run_runs_the_others_in_a_line_that_never_sees_it(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    labs = CountingLabs().install(monkeypatch)
    assert cli.main(["run", "--kernel", LINE]) == 0
    assert len(labs.started) == 1
    assert [s.name for s, _ in labs.runs] == ["plain"]
    assert "NOT-RUNNABLE" in capsys.readouterr().out


def test_lab_docs_verify_runs_nothing_for_it(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    labs = FakeLabs().install(monkeypatch)
    (project / "bpf" / "gpu" / "README.md").write_text("# gpu\n\nNothing to check.\n")
    cli.main(["docs", "verify", "--kernel", LINE, str(project / "bpf" / "gpu" / "README.md")])
    assert labs.runs == []
    assert f"gpu on {LINE}: not-runnable: {REASON}" in capsys.readouterr().err


class Spy:
    """cell_for, whose cells say FAIL: a command that judged by itself would not."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, outcome: Outcome, judged: Any, kernel: str) -> Cell:
        self.calls.append(judged.name)
        cell = verdict_module.cell_for(outcome, judged, kernel)
        return Cell(cell.kernel, cell.tutorial, FAIL, "the spy's verdict", cell.stage)


def test_lab_run_judges_it_through_cell_for(project: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    CountingLabs().install(monkeypatch)
    spy = Spy()
    monkeypatch.setattr(cli, "cell_for", spy)
    assert cli.main(["run", "--kernel", LINE, "gpu"]) == 1
    assert spy.calls == ["gpu"]
    assert "the spy's verdict" in capsys.readouterr().out


# --- pytest -----------------------------------------------------------------------

TEST_FILE = """
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("a not-runnable scenario must not reach its test")
"""


def test_pytest_skips_it_with_the_reason_boots_nothing_and_records_the_cell(
        project: Path, pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_x=TEST_FILE)
    result = pytester.runpytest_subprocess("--rootdir", str(pytester.path), "-p",
                                           "no:cacheprovider", "--kernel", LINE,
                                           "--scenario", "gpu", "-rs")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.OK, out
    result.assert_outcomes(skipped=1)
    assert "SKIPPED [1] " in out and f"not runnable: {REASON}" in out
    assert f"kernel {LINE}: gpu not runnable: {REASON}" in out, "the lab's summary names it"
    assert "boot(s)" not in out and not (tmp_path / "cache").exists(), "no line was prepared"
    column = json.loads((tmp_path / "out" / "report" / f"{LINE}.json").read_text())
    assert [(c["tutorial"], c["verdict"], c["reason"]) for c in column] == [
        ("gpu", NOT_RUNNABLE, REASON)]


class FakeNode:
    def __init__(self) -> None:
        self.config = type("Config", (), {"stash": pytest.Stash()})()


def test_the_plugin_judges_it_through_cell_for(project: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.pytest_plugin import verdict as plugin_verdict

    spy = Spy()
    monkeypatch.setattr(plugin_verdict, "cell_for", spy)
    node = FakeNode()
    with pytest.raises(pytest.fail.Exception, match="the spy's verdict"):
        plugin_verdict.judge_not_runnable(node, scenario(project), LINE)  # type: ignore[arg-type]
    assert spy.calls == ["gpu"]
    assert [c.verdict for c in node.config.stash[plugin_verdict.CELLS]] == [FAIL]

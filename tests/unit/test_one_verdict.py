"""Every command judges a cell through one entry point, lab.verdicts.verdict.cell_for:
`lab run`, `lab docs verify`, the pytest plugin's judge (which `lab matrix` runs in its
children) and the benchmark's lab side.

Each path is driven with a fake lab whose run passes, while a spy in place of
cell_for judges it a failure: a command that judged by itself (outcome.passed)
would report a pass. The spy stands in wherever a module holds the function.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fake_lab import FakeLabs, use_lab_dirs

import lab.verdicts.verdict as verdict_module
from lab import cli, cli_docs
from lab.pytest_plugin import verdict as plugin_verdict
from lab.scenario import Scenario, load_scenarios
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import FAIL, Cell

PROJECT = Path(__file__).resolve().parents[2]
LINE = "6.1"
SPY_REASON = "judged by the one entry point"


class Spy:
    """cell_for as the commands must call it; the cell it gives says FAIL."""

    real = staticmethod(verdict_module.cell_for)

    def __init__(self) -> None:
        self.calls: list[tuple[Outcome, str, str]] = []

    def __call__(self, outcome: Outcome, scenario: Scenario, kernel: str) -> Cell:
        self.calls.append((outcome, scenario.name, kernel))
        cell = self.real(outcome, scenario, kernel)
        return dataclasses.replace(cell, verdict=FAIL, reason=SPY_REASON)


def bench_lab_side() -> ModuleType:
    """bench/lab_side.py, imported as bench/benchmark.py imports it (bench/ is scripts)."""
    sys.path.insert(0, str(PROJECT / "bench"))
    try:
        import lab_side  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(PROJECT / "bench"))
    return lab_side  # type: ignore[no-any-return]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    """The spy wherever a module holds cell_for; the modules of every command path
    are loaded first, so none keeps the real one."""
    bench_lab_side()
    found = Spy()
    holders = [module for module in list(sys.modules.values())
               if getattr(module, "cell_for", None) is Spy.real]
    for module in holders:
        monkeypatch.setattr(module, "cell_for", found)
    return found


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """A copy of the project (catalog, lock, scenarios, programs) and its first
    scenario with a document; output and cache in tmp_path."""
    root = tmp_path / "project"
    for part in ("vm", "scenarios", "bpf"):
        shutil.copytree(PROJECT / part, root / part)
    use_lab_dirs(monkeypatch, root, tmp_path)
    return next(s for s in load_scenarios(root / "scenarios")
                if (root / (s.document or f"{s.program}/README.md")).is_file())


@pytest.fixture
def fake_lab(monkeypatch: pytest.MonkeyPatch) -> FakeLabs:
    """Every run passes: only the spy can judge it a failure."""
    return FakeLabs().install(monkeypatch)


def judged_once(spy: Spy, labs: FakeLabs, scenario: Scenario) -> None:
    (_, outcome), *_ = labs.runs
    assert spy.calls and all(call == (outcome, scenario.name, LINE) for call in spy.calls)


def test_lab_run_judges_through_cell_for(spy: Spy, fake_lab: FakeLabs, scenario: Scenario,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["run", "--kernel", LINE, scenario.name])
    out = capsys.readouterr().out
    judged_once(spy, fake_lab, scenario)
    assert (status, "FAIL" in out, SPY_REASON in out) == (1, True, True)


def test_lab_docs_verify_judges_through_cell_for(spy: Spy, fake_lab: FakeLabs,
                                                 scenario: Scenario,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    document = Path(scenario.path).parents[1] / (scenario.document
                                                 or f"{scenario.program}/README.md")
    status = cli.main(["docs", "verify", "--kernel", LINE, "--scenario", scenario.name,
                       str(document)])
    captured = capsys.readouterr()
    judged_once(spy, fake_lab, scenario)
    assert f"{scenario.name} on {LINE}: fail: {SPY_REASON}" in captured.err
    assert f"the program itself failed: {scenario.name}" in captured.out
    assert status == 1


class FakeConfig:
    def __init__(self) -> None:
        self.stash = pytest.Stash()


class FakeNode:
    def __init__(self) -> None:
        self.config = FakeConfig()

    def add_report_section(self, *_: Any) -> None:
        pass


def test_the_pytest_plugin_judges_through_cell_for(spy: Spy, scenario: Scenario) -> None:
    outcome = Outcome(scenario.name, passed=True)
    node = FakeNode()
    with pytest.raises(pytest.fail.Exception, match=SPY_REASON):
        plugin_verdict.judge(node, scenario, LINE, outcome)  # type: ignore[arg-type]
    assert spy.calls == [(outcome, scenario.name, LINE)]
    assert [cell.reason for cell in node.config.stash[plugin_verdict.CELLS]] == [SPY_REASON]


def test_the_benchmark_judges_through_cell_for(spy: Spy, scenario: Scenario) -> None:
    outcome = Outcome(scenario.name, passed=True)
    with pytest.raises(SystemExit, match=SPY_REASON):
        bench_lab_side().judged(outcome, scenario, LINE)
    assert spy.calls == [(outcome, scenario.name, LINE)]


def test_every_command_holds_the_same_cell_for() -> None:
    """No command module has a judge of its own under that name."""
    modules = (cli, cli_docs, plugin_verdict, bench_lab_side())
    assert [module.cell_for for module in modules] == [verdict_module.cell_for] * len(modules)

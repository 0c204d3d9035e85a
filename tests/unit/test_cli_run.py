"""`lab run` judges a cell as pytest and the matrix do (verdicts.cell_for): a failure
the scenario records for that line is an expected incompatibility and exits 0; any
other failure there is a plain fail; a recorded line that passes is news."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fake_lab import FakeLabs, use_lab_dirs

from lab import cli
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage
from lab.verdicts.verdict import cell_for

PROJECT = Path(__file__).resolve().parents[2]
LINE = "6.1"
RECORD = f"""
[expected_incompatible."{LINE}"]
stage = "build"
evidence = "no member named 'recorded' in 'struct demo'"
reason = "the line renamed the member"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real catalog and lock, and one shipped tutorial with its own README renamed
    `demo`, with a record for LINE (whichever tutorial: none is named). Not a series
    chapter: its README is kept as published, and may drift from its files."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "vm", root / "vm")
    shipped = next(path for path in sorted((PROJECT / "scenarios").glob("*.toml"))
                   if "expected_incompatible" not in path.read_text()
                   and "document" not in path.read_text()
                   and "series =" not in path.read_text()
                   and (PROJECT / "bpf" / path.stem / "README.md").is_file())
    (root / "scenarios").mkdir()
    (root / "scenarios" / "demo.toml").write_text(shipped.read_text() + RECORD)
    shutil.copytree(PROJECT / "bpf" / shipped.stem, root / "bpf" / "demo")
    use_lab_dirs(monkeypatch, root, tmp_path)
    return root


def run_with(outcome: Outcome, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    FakeLabs(lambda scenario: outcome).install(monkeypatch)
    status = cli.main(["run", "--kernel", LINE, "demo"])
    return status, capsys.readouterr().out


def verify_with(outcome: Outcome, project: Path, monkeypatch: pytest.MonkeyPatch,
                capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`lab docs verify` of the demo tutorial's own document, on a run that gave outcome."""
    FakeLabs(lambda scenario: outcome).install(monkeypatch)
    status = cli.main(["docs", "verify", "--kernel", LINE,
                       str(project / "bpf" / "demo" / "README.md")])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def failed_build(message: str) -> Outcome:
    return Outcome("demo", stage=Stage.BUILD, message=message)


def test_the_recorded_failure_is_an_expected_incompatibility_and_exits_0(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    outcome = failed_build("demo.bpf.c:3: error: no member named 'recorded' in 'struct demo'")
    status, out = run_with(outcome, monkeypatch, capsys)
    assert status == 0
    assert "EXPECTED-INCOMPATIBLE (build)" in out
    assert "the line renamed the member" in out


def test_another_failure_on_a_recorded_line_is_a_plain_fail(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run_with(failed_build("bash: clang: command not found"), monkeypatch, capsys)
    assert status == 1
    assert "FAIL (build)" in out
    assert "build: bash: clang: command not found (not the recorded incompatibility" in out


def test_a_pass_on_a_recorded_line_is_an_unexpected_pass(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run_with(Outcome("demo", stage=Stage.EXPECT, passed=True), monkeypatch, capsys)
    assert status == 1
    assert "UNEXPECTED-PASS" in out


def test_the_verdict_printed_is_the_one_the_report_gives(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    outcome = failed_build("no member named 'recorded' in 'struct demo'")
    labs = FakeLabs(lambda scenario: outcome).install(monkeypatch)
    cli.main(["run", "--kernel", LINE, "demo"])
    out = capsys.readouterr().out
    ((scenario, _),) = labs.runs
    cell = cell_for(outcome, scenario, LINE)
    assert cell.verdict.upper() in out and cell.reason in out


def test_docs_verify_takes_the_recorded_failure_for_the_cells_verdict_not_a_failure(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    outcome = failed_build("no member named 'recorded' in 'struct demo'")
    status, out = verify_with(outcome, project, monkeypatch, capsys)
    assert "the program itself failed" not in out
    assert f"demo on {LINE}: expected-incompatible: the line renamed the member" in out
    assert status == 0


def test_docs_verify_fails_on_another_failure_of_the_program(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    status, out = verify_with(failed_build("bash: clang: command not found"), project,
                              monkeypatch, capsys)
    assert "the program itself failed: demo" in out
    assert status == 1

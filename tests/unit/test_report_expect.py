"""`lab report --expect PLAN`: the merge of a sharded run shows every cell the plan
expects and no column brings as missing (the job that owed it named), never a
green table; without --expect `lab report` merges as it always did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_lab import use_lab_dirs

from lab import cli
from lab.arches import split_target
from lab.verdicts.expected import Expected, missing_cells, read_expected
from lab.verdicts.matrix_report import markdown, read_column, write_json
from lab.verdicts.verdict import FAIL, MISSING, PASS, SYMBOLS, Cell, missing

PROJECT = Path(__file__).resolve().parents[2]
SHARD_1 = "shard 1/2 of 6.1 (artifact column-6.1-shard-1of2)"
SHARD_2 = "shard 2/2 of 6.1 (artifact column-6.1-shard-2of2)"
ARM = "shard 1/1 of 6.1-arm64 (artifact column-6.1-arm64-shard-1of1)"
PLAN = [Expected("6.1", "alpha", SHARD_1), Expected("6.1", "beta", SHARD_2),
        Expected("6.1", "gamma", SHARD_2), Expected("6.1-arm64", "alpha", ARM)]
GONE = "the job failed, was cancelled or did not upload"


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_lab_dirs(monkeypatch, PROJECT, tmp_path)
    plan = {"shards": 2, "expected": [e.to_json() for e in PLAN]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    return tmp_path


def judged(kernel: str, tutorial: str, verdict: str = PASS) -> Cell:
    return Cell(kernel, tutorial, verdict, "" if verdict == PASS else "boom", "expect",
                arch=split_target(kernel)[1].name)


def column(path: Path, *cells: Cell) -> str:
    write_json(path, cells)
    return str(path)


def report(lab_env: Path, *args: str) -> int:
    return cli.main(["report", *args, "--out", str(lab_env / "merged")])


def merged(lab_env: Path) -> dict[tuple[str, str], dict[str, str]]:
    cells = json.loads((lab_env / "merged" / "lab-report.json").read_text())
    return {(c["kernel"], c["tutorial"]): c for c in cells}


def test_a_shard_without_a_column_gives_missing_cells_naming_it_and_a_non_zero_exit(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = column(lab_env / "one.json", judged("6.1", "alpha"))
    arm = column(lab_env / "arm.json", judged("6.1-arm64", "alpha"))

    assert report(lab_env, "--expect", str(lab_env / "plan.json"), one, arm) == 1

    table = capsys.readouterr().out
    assert f"| `beta` | {SYMBOLS[MISSING]} | not run |" in table
    assert f"| `gamma` | 6.1 | missing | `no report from {SHARD_2}: {GONE}` |" in table
    cells = merged(lab_env)
    assert {key: c["verdict"] for key, c in cells.items()} == {
        ("6.1", "alpha"): PASS, ("6.1", "beta"): MISSING, ("6.1", "gamma"): MISSING,
        ("6.1-arm64", "alpha"): PASS}
    assert cells[("6.1", "beta")]["reason"] == f"no report from {SHARD_2}: {GONE}"


def test_no_column_at_all_is_a_table_of_missing_cells(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(lab_env, "--expect", str(lab_env / "plan.json")) == 1
    assert {c["verdict"] for c in merged(lab_env).values()} == {MISSING}
    assert f"no report from {ARM}: {GONE}" in capsys.readouterr().out


def test_every_expected_cell_judged_and_agreeing_is_a_zero_exit(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    columns = [column(lab_env / f"{e.kernel}-{e.tutorial}.json", judged(e.kernel, e.tutorial))
               for e in PLAN]
    assert report(lab_env, "--expect", str(lab_env / "plan.json"), *columns) == 0
    assert MISSING not in capsys.readouterr().out


def test_a_failed_cell_is_a_non_zero_exit_with_expect(lab_env: Path) -> None:
    columns = [column(lab_env / f"{e.kernel}-{e.tutorial}.json",
                      judged(e.kernel, e.tutorial, FAIL if e.tutorial == "beta" else PASS))
               for e in PLAN]
    assert report(lab_env, "--expect", str(lab_env / "plan.json"), *columns) == 1


def test_without_expect_the_merge_is_as_before_whatever_the_cells_say(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cells = [judged("6.1", "alpha", FAIL), judged("6.1", "beta")]
    one = column(lab_env / "one.json", *cells)

    assert report(lab_env, one) == 0

    assert capsys.readouterr().out == "# eBPF tutorials x kernels\n\n" + markdown(cells) + "\n"
    assert set(merged(lab_env)) == {("6.1", "alpha"), ("6.1", "beta")}, "nothing is added"


def test_without_expect_or_columns_lab_report_says_what_it_needs(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(lab_env) == 1
    assert "name the columns to merge (COLUMN.json...), or a plan with --expect" in \
        capsys.readouterr().err


@pytest.mark.parametrize(("content", "problem"), [
    ("{", "not a lab plan: Expecting property name"),
    ("[]", "not a lab plan: an object with a list `expected` was expected"),
    ('{"expected": [{"kernel": "6.1", "tutorial": "a"}]}',
     "expected[0]: an object with kernel, tutorial and job was expected"),
    ('{"expected": [{"kernel": "../x", "tutorial": "a", "job": "j"}]}',
     "expected[0]: `kernel` must be a kernel line name"),
    ('{"expected": [{"kernel": "6.1", "tutorial": "<b>", "job": "j"}]}',
     "expected[0]: `tutorial` must be a scenario name"),
    ('{"expected": [{"kernel": "6.1", "tutorial": "a", "job": 3}]}',
     "expected[0]: `job` must be a string"),
])
def test_a_malformed_plan_is_one_error_line_naming_it(
        lab_env: Path, capsys: pytest.CaptureFixture[str], content: str, problem: str) -> None:
    (lab_env / "bad.json").write_text(content)
    assert report(lab_env, "--expect", str(lab_env / "bad.json")) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"lab: error: {lab_env / 'bad.json'}: ") and problem in err
    assert err.count("\n") == 1
    assert not (lab_env / "merged").exists()


def test_a_missing_cell_is_judged_by_the_verdicts_module_and_never_agrees() -> None:
    cell = missing("6.1-arm64", "alpha", ARM)
    assert (cell.verdict, cell.ok, cell.arch) == (MISSING, False, "arm64")
    assert missing_cells([cell], PLAN) == [missing(e.kernel, e.tutorial, e.job)
                                           for e in PLAN[:3]]


def test_a_merged_report_with_missing_cells_is_a_column_again(lab_env: Path) -> None:
    """`lab report` reads its own lab-report.json, missing cells and all."""
    cells = missing_cells([], read_expected(lab_env / "plan.json"))
    write_json(lab_env / "merged.json", cells)
    assert read_column(lab_env / "merged.json") == cells

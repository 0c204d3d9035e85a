"""The compatibility report: verdicts per cell, JSON round trip, the Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.scenario import Incompatibility, load_scenario
from lab.verdicts.matcher import ExpectationResult
from lab.verdicts.matrix_report import (
    column_path,
    markdown,
    merge,
    read_json,
    write_columns,
    write_json,
    write_reports,
    write_run,
)
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import EXPECTED_INCOMPATIBLE, FAIL, PASS, Cell, cell_for

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scenario(incompatible: dict[str, Incompatibility] | None = None):  # type: ignore[no-untyped-def]
    loaded = load_scenario(SCENARIOS / "kprobe-link.toml")
    if incompatible:
        loaded.incompatible.update(incompatible)
    return loaded


def failed_outcome() -> Outcome:
    expectation = scenario().expect[0]
    problem = "{pid='7', file='test1'}: no line matches 'KPROBE EXIT: pid = 7, ret = 0$'"
    return Outcome("kprobe-link", stage="expect", message="expectations not met",
                   results=[ExpectationResult(expectation, (problem,))],
                   timings={"build": 1.5}, evidence=Path("/tmp/evidence"))


def test_cells_survive_a_json_round_trip(tmp_path: Path) -> None:
    cells = [cell_for(failed_outcome(), scenario(), "6.1"),
             Cell("6.12", "minimal", PASS, "", "expect", {"load": 0.7})]
    write_json(tmp_path / "col.json", cells)

    assert read_json([tmp_path / "col.json"]) == cells


def test_merge_keeps_one_cell_per_kernel_and_tutorial_the_latest_winning() -> None:
    old = Cell("6.1", "minimal", FAIL, "boom", "load")
    new = Cell("6.1", "minimal", PASS, "", "expect")
    other = Cell("5.10", "minimal", PASS, "", "expect")

    assert merge([old, other, new]) == [new, other]


def test_markdown_is_a_tutorial_by_kernel_table_in_kernel_order_with_reasons() -> None:
    cells = [Cell("6.12", "minimal", PASS, "", "expect"),
             Cell("5.10", "minimal", EXPECTED_INCOMPATIBLE, "no BTF | old", "load"),
             Cell("5.10", "kprobe-link", FAIL, "expect: missing EXIT", "expect")]

    text = markdown(cells)

    lines = text.splitlines()
    assert lines[0] == "| tutorial | Linux 5.10 | Linux 6.12 |"
    assert lines[2] == "| `kprobe-link` | ❌ fail | not run |"
    assert lines[3] == "| `minimal` | ➖ incompatible | ✅ pass |"
    assert "| `kprobe-link` | 5.10 | fail | `expect: missing EXIT` |" in lines
    assert "| `minimal` | 5.10 | expected-incompatible | `no BTF ¦ old` |" in lines


def test_kernel_columns_sort_numerically_not_as_text() -> None:
    cells = [Cell(k, "minimal", PASS, "", "expect") for k in ("6.12", "7.2", "5.10", "6.1")]

    assert markdown(cells).splitlines()[0] == (
        "| tutorial | Linux 5.10 | Linux 6.1 | Linux 6.12 | Linux 7.2 |")


def test_write_reports_writes_both_files(tmp_path: Path) -> None:
    md, js = write_reports(tmp_path, [Cell("6.1", "minimal", PASS, "", "expect")])

    assert md.read_text().startswith("# eBPF tutorials x kernels\n\n| tutorial | Linux 6.1 |")
    assert read_json([js]) == [Cell("6.1", "minimal", PASS, "", "expect")]


def test_a_run_writes_one_column_per_kernel_line_for_lab_report_to_merge(tmp_path: Path) -> None:
    cells = [Cell("6.12", "demo", PASS, "", "expect"), Cell("6.1", "demo", FAIL, "x", "boot"),
             Cell("6.1", "other", PASS, "", "expect")]

    paths = write_columns(tmp_path, cells)

    assert paths == [column_path(tmp_path, "6.1"), column_path(tmp_path, "6.12")]
    assert paths[0] == tmp_path / "report" / "6.1.json"
    assert read_json([paths[0]]) == cells[1:]
    assert read_json([paths[1]]) == cells[:1]


def test_write_run_rewrites_the_columns_and_both_reports_as_cells_arrive(tmp_path: Path) -> None:
    first = Cell("6.1", "bashreadline", PASS, "", "expect")
    second = Cell("6.1", "kprobe-link", FAIL, "load: verifier", "load")
    write_run(tmp_path, [first])

    md, js = write_run(tmp_path, [first, second])

    assert read_json([column_path(tmp_path, "6.1")]) == [first, second]
    assert read_json([js]) == [first, second]
    assert "| `kprobe-link` | ❌ fail |" in md.read_text()
    leftovers = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert leftovers == ["6.1.json", "lab-report.json", "lab-report.md"], "no temporary files"


def test_a_write_that_fails_leaves_the_old_file_whole_and_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "col.json"
    write_json(path, [Cell("6.1", "minimal", PASS, "", "expect")])
    before = path.read_text()

    def full_disk(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lab.verdicts.matrix_report.os.replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_json(path, [Cell("6.1", "minimal", FAIL, "boom", "load")])

    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["col.json"]

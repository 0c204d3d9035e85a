"""The compatibility report: verdicts per cell, JSON round trip, the Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.matcher import ExpectationResult
from lab.matrix_report import (
    EXPECTED_INCOMPATIBLE,
    FAIL,
    PASS,
    UNEXPECTED_PASS,
    Cell,
    cell_for,
    markdown,
    merge,
    read_json,
    write_json,
    write_reports,
)
from lab.outcome import Outcome
from lab.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scenario(incompatible: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
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


@pytest.mark.parametrize(
    ("passed", "recorded", "verdict"),
    [(True, None, PASS), (False, None, FAIL), (False, "no BTF", EXPECTED_INCOMPATIBLE),
     (True, "no BTF", UNEXPECTED_PASS)],
)
def test_the_verdict_compares_the_outcome_with_what_the_scenario_records(
        passed: bool, recorded: str | None, verdict: str) -> None:
    outcome = Outcome("kprobe-link", stage="expect", passed=passed)
    cell = cell_for(outcome, scenario({"5.10": recorded} if recorded else None), "5.10")

    assert cell.verdict == verdict
    assert cell.ok == (verdict in (PASS, EXPECTED_INCOMPATIBLE))


def test_a_failure_reason_names_the_stage_the_expectation_and_the_missing_line() -> None:
    cell = cell_for(failed_outcome(), scenario(), "6.1")

    assert cell.reason.startswith("expect: ENTRY then EXIT for each rm")
    assert "KPROBE EXIT: pid = 7" in cell.reason
    assert len(cell.reason) <= 160
    assert cell.evidence == "/tmp/evidence"
    assert cell.timings == {"build": 1.5}


def test_an_expected_incompatibility_keeps_its_recorded_reason() -> None:
    cell = cell_for(failed_outcome(), scenario({"5.10": "kprobe on do_unlinkat missing"}), "5.10")

    assert cell.reason == "kprobe on do_unlinkat missing"


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
    assert "| `kprobe-link` | 5.10 | fail | expect: missing EXIT |" in lines
    assert "| `minimal` | 5.10 | expected-incompatible | no BTF / old |" in lines


def test_kernel_columns_sort_numerically_not_as_text() -> None:
    cells = [Cell(k, "minimal", PASS, "", "expect") for k in ("6.12", "7.2", "5.10", "6.1")]

    assert markdown(cells).splitlines()[0] == (
        "| tutorial | Linux 5.10 | Linux 6.1 | Linux 6.12 | Linux 7.2 |")


def test_write_reports_writes_both_files(tmp_path: Path) -> None:
    md, js = write_reports(tmp_path, [Cell("6.1", "minimal", PASS, "", "expect")])

    assert md.read_text().startswith("# eBPF tutorials x kernels\n\n| tutorial | Linux 6.1 |")
    assert read_json([js]) == [Cell("6.1", "minimal", PASS, "", "expect")]

"""A published document kept as published (a series chapter's README) may drift from
what the run printed: a drift the scenario records by kind and line is a known drift;
any other drift is still the verdict, and a record the check no longer finds is news."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from lab.scenario import ScenarioError, parse_scenario
from lab.verdicts.expectation import KnownDrift
from lab.verdicts.findings import Finding
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import DRIFT, FAIL, KNOWN_DRIFT, PASS, UNEXPECTED_PASS, Cell, cell_for

WHERE = Path("/somewhere/demo.toml")
CODE = Finding("bpf/demo/README.md", 51, "code-drift", "the block at :41 differs from demo.c")
OUTPUT = Finding("bpf/demo/README.md", 120, "output-drift", "documented `x`; observed `y`")
NOTE = Finding("bpf/demo/README.md", 9, "truncated", "cut at the terminal's width")
RECORD = KnownDrift("code-drift", 51, "the README shows the chapter's older demo.c (measured)")


@dataclasses.dataclass
class Recorded:
    name: str = "demo"
    incompatible: dict[str, Any] = dataclasses.field(default_factory=dict)
    not_runnable: str | None = None
    known_drift: tuple[KnownDrift, ...] = (RECORD,)


def judged(*findings: Finding, passed: bool = True,
           known: tuple[KnownDrift, ...] = (RECORD,)) -> Cell:
    outcome = Outcome("demo", stage="expect", passed=passed, document=list(findings))
    return cell_for(outcome, Recorded(known_drift=known), "6.1")  # type: ignore[arg-type]


def test_a_recorded_drift_is_a_known_drift_that_agrees_with_the_record() -> None:
    cell = judged(CODE, NOTE)

    assert (cell.verdict, cell.ok, cell.stage) == (KNOWN_DRIFT, True, "document")
    assert "README.md:51 code-drift" in cell.reason and "older demo.c" in cell.reason


def test_a_drift_no_record_covers_is_still_the_verdict_naming_only_it() -> None:
    cell = judged(CODE, OUTPUT)

    assert (cell.verdict, cell.ok) == (DRIFT, False)
    assert "README.md:120 output-drift" in cell.reason and ":51" not in cell.reason


def test_a_record_of_another_line_or_kind_covers_nothing() -> None:
    assert judged(dataclasses.replace(CODE, line=52)).verdict == DRIFT
    assert judged(dataclasses.replace(CODE, kind="output-drift")).verdict == DRIFT


def test_a_recorded_drift_the_check_no_longer_finds_is_news() -> None:
    cell = judged(NOTE)

    assert (cell.verdict, cell.ok) == (UNEXPECTED_PASS, False)
    assert "recorded document drift no longer found: line 51 code-drift" in cell.reason


def test_without_records_a_document_that_matches_passes_and_a_failure_stays_a_failure() -> None:
    assert judged(NOTE, known=()).verdict == PASS
    assert judged(CODE, passed=False).verdict == FAIL


def test_known_drift_is_read_from_the_scenario_and_checked() -> None:
    data: dict[str, Any] = {
        "summary": "s", "build": {"commands": ["make"]},
        "load": {"command": "t", "ready": "^r$", "capture": "output"},
        "workload": [{"run": "x", "record": "xs"}],
        "expect": [{"summary": "e", "for_each": "xs", "lines": ["^${pid}$"]}],
        "known_drift": [{"kind": "code-drift", "line": 51, "reason": "measured"}]}

    assert parse_scenario(data, WHERE).known_drift == (KnownDrift("code-drift", 51, "measured"),)
    for bad in ({"kind": "truncated", "line": 1, "reason": "r"},
                {"kind": "code-drift", "line": 0, "reason": "r"},
                {"kind": "code-drift", "line": 3},
                {"kind": "code-drift", "line": 3, "reason": "r", "lines": ["6.1"]}):
        with pytest.raises(ScenarioError, match="known_drift"):
            parse_scenario({**data, "known_drift": [bad]}, WHERE)


def test_an_output_drift_that_varies_from_run_to_run_is_known_either_way() -> None:
    varies = KnownDrift("output-drift", 120, "which thread runs it is the runtime's choice "
                        "(measured both ways)", varies=True)
    assert judged(OUTPUT, known=(varies,)).verdict == KNOWN_DRIFT
    assert judged(NOTE, known=(varies,)).verdict == PASS, "a run that matches it is not news"
    fixed = dataclasses.replace(varies, varies=False)
    assert judged(NOTE, known=(fixed,)).verdict == UNEXPECTED_PASS


def test_only_an_output_drift_may_vary_and_varies_is_a_boolean() -> None:
    data: dict[str, Any] = {
        "summary": "s", "build": {"commands": ["make"]},
        "load": {"command": "t", "ready": "^r$", "capture": "output"},
        "workload": [{"run": "x", "record": "xs"}],
        "expect": [{"summary": "e", "for_each": "xs", "lines": ["^${pid}$"]}]}
    record = {"kind": "output-drift", "line": 9, "reason": "measured both ways", "varies": True}
    assert parse_scenario({**data, "known_drift": [record]}, WHERE).known_drift[0].varies
    with pytest.raises(ScenarioError, match="only an output-drift can vary"):
        parse_scenario({**data, "known_drift": [{**record, "kind": "code-drift"}]}, WHERE)
    with pytest.raises(ScenarioError, match="`varies` must be true or false"):
        parse_scenario({**data, "known_drift": [{**record, "varies": "yes"}]}, WHERE)

"""`lab report` merges columns that may come from elsewhere (CI artifacts, another
machine): a file that is not a column is one `lab: error:` line naming it and what
is wrong, never a traceback; a column that is one still merges."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_lab import use_lab_dirs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import cli
from lab.errors import LabError
from lab.verdicts.matrix_report import read_column

PROJECT = Path(__file__).resolve().parents[2]
GOOD = {"kernel": "6.1", "tutorial": "demo", "verdict": "fail", "reason": "x",
        "stage": "load", "timings": {"load": 1.5}, "evidence": "", "expected": "",
        "observed": "load: x", "findings": []}
# no example database: it would leave a .hypothesis/ directory in the checkout
PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    use_lab_dirs(monkeypatch, PROJECT, tmp_path)
    return tmp_path


def with_(**changes: Any) -> dict[str, Any]:
    cell = {**GOOD, **changes}
    return {k: v for k, v in cell.items() if v is not DROP}


DROP = object()
MALFORMED = {
    "not-json": ("{\"kernel\": ", "not a lab report column: Expecting value"),
    "not-utf8": (b"\xff\xfe[]", "not a lab report column: 'utf-8' codec can't decode"),
    "nan": ('[{"timings": NaN}]', "not a lab report column: NaN is not a number JSON allows"),
    "deep": ("[" * 100_000 + "]" * 100_000, "not a lab report column: maximum recursion"),
    "an-object": ('{"cells": []}', "a JSON list of cells was expected, not an object"),
    "a-number": ("7", "a JSON list of cells was expected, not a number"),
    "cell-a-list": ("[[1, 2]]", "cell 0: a JSON object was expected, not a list"),
    "missing-keys": ([with_(kernel=DROP, verdict=DROP)], "cell 0: lacks kernel, verdict"),
    "unknown-key": ([with_(colour="blue")], "cell 0: has unknown field(s) 'colour'"),
    "docs-json": ([{"document": "README.md", "findings": [], "drift": False}],
                  "cell 0: lacks kernel, reason, stage, tutorial, verdict; has unknown "
                  "field(s) 'document', 'drift'"),
    "reason-a-number": ([GOOD, with_(reason=3)], "cell 1: `reason` must be a string, not 3"),
    "verdict-unknown": ([with_(verdict="great")],
                        "cell 0: `verdict` must be one of pass, fail, expected-incompatible, "
                        "unexpected-pass, drift, not-runnable, known-drift, missing, "
                        "not \"great\""),
    "kernel-a-path": ([with_(kernel="../../x")],
                      "cell 0: `kernel` must be a kernel line name, not \"../../x\""),
    "kernel-unicode-digit": ([with_(kernel="6.\u00b2")], "`kernel` must be a kernel line name"),
    "tutorial-markup": ([with_(tutorial="<img src=x>")], "`tutorial` must be a scenario name"),
    "timings-text": ([with_(timings={"load": "slow"})],
                     "`timings` must map stages to seconds, not {\"load\": \"slow\"}"),
    "timings-a-bool": ([with_(timings={"load": True})], "`timings` must map stages to seconds"),
    "findings-strings": ([with_(findings=["x"])], "`findings` must be a list of objects"),
}


def write(path: Path, content: object) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_column_is_one_error_line_naming_the_file(
        lab_env: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    content, problem = MALFORMED[case]
    good = write(lab_env / "good.json", [GOOD])
    bad = write(lab_env / "bad.json", content)

    assert cli.main(["report", str(good), str(bad)]) == 1

    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"lab: error: {bad}: ")
    assert problem in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (lab_env / "out").exists(), "no half-merged report is written"


def test_a_missing_column_is_named(lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", str(lab_env / "nope.json")]) == 1
    assert capsys.readouterr().err.startswith(f"lab: error: {lab_env / 'nope.json'}: not a lab "
                                              "report column: [Errno 2] No such file")


def test_an_out_that_is_a_file_is_named(lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    column = write(lab_env / "good.json", [GOOD])
    (lab_env / "taken").write_text("a file")

    assert cli.main(["report", str(column), "--out", str(lab_env / "taken")]) == 1
    assert capsys.readouterr().err == (f"lab: error: {lab_env / 'taken'}: not a directory "
                                       "(--out names where lab-report.md goes)\n")


def test_good_columns_still_merge(lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    column = write(lab_env / "good.json", [GOOD, with_(kernel="6.12", verdict="pass", reason="")])

    assert cli.main(["report", str(column), "--out", str(lab_env / "report")]) == 0
    assert "| `demo` | ❌ fail | ✅ pass |" in capsys.readouterr().out
    assert (lab_env / "report" / "lab-report.json").exists()


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=8), st.sampled_from(["6.1", "../x", "pass", "demo", "load"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from([*GOOD, "x"]), inner, max_size=4)),
    max_leaves=10)
# a good cell with one field replaced by anything, or dropped
mutated_cells = st.builds(lambda key, value, drop: with_(**{key: DROP if drop else value}),
                          st.sampled_from(list(GOOD)), json_values, st.booleans())


@PROPERTY
@given(content=st.one_of(json_values, st.lists(mutated_cells, max_size=3),
                         st.binary(max_size=20)))
def test_whatever_a_column_holds_it_gives_cells_or_a_lab_error_naming_it(
        tmp_path: Path, content: object) -> None:
    path = write(tmp_path / "column.json", content)
    try:
        cells = read_column(path)
    except LabError as error:
        assert str(error).startswith(f"{path}: ")
        return
    assert isinstance(content, list | bytes)
    for cell in cells:  # what passed can be put in a report
        assert isinstance(cell.reason, str) and isinstance(cell.timings, dict)

"""A tutorial series is selectable: `lab matrix --series`, `lab run --series`, pytest's
`--series` and a pytest marker per series for `-m`; an unknown series is an error
listing the known ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fake_lab import FakeLabs, use_lab_dirs
from series_project import make_project, scenario_text

from lab import cli
from lab.scenario import ScenarioError, load_scenarios
from lab.scenario.series import chosen_series

pytest_plugins = ["pytester"]

LINE = "6.1"
MEMBERS = {"a-one": "series-a", "a-two": "series-a", "b-one": "series-b", "alone": None}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project",
                        {name: scenario_text(series=series) for name, series in MEMBERS.items()})
    use_lab_dirs(monkeypatch, root, tmp_path)
    return root


def names(scenarios: list[Any]) -> list[str]:
    return [s.name for s in scenarios]


@pytest.mark.parametrize(("requested", "chosen"), [
    ([], ["a-one", "a-two", "alone", "b-one"]),
    (["series-a"], ["a-one", "a-two"]),
    (["series-b,series-a"], ["a-one", "a-two", "b-one"]),
    (["series-b", "series-a"], ["a-one", "a-two", "b-one"]),
])
def test_a_series_selects_its_scenarios_in_the_directorys_order(
        project: Path, requested: list[str], chosen: list[str]) -> None:
    assert names(chosen_series(load_scenarios(project / "scenarios"), requested)) == chosen


def test_an_unknown_series_is_an_error_listing_the_known_ones(project: Path) -> None:
    with pytest.raises(ScenarioError) as raised:
        chosen_series(load_scenarios(project / "scenarios"), ["series-a,nope"])
    assert str(raised.value) == "--series: no series named nope (known: series-a, series-b)"


def test_lab_run_runs_the_series_only(project: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    labs = FakeLabs().install(monkeypatch)
    assert cli.main(["run", "--kernel", LINE, "--series", "series-b"]) == 0
    assert [s.name for s, _ in labs.runs] == ["b-one"]


def test_lab_run_refuses_an_unknown_series_before_any_kernel_work(
        project: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    labs = FakeLabs().install(monkeypatch)
    assert cli.main(["run", "--kernel", LINE, "--series", "nope"]) == 1
    assert labs.runs == []
    assert "no series named nope (known: series-a, series-b)" in capsys.readouterr().err


def test_lab_matrix_runs_the_series_only(project: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    asked: list[tuple[list[str], list[str]]] = []

    def run_matrix(settings: object, kernels: list[Any], jobs: int,
                   scenarios: list[str]) -> list[object]:
        asked.append(([k.line for k in kernels], list(scenarios)))
        return []

    monkeypatch.setattr(cli, "run_matrix", run_matrix)
    cli.main(["matrix", LINE, "--series", "series-a"])
    assert asked == [([LINE], ["a-one", "a-two"])]
    cli.main(["matrix", LINE, "--series", "series-a", "--scenario", "a-two,b-one"])
    assert asked[1] == ([LINE], ["a-two"]), "--scenario and --series both apply"
    assert cli.main(["matrix", LINE, "--series", "nope"]) == 1
    assert len(asked) == 2


# --- pytest ---------------------------------------------------------------------

TEST_FILE = """
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
"""


def collected(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, list[str]]:
    pytester.makepyfile(test_x=TEST_FILE)
    # in-process (the plugin is the installed entry point there too): saves a pytest start
    result = pytester.runpytest_inprocess("--rootdir", str(pytester.path), "-p",
                                          "no:cacheprovider", "--kernel", LINE,
                                          "--collect-only", "-q", "--strict-markers", *args)
    tests = [line.split(f"[{LINE}-")[1].rstrip("]") for line in result.stdout.lines
             if line.startswith("test_x.py::")]
    return result, tests


def test_pytest_series_option_collects_the_series_only(project: Path,
                                                       pytester: pytest.Pytester) -> None:
    result, tests = collected(pytester, "--series", "series-a")
    assert result.ret == pytest.ExitCode.OK
    assert sorted(tests) == ["a-one", "a-two"]


@pytest.mark.parametrize(("expression", "chosen"), [
    ("series-b", ["b-one"]),
    ("not series-a", ["alone", "b-one"]),
    ("series-a or series-b", ["a-one", "a-two", "b-one"]),
])
def test_each_series_is_a_registered_marker_that_m_selects(
        project: Path, pytester: pytest.Pytester, expression: str, chosen: list[str]) -> None:
    result, tests = collected(pytester, "-m", expression)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    assert sorted(tests) == chosen


def test_pytest_refuses_an_unknown_series_listing_the_known_ones(
        project: Path, pytester: pytest.Pytester) -> None:
    result, tests = collected(pytester, "--series", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--series: no series named nope (known: series-a, series-b)" in result.stderr.str()


def test_a_series_named_as_a_pytest_marker_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester) -> None:
    root = make_project(tmp_path / "project", {"one": scenario_text(series="skip")})
    use_lab_dirs(monkeypatch, root, tmp_path)
    result, tests = collected(pytester)
    assert tests == []
    assert "series `skip` has the name of a pytest marker" in result.stdout.str() \
        + result.stderr.str()

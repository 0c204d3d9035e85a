"""How `lab matrix` schedules the machine (lab.schedule, lab.matrix.schedule):
guests x vCPUs within the cores while tutorials run, the longest line first."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import pytest

from lab import matrix, schedule
from lab.schedule import AUTO, parse_jobs
from lab.settings import DEFAULT_GUEST_CPUS, Settings
from lab.verdicts.matrix_report import write_reports
from lab.verdicts.verdict import PASS, Cell

LINES = ["5.10", "6.1", "6.12", "7.2"]
plan = functools.partial(schedule.plan, alone_cpus=DEFAULT_GUEST_CPUS)  # as lab matrix plans


def test_auto_runs_one_line_per_core_each_guest_on_one_vcpu() -> None:
    chosen = plan(2, LINES)

    assert (chosen.jobs, chosen.guest_cpus, chosen.run_cpus) == (2, 1, 0)
    assert "2 line(s) at once on 2 core(s)" in chosen.describe()
    assert "each guest boots with 1 vCPU(s) (guests x vCPUs <= cores)" in chosen.describe()


@pytest.mark.parametrize(("cores", "lines", "jobs", "expected"), [
    (2, ["6.1"], AUTO, (1, 2)),         # one line: two vCPUs, two builds ahead at once
    (8, LINES, AUTO, (4, 2)),           # cores enough for two vCPUs a line
    (2, LINES, 4, (4, 1)),              # the user's jobs: one vCPU each, more guests than cores
    (1, LINES, AUTO, (1, 1)),           # one core: one line, one vCPU
    (16, LINES, 2, (2, 2)),
])
def test_guests_times_vcpus_stay_within_the_cores(
        cores: int, lines: list[str], jobs: int, expected: tuple[int, int]) -> None:
    chosen = plan(cores, lines, jobs=jobs)

    assert (chosen.jobs, chosen.guest_cpus) == expected
    assert chosen.run_cpus == 0
    assert chosen.jobs * chosen.guest_cpus <= max(cores, chosen.jobs)


def test_the_users_vcpus_win() -> None:
    told = plan(2, LINES, guest_cpus=2, run_cpus=1)
    assert (told.guest_cpus, told.run_cpus) == (2, 1)
    assert "boots with 2 vCPU(s) (LAB_GUEST_CPUS)" in told.describe()
    assert "keeps 1 online once its builds ahead are done (LAB_RUN_CPUS)" in told.describe()
    assert plan(2, LINES, guest_cpus=2, run_cpus=0).run_cpus == 0
    assert plan(2, LINES, guest_cpus=1, run_cpus=1).run_cpus == 0, "nothing to take offline"


def test_the_longest_line_starts_first_and_a_line_without_a_time_before_it() -> None:
    chosen = plan(2, LINES, last_seconds={"5.10": 40.0, "6.1": 37.0, "7.2": 47.0},
                  last_run="out/lab-report.json")

    assert chosen.lines == ("6.12", "7.2", "5.10", "6.1")
    assert "longest line first by the last run's times (out/lab-report.json): 7.2 47 s, " \
           "5.10 40 s, 6.1 37 s" in chosen.describe()
    assert plan(2, LINES).lines == tuple(LINES)
    assert "lines in the order given" in plan(2, LINES).describe()


@pytest.mark.parametrize(("text", "jobs"), [("auto", AUTO), ("AUTO", AUTO), ("3", 3)])
def test_jobs_is_auto_or_a_count(text: str, jobs: int) -> None:
    assert parse_jobs(text) == jobs


@pytest.mark.parametrize("text", ["0", "-1", "two", ""])
def test_other_jobs_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="say auto or a number"):
        parse_jobs(text)


def cell(kernel: str, tutorial: str, seconds: float) -> Cell:
    return Cell(kernel, tutorial, PASS, "", "expect", timings={"load": seconds / 2,
                                                               "expect": seconds / 2})


def test_the_matrix_orders_lines_by_the_last_reports_times_of_the_chosen_tutorials(
        tmp_path: Path) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    write_reports(settings.output, [cell("6.1", "minimal", 10), cell("6.1", "big", 500),
                                    cell("6.12", "minimal", 30), cell("6.12", "big", 5)])

    assert matrix.schedule(settings, ["6.1", "6.12"]).lines == ("6.1", "6.12")
    assert matrix.schedule(settings, ["6.1", "6.12"], scenarios=["minimal"]).lines == (
        "6.12", "6.1")


def test_a_report_that_is_not_ours_gives_no_times(tmp_path: Path) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    settings.output.mkdir()
    (settings.output / "lab-report.json").write_text("{not json")

    assert matrix.schedule(settings, ["6.1", "6.12"]).lines == ("6.1", "6.12")


def test_the_children_get_the_schedules_vcpus(tmp_path: Path) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    env = matrix.child_environment(settings, plan(2, LINES, guest_cpus=2, run_cpus=1))

    assert (env["LAB_GUEST_CPUS"], env["LAB_RUN_CPUS"]) == ("2", "1")
    child = Settings.from_env({**env, "LAB_PROJECT_DIR": str(Path(__file__).parents[2])})
    assert (child.guest_cpus, child.run_cpus) == (2, 1)
    env = matrix.child_environment(settings, plan(2, LINES))
    assert (env["LAB_GUEST_CPUS"], env["LAB_RUN_CPUS"]) == ("1", "0")


def test_the_matrix_says_what_it_chose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    monkeypatch.setattr(matrix, "prepare_every_userland", lambda settings, line: None)
    monkeypatch.setattr(matrix, "pytest_command", lambda settings, line, scenarios=(): [
        sys.executable, "-c", "pass"])
    monkeypatch.setattr(matrix.os, "cpu_count", lambda: 2)

    matrix.run_matrix(settings, [kernel_named("6.1"), kernel_named("6.12")])

    assert "lab matrix: 2 line(s) at once on 2 core(s)" in capsys.readouterr().err


def kernel_named(line: str) -> matrix.LockedKernel:
    return matrix.LockedKernel(line, "suite", f"{line}.0-1-amd64", "1", (), ())


def test_the_matrix_starts_the_longest_line_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(project=tmp_path, cache=tmp_path / "c", output=tmp_path / "o",
                        accel="tcg")
    write_reports(settings.output, [cell("6.1", "minimal", 10), cell("6.12", "minimal", 30)])
    started = tmp_path / "started"
    monkeypatch.setattr(matrix, "prepare_every_userland", lambda settings, line: None)
    monkeypatch.setattr(matrix, "pytest_command", lambda settings, line, scenarios=(): [
        sys.executable, "-c", f"open({str(started)!r}, 'a').write({line!r} + ' ')"])

    matrix.run_matrix(settings, [kernel_named("6.1"), kernel_named("6.12")], jobs=1)

    assert started.read_text().split() == ["6.12", "6.1"]

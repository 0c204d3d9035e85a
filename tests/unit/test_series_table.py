"""A series' compatibility table: chapters from their names or sources, the minimum
each declares in its `.config`, the minimum observed in the report, and the table
kept in a Markdown file between markers, rewritten in place or caught drifting."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_lab import use_lab_dirs
from series_project import make_project, scenario_text

from lab import cli
from lab.arches import ARM64
from lab.errors import LabError
from lab.scenario import ScenarioError, load_scenario
from lab.scenario.chapter_config import parse_config
from lab.scenario.series import Chapter, chapter_of
from lab.verdicts.marked_region import begin_marker, drifted, marked, replaced
from lab.verdicts.matrix_report import column_path, write_json
from lab.verdicts.series_table import ChapterRow, observed_cell, observed_minimum, series_table
from lab.verdicts.verdict import (
    EXPECTED_INCOMPATIBLE,
    FAIL,
    NOT_RUNNABLE,
    PASS,
    Cell,
)

LINES = ["5.10", "6.1", "6.12", "7.2"]
PASSES = dict.fromkeys(LINES, PASS)


# --- chapters ---------------------------------------------------------------------

def chapter_scenario(tmp_path: Path, name: str, source: str | None) -> object:
    path = tmp_path / f"{name}.toml"
    path.write_text(scenario_text(series="s", source=source))
    return load_scenario(path)


@pytest.mark.parametrize(("name", "source", "chapter"), [
    ("14-tcpstates-like", None, Chapter("14-tcpstates-like", 14)),
    ("renamed", "a series (MIT) src/3-some-chapter, chapter 3: its title", Chapter(
        "3-some-chapter", 3)),
    ("renamed", "seed 004; a series src/12-x at abc1234", Chapter("12-x", 12)),
    ("renamed", "written for the lab", None),
    ("renamed", None, None),
])
def test_a_chapter_is_its_name_or_the_src_directory_its_source_names(
        tmp_path: Path, name: str, source: str | None, chapter: Chapter | None) -> None:
    assert chapter_of(chapter_scenario(tmp_path, name, source)) == chapter  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "version", "shown"), [
    ("level=Basic\nkernel_min=5.5\nkernel_min_basis=required-feature\n", (5, 5),
     "5.5 (required-feature)"),
    ("kernel_min=x86_64:5.5,arm64:6.0\nkernel_min_basis=documented\n", (5, 5),
     "5.5 on x86_64, 6.0 on arm64 (documented)"),
    ("kernel_min=arm64:6.0\n", None, "6.0 on arm64"),
    ("kernel_min=6.10\nkernel_min_basis=documented", (6, 10), "6.10 (documented)"),
    ("kernel_min=not-applicable\nkernel_min_basis=not-applicable\n", None, "not applicable"),
    ("kernel_min=unknown\nkernel_min_basis=unverified\n", None, "unknown (unverified)"),
])
def test_the_declared_minimum_is_read_from_the_config(
        text: str, version: tuple[int, ...] | None, shown: str) -> None:
    minimum = parse_config(text, ".config")
    assert (minimum.version, minimum.describe()) == (version, shown)


@pytest.mark.parametrize(("text", "problem"), [
    ("level=Basic\n", "no `kernel_min=` line"),
    ("kernel_min=five\n", "`kernel_min=five` is not a kernel version"),
    ("kernel_min=x86_64:5.5,arm64\n", "is not a kernel version"),
    ("kernel_min=5.5\nkernel_min_basis=two words\n", "must be one word"),
])
def test_a_config_without_a_readable_minimum_is_an_error(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError, match=problem):
        parse_config(text, "bpf/x/.config")


# --- the observed minimum -----------------------------------------------------------

def row(declared: tuple[int, ...] | None = (5, 2), tutorial: str = "t", chapter: str = "2-t",
        number: int = 2) -> ChapterRow:
    return ChapterRow(tutorial, chapter, number, "declared", declared)


@pytest.mark.parametrize(("verdicts", "minimum", "shown"), [
    (PASSES, "5.10", "≤ 5.10"),
    ({**PASSES, "5.10": EXPECTED_INCOMPATIBLE}, "6.1", "6.1 ⚠️"),
    ({**PASSES, "5.10": FAIL, "6.1": EXPECTED_INCOMPATIBLE}, "6.12", "6.12 ⚠️"),
    ({**PASSES, "7.2": EXPECTED_INCOMPATIBLE}, None, "none ⚠️"),
    ({**PASSES, "6.1": FAIL}, "6.12", "6.12 ⚠️"),
    ({"6.12": PASS, "7.2": PASS}, "6.12", "6.12"),
    ({"5.10": PASS, "6.1": PASS}, None, "unknown"),
    (dict.fromkeys(LINES, NOT_RUNNABLE), None, "⛔ not runnable"),
    ({}, None, "not run"),
])
def test_the_observed_minimum_is_the_oldest_line_from_which_every_newer_line_passes(
        verdicts: dict[str, str], minimum: str | None, shown: str) -> None:
    assert observed_minimum(verdicts, LINES) == minimum
    assert observed_cell(row(), verdicts, LINES) == shown


@pytest.mark.parametrize(("declared", "shown"), [
    ((6, 1), "6.1"), ((6, 0), "6.1"), ((5, 10), "6.1 ⚠️"), ((5, 2), "6.1 ⚠️"), (None, "6.1")])
def test_a_chapter_is_marked_when_it_failed_at_or_above_its_declared_minimum(
        declared: tuple[int, ...] | None, shown: str) -> None:
    verdicts = {**PASSES, "5.10": EXPECTED_INCOMPATIBLE}
    assert observed_cell(row(declared), verdicts, LINES) == shown


# --- the table ------------------------------------------------------------------------

def cell(tutorial: str, line: str, verdict: str, reason: str = "") -> Cell:
    return Cell(line, tutorial, verdict, reason, "expect")


ROWS = [row(tutorial="10-ten", chapter="10-ten", number=10, declared=(6, 1)),
        row(tutorial="old-name", chapter="2-two", number=2, declared=(4, 8)),
        row(tutorial="gpu", chapter="47-gpu", number=47, declared=(5, 8))]
CELLS = ([cell("10-ten", line, PASS) for line in LINES[1:]]
         + [cell("10-ten", "5.10", EXPECTED_INCOMPATIBLE, "needs 6.1's helper")]
         + [cell("old-name", line, PASS) for line in LINES]
         + [cell("gpu", line, NOT_RUNNABLE, "needs a GPU") for line in LINES]
         + [cell("not-in-the-series", "6.1", FAIL, "boom")])


def test_the_table_has_a_row_per_chapter_in_chapter_order_and_the_reasons() -> None:
    assert series_table(ROWS, CELLS, LINES).splitlines() == [
        "| chapter | Linux 5.10 | Linux 6.1 | Linux 6.12 | Linux 7.2 | observed minimum "
        "| declared minimum |",
        "|---|---|---|---|---|---|---|",
        "| `old-name` (2-two) | ✅ pass | ✅ pass | ✅ pass | ✅ pass | ≤ 5.10 | declared |",
        "| `10-ten` | ➖ incompatible | ✅ pass | ✅ pass | ✅ pass | 6.1 | declared |",
        "| `gpu` (47-gpu) | ⛔ not runnable | ⛔ not runnable | ⛔ not runnable | ⛔ not runnable "
        "| ⛔ not runnable | declared |",
        "",
        "Observed minimum: the oldest line from which every newer line passes; ⚠️: the "
        "chapter declares a minimum at or below a line it did not pass on.",
        "",
        "| chapter | kernel | verdict | reason |",
        "|---|---|---|---|",
        "| `10-ten` | 5.10 | expected-incompatible | `needs 6.1's helper` |",
        "| `gpu` (47-gpu) | 5.10, 6.1, 6.12, 7.2 | not-runnable | `needs a GPU` |",
    ]


def test_a_line_without_a_cell_is_not_run_and_ends_the_observed_range() -> None:
    cells = [c for c in CELLS if not (c.tutorial == "old-name" and c.kernel == "6.1")]
    table = series_table(ROWS[1:2], cells, LINES)
    assert "| `old-name` (2-two) | ✅ pass | not run | ✅ pass | ✅ pass | 6.12 | declared |" \
        in table


# --- the marked region ------------------------------------------------------------------

README = f"""# A project

Before.

{begin_marker("s")}
| old | table |
{"<!-- lab: end series-table -->"}

After, kept byte for byte.\r
"""


def test_the_region_is_rewritten_and_nothing_else() -> None:
    text = replaced(README, "s", "| new |\n", "README.md")
    assert text == README.replace("| old | table |\n", "\n| new |\n\n")
    assert marked(text, "s", "README.md") == "| new |\n"
    assert replaced(text, "s", "| new |\n", "README.md") == text, "rewriting is idempotent"


def test_a_region_that_differs_from_the_table_is_caught() -> None:
    assert drifted(README, "s", "| new |\n", "README.md")
    assert not drifted(replaced(README, "s", "| new |\n", "README.md"), "s", "| new |\n",
                       "README.md")


@pytest.mark.parametrize(("text", "problem"), [
    ("no markers\n", "no line `<!-- lab: series-table s -->`"),
    (README + README, "2 line `<!-- lab: series-table s -->`"),
    (f"{begin_marker('s')}\n| t |\n", "no `<!-- lab: end series-table -->` after"),
    (README.replace(begin_marker("s"), begin_marker("other")), "no line"),
])
def test_missing_or_ambiguous_markers_are_an_error_naming_the_file(text: str,
                                                                  problem: str) -> None:
    with pytest.raises(LabError, match=f"^README.md: {problem}"):
        replaced(text, "s", "| t |\n", "README.md")


# --- `lab series table` ---------------------------------------------------------------------

CONFIG = "level=Basic\nkernel_min={}\nkernel_min_basis=documented\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two chapters of series `s` (one named after its chapter, one by its source) and a
    scenario of no series; a report column for 6.1 and one for 7.2."""
    root = make_project(
        tmp_path / "project",
        {"9-nine": scenario_text(series="s"),
         "renamed": scenario_text(series="s", source="s (MIT) src/1-first, chapter 1"),
         "alone": scenario_text()},
        {"9-nine": CONFIG.format("6.1"), "renamed": CONFIG.format("4.8")})
    use_lab_dirs(monkeypatch, root, tmp_path)
    output = tmp_path / "out"
    write_json(column_path(output, "6.1"), [cell("9-nine", "6.1", FAIL, "load: EINVAL"),
                                            cell("renamed", "6.1", PASS)])
    write_json(column_path(output, "7.2"), [cell("9-nine", "7.2", PASS),
                                            cell("renamed", "7.2", PASS)])
    return root


def test_the_command_prints_the_series_table_from_the_latest_columns(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["series", "table", "s"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2:4] == [
        "| `renamed` (1-first) | not run | ✅ pass | not run | ✅ pass | 7.2 | 4.8 (documented) |",
        "| `9-nine` | not run | ❌ fail | not run | ✅ pass | 7.2 ⚠️ | 6.1 (documented) |"]
    assert "| `9-nine` | 6.1 | fail | `load: EINVAL` |" in lines


def test_update_rewrites_the_marked_region_and_check_catches_a_drifting_table(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(README.encode())
    assert cli.main(["series", "table", "s", "--check", str(readme)]) == 1
    assert "differs from the report" in capsys.readouterr().err

    assert cli.main(["series", "table", "s", "--update", str(readme)]) == 0
    text = readme.read_bytes().decode()
    assert "| old | table |" not in text and "| `9-nine` | not run | ❌ fail |" in text
    assert text.startswith("# A project\n\nBefore.\n") and text.endswith("byte for byte.\r\n")
    assert cli.main(["series", "table", "s", "--check", str(readme)]) == 0

    # the report moves on (6.1 passes now): the table in the file has drifted
    write_json(column_path(tmp_path / "out", "6.1"), [cell("9-nine", "6.1", PASS),
                                                      cell("renamed", "6.1", PASS)])
    assert cli.main(["series", "table", "s", "--check", str(readme)]) == 1


def test_a_chapter_without_its_config_is_an_error_naming_the_file(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "bpf" / "9-nine" / ".config").unlink()
    assert cli.main(["series", "table", "s"]) == 1
    assert f"{project / 'bpf' / '9-nine' / '.config'}: cannot read the chapter's declared " \
        "minimum kernel" in capsys.readouterr().err


def test_an_unknown_series_or_no_report_is_an_error(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["series", "table", "nope"]) == 1
    assert "no series named nope (known: s)" in capsys.readouterr().err
    for column in (tmp_path / "out" / "report").iterdir():
        column.unlink()
    assert cli.main(["series", "table", "s"]) == 1
    assert "no report columns in" in capsys.readouterr().err


def test_series_list_names_each_series_chapters_in_order(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["series", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "s (2): 1-first (renamed), 9-nine", "in no series (1): alone"]


def test_an_arm64_table_has_the_arm64_lines_and_says_so() -> None:
    arm_lines = [f"{line}-arm64" for line in LINES]
    arm_cells = ([cell("10-ten", line, PASS) for line in arm_lines[2:]]
                 + [cell("10-ten", line, EXPECTED_INCOMPATIBLE, "x86 only") for line in
                    arm_lines[:2]]
                 + [cell("old-name", line, PASS) for line in arm_lines]
                 + [cell("old-name", "5.10", FAIL, "x86_64's cell, not in this table")])
    table = series_table(ROWS[:2], arm_cells, arm_lines, ARM64).splitlines()

    assert table[0] == ("| chapter | Linux 5.10 (arm64) | Linux 6.1 (arm64) | Linux 6.12 (arm64) "
                        "| Linux 7.2 (arm64) | observed minimum | declared minimum |")
    assert table[2] == ("| `old-name` (2-two) | ✅ pass | ✅ pass | ✅ pass | ✅ pass | ≤ 5.10 "
                        "| declared |")
    assert table[3] == ("| `10-ten` | ➖ incompatible | ➖ incompatible | ✅ pass | ✅ pass "
                        "| 6.12 ⚠️ | declared |"), "6.1-arm64 is 6.1: at the declared minimum"
    assert "| `10-ten` | 5.10-arm64, 6.1-arm64 | expected-incompatible | `x86 only` |" in table


def test_the_arm64_table_has_its_own_markers(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(README.replace(begin_marker("s"), begin_marker("s arm64")).encode())
    assert cli.main(["series", "table", "s", "--update", str(readme)]) == 1
    assert cli.main(["series", "table", "s", "--arch", "arm64", "--update", str(readme)]) == 0
    assert "| chapter | Linux 5.10 (arm64) |" in readme.read_text()

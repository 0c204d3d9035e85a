"""Each cell says which guest userland it ran on and the toolchain that root pins:
in the JSON record, in a table under the Markdown report, in a failure's text."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from lab.verdicts.expectation import Incompatibility
from lab.verdicts.matrix_report import markdown, read_column, write_json
from lab.verdicts.outcome import Outcome
from lab.verdicts.report import failure_text
from lab.verdicts.stage import Stage
from lab.verdicts.verdict import Cell, cell_for

OLD = "clang 14.0.6, libbpf 1.1.2, bpftool 7.1.0"
NEW = "clang 19.1.7, libbpf 1.5.0, bpftool 7.5.0"


@dataclasses.dataclass
class Recorded:
    name: str
    incompatible: dict[str, Incompatibility] = dataclasses.field(default_factory=dict)
    not_runnable: str | None = None
    known_drift: tuple[object, ...] = ()


def cell(kernel: str, tutorial: str, userland: str = "", toolchain: str = "") -> Cell:
    return Cell(kernel, tutorial, "pass", "", "document", userland=userland, toolchain=toolchain)


def test_a_cell_carries_the_userland_and_toolchain_of_its_outcome() -> None:
    outcome = Outcome("demo", stage=Stage.EXPECT, passed=True, userland="trixie", toolchain=NEW)
    judged = cell_for(outcome, Recorded("demo"), "6.1")  # type: ignore[arg-type]
    assert (judged.userland, judged.toolchain) == ("trixie", NEW)


def test_the_json_column_keeps_them_and_an_older_column_without_them_still_reads(
        tmp_path: Path) -> None:
    path = tmp_path / "6.1.json"
    write_json(path, [cell("6.1", "demo", "trixie", NEW)])
    assert json.loads(path.read_text())[0]["toolchain"] == NEW
    assert read_column(path) == [cell("6.1", "demo", "trixie", NEW)]
    older = [{k: v for k, v in record.items() if k not in ("userland", "toolchain")}
             for record in json.loads(path.read_text())]
    path.write_text(json.dumps(older))
    assert read_column(path) == [cell("6.1", "demo")]


def test_the_markdown_report_names_each_userland_its_toolchain_tutorials_and_lines() -> None:
    text = markdown([cell("6.1", "old-a", "bookworm", OLD), cell("6.12", "old-a", "bookworm", OLD),
                     cell("6.1", "new-b", "trixie", NEW), cell("6.1", "old-c", "bookworm", OLD)])
    table = text.split("| guest userland | toolchain | tutorials | kernels |\n|---|---|---|---|\n")
    assert table[1].splitlines() == [
        f"| `bookworm` | `{OLD}` | `old-a`, `old-c` | 6.1, 6.12 |",
        f"| `trixie` | `{NEW}` | `new-b` | 6.1 |"]


def test_cells_that_do_not_say_add_no_userland_table() -> None:
    assert "guest userland" not in markdown([cell("6.1", "demo")])


def test_a_failure_names_the_userland_it_was_built_with() -> None:
    outcome = Outcome("demo", stage=Stage.BUILD, message="error: unknown type",
                      userland="trixie", toolchain=NEW)
    assert f"guest userland: trixie ({NEW})" in failure_text(outcome, "6.1")
    outcome.userland = ""
    assert "guest userland" not in failure_text(outcome, "6.1")

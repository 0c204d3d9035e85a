"""`lab report --expect`: the merge of a sharded run, which shows the cells no job
reported as missing."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lab.errors import LabError
from lab.verdicts.expected import missing_cells, read_expected
from lab.verdicts.matrix_report import merge, read_json, write_reports


def report_against_plan(columns: Sequence[Path], plan: Path, output: Path) -> int:
    """`lab report --expect PLAN`: the columns merged, each cell the plan expects and
    no column has shown as missing; 1 unless every cell agrees with its record."""
    cells = merge(read_json(columns))
    cells += missing_cells(cells, read_expected(plan))
    if output.exists() and not output.is_dir():
        raise LabError(f"{output}: not a directory (--out names where lab-report.md goes)")
    try:
        md, _ = write_reports(output, cells)
        print(md.read_text(encoding="utf-8"), end="")
    except OSError as error:
        raise LabError(f"cannot write the report into {output}: {error}") from error
    return 0 if all(cell.ok for cell in cells) else 1

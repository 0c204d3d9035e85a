"""The cells a merge expects, and the missing ones it shows (pure logic).

A sharded run (the GitHub workflow) judges its table in many jobs, each
uploading its column; a job that fails before uploading, is cancelled or loses
its artifact leaves no column, and a merge of the others alone would look
complete. The workflow's plan (lab.ci.plan) lists every cell it expects and the
job that owes it; each expected cell no column brings becomes a missing cell
that names that job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.names import LINE_NAME, NAME
from lab.verdicts.verdict import Cell, missing

EXPECTED_KEY = "expected"  # where a plan lists its cells


@dataclass(frozen=True)
class Expected:
    """One cell a plan expects: its kernel target, its tutorial, and the job that
    owes it, as people name it (`shard 2/4 of 6.1 (artifact column-6.1-shard-2of4)`)."""

    kernel: str
    tutorial: str
    job: str

    def to_json(self) -> dict[str, str]:
        return {"kernel": self.kernel, "tutorial": self.tutorial, "job": self.job}


def read_expected(path: Path) -> list[Expected]:
    """The expected cells of a plan file; a file that is not one is a LabError
    naming it and what is wrong (the plan comes from another job's artifact)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise LabError(f"{path}: not a lab plan: {error}") from error
    records = data.get(EXPECTED_KEY) if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise LabError(f"{path}: not a lab plan: an object with a list `{EXPECTED_KEY}` "
                       "was expected")
    return [_expected(record, f"{path}: {EXPECTED_KEY}[{index}]")
            for index, record in enumerate(records)]


def _expected(record: object, where: str) -> Expected:
    if not isinstance(record, dict) or set(record) != {"kernel", "tutorial", "job"}:
        raise LabError(f"{where}: an object with kernel, tutorial and job was expected")
    kernel, tutorial, job = record["kernel"], record["tutorial"], record["job"]
    if not isinstance(kernel, str) or not LINE_NAME.fullmatch(kernel):
        raise LabError(f"{where}: `kernel` must be a kernel line name")
    if not isinstance(tutorial, str) or not NAME.fullmatch(tutorial):
        raise LabError(f"{where}: `tutorial` must be a scenario name")
    if not isinstance(job, str):
        raise LabError(f"{where}: `job` must be a string")
    return Expected(kernel, tutorial, job)


def missing_cells(cells: Iterable[Cell], expected: Iterable[Expected]) -> list[Cell]:
    """A missing cell for each expected one that no cell is, in the plan's order."""
    judged = {(cell.kernel, cell.tutorial) for cell in cells}
    return [missing(e.kernel, e.tutorial, e.job) for e in expected
            if (e.kernel, e.tutorial) not in judged]

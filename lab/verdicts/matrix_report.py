"""The compatibility report: one cell per kernel x tutorial (pure logic).

Cells come from outcomes, go to JSON (one file per run, mergeable) and to a
Markdown table authors paste into their tutorial's README.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from lab.verdicts.verdict import PASS, SYMBOLS, Cell


def _write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file and a rename: the report is rewritten after
    every cell and the run may be killed at any moment, so a reader (or the next
    merge) sees the old file or the new one, never half of one. The temporary
    name is unique: `lab matrix` runs several pytest processes on one output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def column_path(output: Path, line: str) -> Path:
    """Where a run writes the column of one kernel line, for `lab report` to merge."""
    return output / "report" / f"{line}.json"


def write_json(path: Path, cells: Iterable[Cell]) -> None:
    _write_atomic(path, json.dumps([asdict(c) for c in cells], indent=2, ensure_ascii=False)
                  + "\n")


def read_json(paths: Iterable[Path]) -> list[Cell]:
    cells = []
    for path in paths:
        cells += [Cell(**record) for record in json.loads(path.read_text())]
    return cells


def merge(cells: Iterable[Cell]) -> list[Cell]:
    """One cell per (kernel, tutorial); a later one replaces an earlier one."""
    merged = {(c.kernel, c.tutorial): c for c in cells}
    return list(merged.values())


def _kernel_key(line: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in line.replace("x", "0").split("."))


def markdown(cells: Sequence[Cell]) -> str:
    """A tutorial x kernel table, then the reason for every cell that is not a pass."""
    kernels = sorted({c.kernel for c in cells}, key=_kernel_key)
    tutorials = sorted({c.tutorial for c in cells})
    by_key = {(c.kernel, c.tutorial): c for c in cells}
    lines = ["| tutorial | " + " | ".join(f"Linux {k}" for k in kernels) + " |",
             "|---|" + "---|" * len(kernels)]
    for tutorial in tutorials:
        row = [SYMBOLS[by_key[(k, tutorial)].verdict] if (k, tutorial) in by_key else "not run"
               for k in kernels]
        lines.append(f"| `{tutorial}` | " + " | ".join(row) + " |")
    notes = [c for c in sorted(cells, key=lambda c: (c.tutorial, _kernel_key(c.kernel)))
             if c.verdict != PASS]
    if notes:
        lines += ["", "| tutorial | kernel | verdict | reason |", "|---|---|---|---|"]
        lines += [f"| `{c.tutorial}` | {c.kernel} | {c.verdict} | {c.reason.replace('|', '/')} |"
                  for c in notes]
    return "\n".join(lines) + "\n"


def write_reports(directory: Path, cells: Sequence[Cell]) -> tuple[Path, Path]:
    """lab-report.md and lab-report.json for these cells."""
    md, js = directory / "lab-report.md", directory / "lab-report.json"
    write_json(js, cells)
    _write_atomic(md, "# eBPF tutorials x kernels\n\n" + markdown(cells))
    return md, js


def write_columns(output: Path, cells: Sequence[Cell]) -> list[Path]:
    """One column file per kernel line of these cells (a run may boot several)."""
    lines = sorted({c.kernel for c in cells}, key=_kernel_key)
    paths = [column_path(output, line) for line in lines]
    for line, path in zip(lines, paths, strict=True):
        write_json(path, [c for c in cells if c.kernel == line])
    return paths


def write_run(output: Path, cells: Sequence[Cell]) -> tuple[Path, Path]:
    """Everything a run writes about its cells: the columns, then both reports."""
    write_columns(output, cells)
    return write_reports(output, cells)

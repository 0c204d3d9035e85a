"""The compatibility report: one cell per kernel x tutorial (pure logic).

Cells come from outcomes, go to JSON (one file per run, mergeable) and to a
Markdown table authors paste into their tutorial's README.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, asdict, fields, replace
from pathlib import Path
from typing import Any

from lab.arches import ARCHES, DEFAULT_ARCH, split_target
from lab.errors import LabError
from lab.guest_text import table_cell
from lab.names import LINE_NAME, NAME
from lab.verdicts.verdict import PASS, SYMBOLS, Cell

REQUIRED = {f.name for f in fields(Cell) if f.default is MISSING and f.default_factory is MISSING}


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
    """The cells of report columns; a file that is not one is a LabError naming it
    and what is wrong (columns come from other machines: CI artifacts, a colleague)."""
    cells = []
    for path in paths:
        cells += read_column(path)
    return cells


def read_column(path: Path) -> list[Cell]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise LabError(f"{path}: not a lab report column: {error}") from error
    if not isinstance(data, list):
        raise LabError(f"{path}: not a lab report column: a JSON list of cells was expected, "
                       f"not {_kind(data)}")
    return [cell_from_json(record, f"{path}: cell {index}") for index, record in enumerate(data)]


def cell_from_json(record: object, where: str) -> Cell:
    """One cell of a column, every field checked; a LabError saying which is wrong."""
    if not isinstance(record, dict):
        raise LabError(f"{where}: a JSON object was expected, not {_kind(record)}")
    missing = sorted(REQUIRED - set(record))
    unknown = sorted(set(record) - set(FIELD_CHECKS))
    if missing or unknown:
        raise LabError(f"{where}: " + "; ".join(
            ([f"lacks {', '.join(missing)}"] if missing else [])
            + ([f"has unknown field(s) {', '.join(map(repr, unknown))}"] if unknown else [])))
    for name, value in record.items():
        problem = FIELD_CHECKS[name](value)
        if problem:
            raise LabError(f"{where}: `{name}` {problem}, not {_shown(value)}")
    cell = Cell(**record)
    named = split_target(cell.kernel)[1].name
    if "arch" in record and cell.arch != named:
        raise LabError(f"{where}: `arch` is {cell.arch!r} but kernel {cell.kernel!r} names "
                       f"{named!r}")
    return replace(cell, arch=named)  # a column written before cells said it


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 60 else text[:59] + "…"


def _arch(value: object) -> str | None:
    return None if value in ARCHES else f"must be one of {', '.join(map(repr, ARCHES))}"


def _text(value: object) -> str | None:
    return None if isinstance(value, str) else "must be a string"


def _matching(pattern: Any, what: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        ok = isinstance(value, str) and pattern.fullmatch(value)
        return None if ok else f"must be {what}"
    return check


def _verdict(value: object) -> str | None:
    ok = isinstance(value, str) and value in SYMBOLS
    return None if ok else f"must be one of {', '.join(SYMBOLS)}"


def _timings(value: object) -> str | None:
    ok = isinstance(value, dict) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in value.values())
    return None if ok else "must map stages to seconds"


def _findings(value: object) -> str | None:
    ok = isinstance(value, list) and all(isinstance(f, dict) for f in value)
    return None if ok else "must be a list of objects"


FIELD_CHECKS: dict[str, Callable[[object], str | None]] = {
    "kernel": _matching(LINE_NAME, "a kernel line name"),
    "tutorial": _matching(NAME, "a scenario name"),
    "verdict": _verdict, "reason": _text, "stage": _text, "timings": _timings,
    "evidence": _text, "expected": _text, "observed": _text, "findings": _findings,
    "userland": _text, "toolchain": _text, "arch": _arch,
}


def merge(cells: Iterable[Cell]) -> list[Cell]:
    """One cell per (kernel, tutorial); a later one replaces an earlier one."""
    merged = {(c.kernel, c.tutorial): c for c in cells}
    return list(merged.values())


def _kernel_key(target: str) -> tuple[tuple[int, ...], bool, str]:
    """Lines oldest first, each line's x86_64 column before its other architectures'."""
    line, arch = split_target(target)
    version = tuple(int(p) if p.isdigit() else 0 for p in line.replace("x", "0").split("."))
    return version, arch != DEFAULT_ARCH, arch.name


def column_title(target: str, targets: Sequence[str]) -> str:
    """`Linux 6.1`; `Linux 6.1 (arm64)`, and `(x86_64)` too when a table has both."""
    line, arch = split_target(target)
    mixed = any(split_target(other)[1] != DEFAULT_ARCH for other in targets)
    return f"Linux {line} ({arch.name})" if mixed else f"Linux {line}"


def markdown(cells: Sequence[Cell]) -> str:
    """A tutorial x kernel table, then the reason for every cell that is not a pass."""
    kernels = sorted({c.kernel for c in cells}, key=_kernel_key)
    tutorials = sorted({c.tutorial for c in cells})
    by_key = {(c.kernel, c.tutorial): c for c in cells}
    lines = ["| tutorial | " + " | ".join(column_title(k, kernels) for k in kernels) + " |",
             "|---|" + "---|" * len(kernels)]
    for tutorial in tutorials:
        row = [SYMBOLS[by_key[(k, tutorial)].verdict] if (k, tutorial) in by_key else "not run"
               for k in kernels]
        lines.append(f"| `{tutorial}` | " + " | ".join(row) + " |")
    notes = [c for c in sorted(cells, key=lambda c: (c.tutorial, _kernel_key(c.kernel)))
             if c.verdict != PASS]
    if notes:
        lines += ["", "| tutorial | kernel | verdict | reason |", "|---|---|---|---|"]
        lines += [f"| `{c.tutorial}` | {c.kernel} | {c.verdict} | {table_cell(c.reason)} |"
                  for c in notes]
    return "\n".join(lines + userland_notes(cells)) + "\n"


def userland_notes(cells: Sequence[Cell]) -> list[str]:
    """What each cell was built with: one row per guest userland and toolchain, with
    its tutorials and kernel lines (cells of older columns, which do not say, are
    left out)."""
    used: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        if cell.userland:
            used.setdefault((cell.userland, cell.toolchain), []).append(cell)
    if not used:
        return []
    rows = ["", "| guest userland | toolchain | tutorials | kernels |", "|---|---|---|---|"]
    for (userland, toolchain), of in sorted(used.items()):
        tutorials = ", ".join(f"`{name}`" for name in sorted({c.tutorial for c in of}))
        kernels = ", ".join(sorted({c.kernel for c in of}, key=_kernel_key))
        rows.append(f"| {table_cell(userland)} | {table_cell(toolchain)} | {tutorials} | "
                    f"{kernels} |")
    return rows


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

"""Pieces of the benchmark's Markdown: the run's context, seconds, table rows."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from measured import Series, spread


@dataclass(frozen=True)
class Context:
    date: str
    command: str
    line: str
    release: str
    accel: str
    accel_reason: str
    repeat: int
    machine: dict[str, str]
    qemu: str
    vng: str
    prepare: float
    bare_command: str
    build_cache: bool
    cold_builds: bool = False


def seconds(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def row_cells(values: Sequence[float]) -> list[str]:
    if not values:
        return ["—", "—"]
    middle, low, high = spread(values)
    return [f"{seconds(middle)} s", f"{seconds(low)}–{seconds(high)}"]


def summary_row(series: Series) -> str:
    ratio = (f"{statistics.median(series.lab) / statistics.median(series.bare):.2f}"
             if series.lab and series.bare else "—")
    cells = [series.work, *row_cells(series.lab), *row_cells(series.bare), ratio]
    return "| " + " | ".join(cells) + " |"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows)]

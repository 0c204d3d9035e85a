"""Tabular output read back as rows of named cells (pure logic).

ecli prints a header of upper-cased field names and then one line per event;
so do bcc tools and many user-space loaders. A header is a line whose words
include every column an expectation names; each later line, until the next
header, is a row of it. A row is split on runs of spaces into as many cells as
the header has words, the last cell keeping the rest of the line (spaces in a
final COMM or FILENAME survive; a space inside an earlier cell would shift
the cells after it, so such columns are matched by `lines` instead).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

Cells = dict[str, str]


@dataclass(frozen=True)
class TableLine:
    index: int        # in the capture
    cells: Cells


def is_header(line: str, columns: Collection[str]) -> bool:
    return bool(columns) and set(columns) <= set(line.split())


def rows(capture: Sequence[str], columns: Collection[str]) -> list[TableLine]:
    """Every row of the capture under a header naming all the columns."""
    found: list[TableLine] = []
    header: list[str] | None = None
    for index, line in enumerate(capture):
        if is_header(line, columns):
            header = line.split()
        elif header is not None and line.strip():
            found.append(TableLine(index, cells(line, header)))
    return found


def cells(line: str, header: Sequence[str]) -> Cells:
    return dict(zip(header, line.split(None, len(header) - 1), strict=False))


def shown(cells: Cells, columns: Sequence[str]) -> str:
    """The row's cells of those columns, as COLUMN=value (a missing cell as -)."""
    return " ".join(f"{column}={cells.get(column, '-')}" for column in columns)

"""A tutorial series' compatibility table: one row per chapter, its verdict on each
kernel line, the minimum line observed and the minimum the chapter declares
(pure logic: the command gives it the report's cells and the chapters).

The observed minimum is the oldest line from which every newer line passes: what
a reader on that kernel or newer can count on. When the oldest line the lab
boots passes too, the true minimum may be older still (`≤ 5.10`). A chapter
whose declared minimum is at or below a line it did not pass on is marked ⚠️:
the chapter claims more than the lab saw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lab.arches import DEFAULT_ARCH, Arch, split_target
from lab.guest_text import table_cell
from lab.verdicts.verdict import (
    EXPECTED_INCOMPATIBLE,
    FAIL,
    KNOWN_DRIFT,
    NOT_RUNNABLE,
    PASS,
    SYMBOLS,
    Cell,
)

NOT_RUN = "not run"
NONE = "none"
UNKNOWN = "unknown"  # the newest line was not run
CONTRADICTED = "⚠️"
LEGEND = (f"Observed minimum: the oldest line from which every newer line passes; "
          f"{CONTRADICTED}: the chapter declares a minimum at or below a line it did not pass on.")


@dataclass(frozen=True)
class ChapterRow:
    """What the table shows of one chapter besides its cells."""

    tutorial: str  # the scenario's name, the `tutorial` of its cells
    chapter: str  # its directory in the series' sources
    number: int
    declared: str  # the declared minimum as shown, plain text (lab.scenario.chapter_config)
    declared_version: tuple[int, ...] | None  # for the lab's architecture, if it gives one


def line_key(line: str) -> tuple[int, ...]:
    """A line's version (6.1-arm64: 6.1, its architecture aside), to sort and compare."""
    return tuple(int(part) for part in re.findall(r"\d+", split_target(line)[0]))


def observed_minimum(verdicts: Mapping[str, str], lines: Sequence[str]) -> str | None:
    """lines: oldest first. The oldest line from which every newer line passes; None
    when the newest line does not (or was not run)."""
    found = None
    for line in reversed(lines):
        if verdicts.get(line) not in (PASS, KNOWN_DRIFT):  # the program works there
            break
        found = line
    return found


def contradicted(row: ChapterRow, verdicts: Mapping[str, str], lines: Sequence[str]) -> bool:
    """A line at or above the declared minimum where the chapter failed or is
    incompatible (a drift is the document's, not the kernel's)."""
    if row.declared_version is None:
        return False
    return any(verdicts.get(line) in (FAIL, EXPECTED_INCOMPATIBLE)
               and line_key(line) >= row.declared_version for line in lines)


def observed_cell(row: ChapterRow, verdicts: Mapping[str, str], lines: Sequence[str]) -> str:
    if not verdicts:
        return NOT_RUN
    if NOT_RUNNABLE in verdicts.values():
        return SYMBOLS[NOT_RUNNABLE]
    found = observed_minimum(verdicts, lines)
    if found is None:
        text = NONE if lines[-1] in verdicts else UNKNOWN  # the newest line decides
    else:
        version = split_target(found)[0]  # the column says the architecture
        text = f"≤ {version}" if found == lines[0] else version
    return f"{text} {CONTRADICTED}" if contradicted(row, verdicts, lines) else text


def chapter_cell(row: ChapterRow) -> str:
    """`14-tcpstates`, or `minimal` (1-helloworld) for a tutorial named otherwise."""
    return f"`{row.chapter}`" if row.tutorial == row.chapter else \
        f"`{row.tutorial}` ({row.chapter})"


def series_table(rows: Iterable[ChapterRow], cells: Iterable[Cell], lines: Sequence[str],
                 arch: Arch = DEFAULT_ARCH) -> str:
    """The Markdown table of these chapters on these kernel lines (oldest first),
    sorted by chapter number, then each cell that is not a pass with its reason
    (one note for the lines where a chapter has the same verdict and reason)."""
    ordered = sorted(rows, key=lambda r: (r.number, r.chapter))
    names = {row.tutorial for row in ordered}
    verdicts: dict[str, dict[str, Cell]] = {name: {} for name in names}
    for cell in cells:
        if cell.tutorial in names and cell.kernel in lines:
            verdicts[cell.tutorial][cell.kernel] = cell
    named = "" if arch == DEFAULT_ARCH else f" ({arch.name})"
    out = ["| chapter | " + " | ".join(f"Linux {split_target(line)[0]}{named}" for line in lines)
           + " | observed minimum | declared minimum |",
           "|---|" + "---|" * (len(lines) + 2)]
    for row in ordered:
        seen = {line: cell.verdict for line, cell in verdicts[row.tutorial].items()}
        shown = [SYMBOLS[seen[line]] if line in seen else NOT_RUN for line in lines]
        out.append(f"| {chapter_cell(row)} | " + " | ".join(shown)
                   + f" | {observed_cell(row, seen, lines)} | {row.declared} |")
    out += ["", LEGEND]
    notes = _notes(ordered, verdicts, lines)
    if notes:
        out += ["", "| chapter | kernel | verdict | reason |", "|---|---|---|---|", *notes]
    return "\n".join(out) + "\n"


def _notes(rows: Sequence[ChapterRow], verdicts: Mapping[str, Mapping[str, Cell]],
           lines: Sequence[str]) -> list[str]:
    notes = []
    for row in rows:
        grouped: dict[tuple[str, str], list[str]] = {}
        for line in lines:
            cell = verdicts[row.tutorial].get(line)
            if cell is not None and cell.verdict != PASS:
                grouped.setdefault((cell.verdict, cell.reason), []).append(line)
        notes += [f"| {chapter_cell(row)} | {', '.join(on)} | {verdict} | {table_cell(reason)} |"
                  for (verdict, reason), on in grouped.items()]
    return notes

"""Check a captured trace against a scenario's expectations (pure logic).

Each expectation is checked once per record of a workload step: its line
templates, with ${field} replaced by that record's value (regex-escaped), must
match lines of the capture, in order unless the expectation says otherwise.
Its rows instead name cells of a table (lab.verdicts.table): a row matches a line under
a header with those columns whose cells equal the values, ${field} filled in.
An `absent` expectation is the opposite: no line or row may match, for any
record (a filter that must leave a process out).
An empty record list fails: an expectation with nothing to check proves nothing.
A failure names the record, the line or row that is missing (or present), and
the captured lines that have the right shape but other values (a wrong pid, a
wrong return value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lab.verdicts import table
from lab.verdicts.expectation import TEMPLATE_FIELD, Expectation, Row

Record = Mapping[str, str]
NEAR_MISSES = 3


@dataclass(frozen=True)
class ExpectationResult:
    expectation: Expectation
    problems: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.problems


def expand(template: str, record: Record) -> str:
    """The template with each ${field} replaced by the record's value, escaped."""
    return TEMPLATE_FIELD.sub(lambda m: re.escape(str(record[m.group(1)])), template)


def expand_cell(template: str, record: Record) -> str:
    """A row's cell value with each ${field} replaced by the record's value, as text."""
    return TEMPLATE_FIELD.sub(lambda m: str(record[m.group(1)]), template)


def shape(template: str) -> str:
    """The template with every ${field} a wildcard: finds lines with other values."""
    return TEMPLATE_FIELD.sub(lambda m: "(?:.*?)", template)  # unnamed: a field may repeat


def evaluate(expectation: Expectation, records: Sequence[Record],
             capture: Sequence[str]) -> ExpectationResult:
    if not records:
        return ExpectationResult(expectation, (
            f"the workload recorded no {expectation.for_each!r}: nothing to check",))
    check = _Check(expectation, capture)
    problems = [p for p in map(check.record, records) if p]
    return ExpectationResult(expectation, tuple(problems))


def evaluate_all(expectations: Sequence[Expectation], records: Mapping[str, Sequence[Record]],
                 capture_text: str) -> list[ExpectationResult]:
    capture = capture_text.splitlines()
    return [evaluate(e, records.get(e.for_each, ()), capture) for e in expectations]


class _Check:
    """One expectation over one capture; the capture's table is read once."""

    def __init__(self, expectation: Expectation, capture: Sequence[str]) -> None:
        self.expectation = expectation
        self.capture = capture
        self.columns = list(dict.fromkeys(c for row in expectation.rows for c, _ in row))
        self.rows = table.rows(capture, self.columns) if expectation.rows else []

    def record(self, record: Record) -> str | None:
        if self.expectation.absent:
            return self._absent(record)
        start = 0
        for item in self.expectation.lines or self.expectation.rows:
            index = self._first(item, record, start)
            if index is None:
                kind = "line" if isinstance(item, str) else "row"
                after = f" after the previous {kind}" if start and self.expectation.in_order \
                    else ""
                return f"{_describe(record)}: no {self._what(item, record)}{after}" \
                    + self._near_misses(item, record)
            if self.expectation.in_order:
                start = index + 1
        return None

    def _absent(self, record: Record) -> str | None:
        for item in self.expectation.lines or self.expectation.rows:
            index = self._first(item, record, 0)
            if index is not None:
                return (f"{_describe(record)}: {self._what(item, record)} must not appear, "
                        f"but capture line {index + 1} is {self.capture[index].strip()!r}")
        return None

    def _first(self, item: str | Row, record: Record, start: int) -> int | None:
        if isinstance(item, str):
            pattern = re.compile(expand(item, record))
            return next((i for i in range(start, len(self.capture))
                         if pattern.search(self.capture[i])), None)
        wanted = {column: expand_cell(value, record) for column, value in item}
        return next((row.index for row in self.rows if row.index >= start
                     and all(row.cells.get(c) == v for c, v in wanted.items())), None)

    def _what(self, item: str | Row, record: Record) -> str:
        if isinstance(item, str):
            return f"line matches {expand(item, record)!r}"
        return "row with " + ", ".join(f"{c} == {expand_cell(v, record)}" for c, v in item)

    def _near_misses(self, item: str | Row, record: Record) -> str:
        if isinstance(item, str):
            loose = re.compile(shape(item))
            near = [line.strip() for line in self.capture if loose.search(line)][:NEAR_MISSES]
            return "; lines of that shape: " + " | ".join(near) if near \
                else "; no captured line has that shape"
        if not self.rows:
            return f"; no header line names the columns {', '.join(self.columns)}"
        wanted = [(c, expand_cell(v, record)) for c, v in item]
        scored = [(sum(row.cells.get(c) == v for c, v in wanted), row) for row in self.rows]
        best = sorted((s for s in scored if s[0]), key=lambda s: -s[0])[:NEAR_MISSES]
        if not best:
            return "; no row agrees on any of those columns"
        columns = [c for c, _ in wanted]
        return "; closest rows: " + " | ".join(table.shown(row.cells, columns) for _, row in best)


def _describe(record: Record) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in record.items()) + "}"

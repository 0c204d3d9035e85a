"""Check a captured trace against a scenario's expectations (pure logic).

Each expectation is checked once per record of a workload step: its line
templates, with ${field} replaced by that record's value (regex-escaped), must
match lines of the capture, in order unless the expectation says otherwise.
An empty record list fails: an expectation with nothing to check proves nothing.
A failure names the record, the line that is missing, and the captured lines
that have the right shape but other values (a wrong pid, a wrong return value).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lab.scenario import TEMPLATE_FIELD, Expectation

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


def shape(template: str) -> str:
    """The template with every ${field} a wildcard: finds lines with other values."""
    return TEMPLATE_FIELD.sub(lambda m: "(?:.*?)", template)  # unnamed: a field may repeat


def evaluate(expectation: Expectation, records: Sequence[Record],
             capture: Sequence[str]) -> ExpectationResult:
    if not records:
        return ExpectationResult(expectation, (
            f"the workload recorded no {expectation.for_each!r}: nothing to check",))
    problems = []
    for record in records:
        problem = _check_record(expectation, record, capture)
        if problem:
            problems.append(problem)
    return ExpectationResult(expectation, tuple(problems))


def evaluate_all(expectations: Sequence[Expectation], records: Mapping[str, Sequence[Record]],
                 capture_text: str) -> list[ExpectationResult]:
    capture = capture_text.splitlines()
    return [evaluate(e, records.get(e.for_each, ()), capture) for e in expectations]


def _check_record(expectation: Expectation, record: Record, capture: Sequence[str]) -> str | None:
    start = 0
    for template in expectation.lines:
        pattern = re.compile(expand(template, record))
        index = _first_match(pattern, capture, start)
        if index is None:
            after = " after the previous line" if start and expectation.in_order else ""
            return (f"{_describe(record)}: no line matches {pattern.pattern!r}{after}"
                    + _near_misses(template, capture))
        if expectation.in_order:
            start = index + 1
    return None


def _first_match(pattern: re.Pattern[str], capture: Sequence[str], start: int) -> int | None:
    for index in range(start, len(capture)):
        if pattern.search(capture[index]):
            return index
    return None


def _near_misses(template: str, capture: Sequence[str]) -> str:
    loose = re.compile(shape(template))
    near = [line.strip() for line in capture if loose.search(line)][:NEAR_MISSES]
    if not near:
        return "; no captured line has that shape"
    return "; lines of that shape: " + " | ".join(near)


def _describe(record: Record) -> str:
    return "{" + ", ".join(f"{k}={v!r}" for k, v in record.items()) + "}"

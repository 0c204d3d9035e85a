"""How much of a document's shown output got a verdict: the static check's coverage.

A documented output line is a non-blank line of a block that shows no file of
the program and is not code: the lines after a shell prompt, or a whole block
without prompts that is not a list of commands or prose. Each such line has a
verdict when the check confirmed it or made a finding at it; the rest are lines
the check passed over in silence, which is what this measures.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lab.docs.attribution import looks_like_code
from lab.docs.shown_output import output_lines
from lab.docs.static_check import DocCheck

CONFIRMED = "confirmed"


@dataclass
class Coverage:
    document: str
    lines: list[int] = field(default_factory=list)           # documented output lines
    verdicts: dict[int, str] = field(default_factory=dict)   # line -> verdict kind

    @property
    def judged(self) -> int:
        return sum(1 for line in self.lines if line in self.verdicts)

    @property
    def by_kind(self) -> Counter[str]:
        return Counter(self.verdicts[line] for line in self.lines if line in self.verdicts)

    @property
    def share(self) -> float:
        return self.judged / len(self.lines) if self.lines else 1.0


def coverage(check: DocCheck) -> Coverage:
    result = Coverage(check.label)
    shown = {a.code.line for a in check.attributions if a.source is not None or a.skipped}
    for code in check.document.codes:
        if code.line not in shown and not looks_like_code(code):
            result.lines += output_lines(code)
    verdicts = {c.line: CONFIRMED for c in check.confirmations}
    verdicts.update({f.line: f.kind for f in check.findings})
    result.verdicts = {line: verdicts[line] for line in result.lines if line in verdicts}
    return result

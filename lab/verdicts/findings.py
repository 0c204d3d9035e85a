"""What a document check found: problems (findings) and what it confirmed.

A finding names the document and line it is about, so every report can cite
`README.md:145`. Errors are drift (the document shows what the program does
not do); warnings are true but do not make the document wrong (a truncated
sample, an image nobody can check, a sample the lab cannot read); notes are
for the reader of the report (white space or an excerpt's gaps, which the
reader does not see as a difference; a line only a run can check).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

ERROR, WARNING, NOTE = "error", "warning", "note"

# kind -> severity
KINDS = {
    "code-drift": ERROR,       # a block that shows a file differs from it
    "unknown-file": ERROR,     # a block is said to show a file the program does not have
    "unproducible": ERROR,     # no format string in the program can print a documented line
    "output-drift": ERROR,     # a documented line has no counterpart of its shape in the run
    "relation": ERROR,         # counterparts exist, but not with the sample's pid relations
    "no-capture": ERROR,       # the run captured nothing to compare the sample with
    "code-partial": WARNING,   # a block shows most of a file, not all of it
    "unmatched-block": WARNING,  # a code block that shows no file of the program
    "truncated": WARNING,      # a sample line cut at a terminal's width: matched as a prefix
    "not-checkable": WARNING,  # output shown only as an image
    "unparsable-sample": WARNING,  # a documented output line the lab cannot read
    "code-whitespace": NOTE,   # a block equals its file but for tabs, indentation, spacing
    "code-excerpt": NOTE,      # a block shows its file's lines in order, some left out
    "not-static": NOTE,        # a documented output line only a run can check (the reason)
    "no-sample": NOTE,         # the document shows no output sample at all
}


@dataclass(frozen=True)
class Finding:
    file: str       # the document, as the user named it
    line: int
    kind: str
    message: str
    detail: str = ""  # a unified diff, the observed line in full, ...

    @property
    def severity(self) -> str:
        return KINDS[self.kind]

    def text(self) -> str:
        head = f"{self.file}:{self.line}: {self.severity}: [{self.kind}] {self.message}"
        return head + ("\n" + self.detail.rstrip() if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "severity": self.severity}


@dataclass(frozen=True)
class Confirmation:
    """Something the check found true: a block equal to a file, a line observed."""

    file: str
    line: int
    what: str

    def text(self) -> str:
        return f"{self.file}:{self.line}: ok: {self.what}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def drifts(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that make a document wrong (its cell's drift verdict)."""
    return [f for f in findings if f.severity == ERROR]


def summary(findings: Iterable[Finding]) -> str:
    """One line for a report cell: "2 drift(s): README.md:20 code-drift, ..."."""
    errors = drifts(findings)
    if not errors:
        return "document matches"
    shown = ", ".join(f"{f.file}:{f.line} {f.kind}" for f in errors[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return f"{len(errors)} drift(s): {shown}{more}"

"""A code block against the file it shows: equal, an excerpt, or drift (a diff).

Lines are compared without trailing whitespace, and blank lines at either end
do not count. A block that is a run of the file's lines is an excerpt (a
tutorial walking through its program piece by piece); one that shows most of
the file but not all of it is reported, since a listing that lost its last
function reads as an excerpt too. Anything else is drift, shown as a unified
diff whose `+` side is numbered as the document's lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher, unified_diff

from lab.verdicts.findings import Confirmation, Finding

PARTIAL = 0.5   # an excerpt this large is taken for a listing that lost lines
HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


@dataclass(frozen=True)
class Shown:
    """A block's lines as shown in the document."""

    document: str
    first: int            # the document line of lines[0] (after leading blank lines)
    lines: list[str]


def shown(document: str, first: int, content: str) -> Shown:
    lines = [line.rstrip() for line in content.splitlines()]
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    return Shown(document, first + start, _trim(lines[start:]))


def _trim(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines = lines[1:]
    return lines


def compare(block: Shown, label: str, file_text: str) -> tuple[list[Finding], list[Confirmation]]:
    """Findings and confirmations for a block said to show the file `label`."""
    file = _trim(file_text.splitlines())
    where = f"{block.document}:{block.first}"
    if block.lines == file:
        return [], [Confirmation(block.document, block.first,
                                 f"block equals {label} ({len(file)} lines)")]
    start = _window(block.lines, file)
    if start is not None:
        end = start + len(block.lines)
        what = f"block equals lines {start + 1}-{end} of {label}"
        if len(block.lines) >= PARTIAL * len(file):
            missing = _missing(start, end, len(file))
            return [Finding(block.document, block.first, "code-partial",
                            f"the block at {where} shows {label} without {missing}",
                            "\n".join(_diff(file, block.lines, 0, label, block)))], []
        return [], [Confirmation(block.document, block.first, what + " (an excerpt)")]
    offset, target = _best_region(block.lines, file)
    diff = _diff(target, block.lines, offset, label, block)
    first_changed = _first_changed_line(diff, block.first)
    what = label if offset == 0 and len(target) == len(file) else \
        f"{label} lines {offset + 1}-{offset + len(target)}"
    changed = sum(1 for line in diff if line.startswith(("+", "-"))
                  and not line.startswith(("+++", "---")))
    return [Finding(block.document, first_changed, "code-drift",
                    f"the block at {where} differs from {what} ({changed} changed lines)",
                    "\n".join(diff))], []


def _window(block: Sequence[str], file: Sequence[str]) -> int | None:
    size = len(block)
    for start in range(len(file) - size + 1):
        if list(file[start:start + size]) == list(block):
            return start
    return None


def _missing(start: int, end: int, total: int) -> str:
    parts = []
    if start:
        parts.append(f"lines 1-{start}" if start > 1 else "line 1")
    if end < total:
        parts.append(f"lines {end + 1}-{total}" if end + 1 < total else f"line {total}")
    return " and ".join(parts)


def _best_region(block: Sequence[str], file: Sequence[str]) -> tuple[int, list[str]]:
    """The whole file, or for a block much shorter than it, the run of the file's
    lines the block is most like (an excerpt that drifted)."""
    if len(block) >= PARTIAL * len(file):
        return 0, list(file)
    size = len(block)
    windows = ["\n".join(line.strip() for line in file[start:start + size])
               for start in range(max(1, len(file) - size + 1))]
    # The block is the matcher's second sequence, indexed once for every window.
    # Windows are scored in order of a cheap upper bound of their score
    # (quick_ratio >= ratio): once the bound falls below the best score, no later
    # window can beat it. The result is the first window of the highest score,
    # as scoring every one in turn gives, in a fraction of the time (a 1000-line
    # file took minutes when each window's character diff was computed in full).
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2("\n".join(line.strip() for line in block))
    bounds = []
    for start, window in enumerate(windows):
        matcher.set_seq1(window)
        bounds.append((matcher.quick_ratio(), start))
    best, best_score = 0, -1.0
    for bound, start in sorted(bounds, key=lambda found: (-found[0], found[1])):
        if bound < best_score:
            break
        if bound == best_score and start > best:
            continue
        matcher.set_seq1(windows[start])
        score = matcher.ratio()
        if score > best_score or (score == best_score and start < best):
            best, best_score = start, score
    return best, list(file[best:best + size])


def _diff(file: Sequence[str], block: Sequence[str], offset: int, label: str,
          shown_block: Shown) -> list[str]:
    diff = list(unified_diff(list(file), list(block), label,
                             f"{shown_block.document} (the block)", lineterm="", n=2))
    return [_renumber(line, offset, shown_block.first - 1) for line in diff]


def _renumber(line: str, file_offset: int, doc_offset: int) -> str:
    """Hunk headers in file lines (-) and document lines (+)."""
    match = HUNK.match(line)
    if not match:
        return line
    minus = f"-{int(match[1]) + file_offset}{match[2] or ''}"
    plus = f"+{int(match[3]) + doc_offset}{match[4] or ''}"
    return f"@@ {minus} {plus} @@" + line[match.end():]


def _first_changed_line(diff: Sequence[str], default: int) -> int:
    """The document line of the first line the block adds or changes."""
    line = None
    for text in diff:
        match = HUNK.match(text)
        if match:
            line = int(match[3])
            continue
        if line is None or text.startswith(("+++", "---")):
            continue
        if text.startswith(("+", "-")):
            return line
        line += 1
    return default

"""A code block against the file it shows: equal, an excerpt, or drift (a diff).

Lines are compared without trailing whitespace, and blank lines at either end
do not count. A block that is a run of the file's lines is an excerpt (a
tutorial walking through its program piece by piece); one that shows most of
the file but not all of it is reported, since a listing that lost its last
function reads as an excerpt too. A block whose lines differ from the file's
only in white space (tabs against spaces, indentation) is a note, as is one
that shows the file's lines in order with some left out (gaps, dropped
comments, `...` marks) or with comment lines of its own added (an explanation
the file does not carry): the reader still sees the program. Anything else is
drift, shown as a unified diff whose `+` side is numbered as the document's
lines, found at the first line the block really changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher, unified_diff

from lab.docs.attribution import without_comment
from lab.verdicts.findings import Confirmation, Finding

PARTIAL = 0.5   # an excerpt this large is taken for a listing that lost lines
HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")
TELLING_LINE = 12  # a shared line this long places a drifted excerpt in its file
TELLING_RUN = 3    # as do this many shared lines in a row
ELISION = re.compile(r"^(?://|#|/\*|\*)?\s*(?:\.\.\.|…)")
# A line that is a comment and nothing else: `// ...`, `/* ... */`, a ` * ` line
# of a block comment, a shell's or Python's `# ...` (not C's `#include`).
COMMENT_LINE = re.compile(r"^(?://|/\*|\*/|\*(?:\s|$)|#(?:\s|$))")


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
    laid_out = _whitespace_only(block, label, file)
    if laid_out is not None:
        return [laid_out], []
    excerpt = _gapped_excerpt(block, label, file)
    if excerpt is not None:
        return [excerpt], []
    return [_drift(block, label, file)], []


def key(line: str) -> str:
    """A line as a reader reads it: its words, whatever white space lays them out,
    without a comment added after its code (`f(x)  # in the reader's language`)."""
    return " ".join(without_comment(line).split())


def _whitespace_only(block: Shown, label: str, file: Sequence[str]) -> Finding | None:
    keys, file_keys = [key(line) for line in block.lines], [key(line) for line in file]
    start = 0 if keys == file_keys else _window(keys, file_keys)
    if start is None:
        return None
    end = start + len(keys)
    what = label if (start, end) == (0, len(file)) else f"lines {start + 1}-{end} of {label}"
    if what != label and len(keys) >= PARTIAL * len(file):  # a listing that lost lines
        what += f" (the file without {_missing(start, end, len(file))})"
    first = next(i for i, (shown_line, file_line)
                 in enumerate(zip(block.lines, file[start:end], strict=True))
                 if shown_line != file_line)
    return Finding(block.document, block.first + first, "code-whitespace",
                   f"the block at {block.document}:{block.first} equals {what} but for white "
                   f"space or trailing comments ({_layout(block.lines, file[start:end])}): "
                   "the reader sees the same code")


def _layout(shown_lines: Sequence[str], file: Sequence[str]) -> str:
    """What differs: tabs against spaces, comments, or the indentation."""
    if [without_comment(line) for line in shown_lines] != list(shown_lines):
        return "a comment after the code"
    tabs = any("\t" in line for line in file) != any("\t" in line for line in shown_lines)
    return "tabs against spaces" if tabs else "indentation or spacing"


def is_elision(line: str) -> bool:
    """`...`, `// ...`, `/* ... */`, `# ...`: a mark that lines were left out."""
    return ELISION.match(key(line)) is not None


def is_comment_only(line: str) -> bool:
    return COMMENT_LINE.match(key(line)) is not None


def _gapped_excerpt(block: Shown, label: str, file: Sequence[str]) -> Finding | None:
    """The block's lines, `...` marks, blank lines and comment lines of its own
    aside, in order among the file's (white space aside): an excerpt that leaves
    lines out, or explains them with comments the file does not have."""
    file_keys = {key(line) for line in file}
    added = [line.strip() for line in block.lines
             if is_comment_only(line) and not is_elision(line) and key(line) not in file_keys]
    wanted = [key(line) for line in block.lines
              if key(line) and not is_elision(line) and line.strip() not in added]
    have = [(index, key(line)) for index, line in enumerate(file) if key(line)]
    span = _tightest_subsequence(wanted, have)
    if span is None:
        return None
    matched, (low, high) = span
    left_out = [file[i] for i, k in have if low <= i <= high and i not in matched]
    comments = (f"{len(added)} comment line(s) of its own added (e.g. `{added[0]}`)"
                if added else "")
    if not left_out:  # only blank lines, white space or comments differ
        return Finding(block.document, block.first, "code-excerpt" if added else "code-whitespace",
                       f"the block at {block.document}:{block.first} equals lines "
                       f"{low + 1}-{high + 1} of {label} but for "
                       + (f"{comments}; " if added else "") + "white space and blank lines")
    marked = any(is_elision(line) for line in block.lines)
    how = "marked with `...`" if marked else "without a mark"
    return Finding(block.document, block.first, "code-excerpt",
                   f"the block at {block.document}:{block.first} is an excerpt of {label} "
                   f"lines {low + 1}-{high + 1}: {len(left_out)} of its lines left out {how} "
                   f"(e.g. `{left_out[0].strip()}`)" + (f", {comments}" if added else "")
                   + "; every line of code it shows is the file's")


def _tightest_subsequence(wanted: Sequence[str], have: Sequence[tuple[int, str]]
                          ) -> tuple[set[int], tuple[int, int]] | None:
    """The file lines that show `wanted` in order, over the shortest span, if any."""
    if not wanted:
        return None
    best: tuple[set[int], tuple[int, int]] | None = None
    for start, (_, first) in enumerate(have):
        if first != wanted[0]:
            continue
        matched, position = [], start
        for line in wanted:
            while position < len(have) and have[position][1] != line:
                position += 1
            if position == len(have):
                return best  # later starts cannot match either
            matched.append(have[position][0])
            position += 1
        span = (matched[0], matched[-1])
        if best is None or span[1] - span[0] < best[1][1] - best[1][0]:
            best = (set(matched), span)
    return best


def _drift(block: Shown, label: str, file: Sequence[str]) -> Finding:
    where = f"{block.document}:{block.first}"
    offset, target = _best_region(block.lines, file)
    diff = _diff(target, block.lines, offset, label, block)
    first_changed = _first_changed_line(diff, block.first)
    what = label if offset == 0 and len(target) == len(file) else \
        f"{label} lines {offset + 1}-{offset + len(target)}"
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    left_out = sum(1 for line in diff if line.startswith("-") and not line.startswith("---"))
    gaps = f", {left_out} of its lines left out" if left_out else ""
    code = [line for line in added if not is_comment_only(line[1:])] or added
    example = f": `{code[0][1:].strip()}`" if code else ""
    return Finding(block.document, first_changed, "code-drift",
                   f"the block at {where} differs from {what}, white space aside: "
                   f"{len(added)} line(s) the file does not have{gaps}; the first at line "
                   f"{first_changed}{example}", "\n".join(diff))


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
    """The whole file, or for a block much shorter than it, the file's lines from
    the first to the last telling line the block shares with it (an excerpt that
    drifted, gaps and all)."""
    if len(block) >= PARTIAL * len(file):
        return 0, list(file)
    keys, file_keys = [key(line) for line in block], [key(line) for line in file]
    matcher = SequenceMatcher(None, file_keys, keys, autojunk=False)
    hits = [m for m in matcher.get_matching_blocks() if m.size >= TELLING_RUN or any(
        len(k) >= TELLING_LINE for k in file_keys[m.a:m.a + m.size])]
    if not hits:  # every line changed: the run of the file's lines it is most like
        start = _most_like(block, file)
        return start, list(file[start:start + len(block)])
    low, high = hits[0].a, hits[-1].a + hits[-1].size
    return low, list(file[low:high])


def _most_like(block: Sequence[str], file: Sequence[str]) -> int:
    """Where the run of len(block) file lines most like the block (characters, white
    space aside) starts; the first of the best. Windows are scored in order of a
    cheap upper bound of their score (quick_ratio >= ratio), stopping once none
    can win: the same window as scoring each in turn, in a fraction of the time."""
    size = len(block)
    windows = ["\n".join(line.strip() for line in file[start:start + size])
               for start in range(max(1, len(file) - size + 1))]
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
    return best


class _Keyed(str):
    """A line that diffs by its key (white space aside) and prints as written."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and key(self) == key(other)

    def __hash__(self) -> int:
        return hash(key(self))


def _diff(file: Sequence[str], block: Sequence[str], offset: int, label: str,
          shown_block: Shown) -> list[str]:
    diff = list(unified_diff([_Keyed(line) for line in file], [_Keyed(line) for line in block],
                             label, f"{shown_block.document} (the block)", lineterm="", n=2))
    return [_renumber(str(line), offset, shown_block.first - 1) for line in diff]


def _renumber(line: str, file_offset: int, doc_offset: int) -> str:
    """Hunk headers in file lines (-) and document lines (+)."""
    match = HUNK.match(line)
    if not match:
        return line
    minus = f"-{int(match[1]) + file_offset}{match[2] or ''}"
    plus = f"+{int(match[3]) + doc_offset}{match[4] or ''}"
    return f"@@ {minus} {plus} @@" + line[match.end():]


def _first_changed_line(diff: Sequence[str], default: int) -> int:
    """The document line of the first line of code the block adds or changes; a
    block that only leaves lines out, the first place it does; one that only
    adds comments, the first of them."""
    line, first_gap, first_comment = None, None, None
    for text in diff:
        match = HUNK.match(text)
        if match:
            line = int(match[3])
            continue
        if line is None or text.startswith(("+++", "---")):
            continue
        if text.startswith("+") and is_comment_only(text[1:]):
            first_comment = line if first_comment is None else first_comment
        elif text.startswith("+"):
            return line
        elif text.startswith("-"):
            first_gap = line if first_gap is None else first_gap
            continue
        line += 1
    for found in (first_gap, first_comment):
        if found is not None:
            return found
    return default

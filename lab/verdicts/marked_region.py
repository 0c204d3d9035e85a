"""The region of a Markdown file that holds a generated table, between two marker
comments (invisible when rendered), so the table can be rewritten in place and a
copy that no longer matches its report can be caught (pure logic).

    <!-- lab: series-table bpf-developer-tutorial -->
    | chapter | Linux 5.10 | ...
    <!-- lab: end series-table -->
"""

from __future__ import annotations

from lab.errors import LabError

END = "<!-- lab: end series-table -->"


def begin_marker(series: str) -> str:
    return f"<!-- lab: series-table {series} -->"


def _bounds(text: str, series: str, where: str) -> tuple[list[str], int, int]:
    """The file's lines (with their ends) and the indexes of its two marker lines."""
    lines = text.splitlines(keepends=True)
    stripped = [line.strip() for line in lines]
    begin = begin_marker(series)
    starts = [i for i, line in enumerate(stripped) if line == begin]
    if len(starts) != 1:
        problem = "no" if not starts else f"{len(starts)}"
        raise LabError(f"{where}: {problem} line `{begin}`: the table goes between that line "
                       f"and `{END}`, each on a line of its own")
    ends = [i for i in range(starts[0] + 1, len(lines)) if stripped[i] == END]
    if not ends:
        raise LabError(f"{where}: no `{END}` after `{begin}`")
    return lines, starts[0], ends[0]


def marked(text: str, series: str, where: str) -> str:
    """What the region holds now, without its blank first and last lines."""
    lines, start, end = _bounds(text, series, where)
    return "".join(lines[start + 1:end]).strip("\n") + "\n"


def replaced(text: str, series: str, table: str, where: str) -> str:
    """text with the region holding table (set off by blank lines, as Markdown needs
    around a table); everything outside the markers is kept byte for byte."""
    lines, start, end = _bounds(text, series, where)
    body = "\n" + table.strip("\n") + "\n\n"
    return "".join(lines[:start + 1]) + body + "".join(lines[end:])


def drifted(text: str, series: str, table: str, where: str) -> bool:
    """Whether the region no longer holds this table."""
    return marked(text, series, where) != table.strip("\n") + "\n"

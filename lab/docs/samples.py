"""Output lines, documented or captured, parsed into their parts.

Two shapes of output appear in eBPF tutorials:
- ftrace lines from trace_pipe: `comm-pid [cpu] flags timestamp: event: message`
  (comm right-aligned to 16 columns by the kernel, often left-stripped in documents);
- tables printed by bcc scripts: a header (`TIME(s) COMM PID MESSAGE`) and rows,
  bytes shown as Python reprs (`b'ls'`).
The same parser reads a document's block and a run's capture, so both sides
are compared part by part: comm, pid, message; cpu, flags and times are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

FTRACE = re.compile(
    r"^(?P<comm>\s*\S.{0,15}?)-(?P<pid>\d+)\s+(?:\(\s*(?:\d+|-+)\)\s+)?\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[\w.]{3,6})\s+)?(?P<ts>\d+\.\d+):\s+(?P<event>[\w:.-]+):\s?(?P<msg>.*)$")
HEADER_WORD = re.compile(r"^[A-Z][A-Z0-9_]*(?:/[A-Z][A-Z0-9_]*)*(?:\([a-z]+\))?:?$")
ROW_TOKEN = re.compile(r"""b'(?:[^'\\]|\\.)*'?|b"(?:[^"\\]|\\.)*"?|\S+""")
PID_COLUMNS = ("PID", "TGID", "TID")
COMM_COLUMNS = ("COMM", "TASK")
MESSAGE_COLUMNS = ("MESSAGE", "MSG", "MESG")
VOLATILE_COLUMNS = ("TIME", "TS", "CPU", "LAT", "NS", "US", "MS", "DURATION")
TIME_UNIT_SUFFIXES = ("_NS", "_US", "_MS")  # ecli's columns from fields such as duration_ns
# Other processes' pids (a parent, a signal's target): pids too, so variables.
RELATED_PID_COLUMNS = ("PPID", "TPID", *PID_COLUMNS)
UNKNOWN_COMM = "<...>"


@dataclass(frozen=True)
class SampleLine:
    line: int          # 1-based line in the document or in the capture
    text: str
    kind: str          # "ftrace" or "table"
    comm: str | None
    pid: str | None
    message: str
    event: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # a table's other columns, compared as text
    cut: bool = False  # visibly cut: a bytes repr without its closing quote
    header: str = ""   # a table row's header line
    header_line: int = 0
    pid_columns: tuple[tuple[str, str], ...] = ()  # PPID and the like: other processes' pids


def parse_ftrace(text: str, line: int) -> SampleLine | None:
    match = FTRACE.match(text.rstrip("\r\n"))
    if not match:
        return None
    return SampleLine(line, text, "ftrace", match["comm"].strip(), match["pid"],
                      match["msg"], match["event"])


def is_header(text: str) -> bool:
    words = text.split()
    return (len(words) >= 2 and all(HEADER_WORD.match(w) for w in words)
            and any(w.rstrip(":") in PID_COLUMNS + COMM_COLUMNS for w in words))


def parse_row(text: str, line: int, header: str, header_line: int) -> SampleLine | None:
    tokens = list(ROW_TOKEN.finditer(text))
    names = row_columns(header, len(tokens))
    if names is None or text.lstrip().startswith(("$", "#", "^C")):
        return None
    values = [t.group() for t in tokens[:len(names) - 1]]
    values.append(text[tokens[len(names) - 1].start():].rstrip())
    comm = pid = None
    message, columns, pid_columns, cut = "", [], [], False
    for name, raw in zip(names, values, strict=True):
        value, was_cut = unbytes(raw)
        cut = cut or was_cut
        if name in PID_COLUMNS and pid is None:
            if not value.isdigit():
                return None
            pid = value
        elif name in COMM_COLUMNS:
            comm = value
        elif name in MESSAGE_COLUMNS:
            message = value
        elif name in RELATED_PID_COLUMNS and value.isdigit():
            pid_columns.append((name, value))
        elif not name.startswith(VOLATILE_COLUMNS) and not name.endswith(TIME_UNIT_SUFFIXES):
            columns.append((name, value))
    return SampleLine(line, text, "table", comm, pid, message, "", tuple(columns), cut,
                      header, header_line, tuple(pid_columns))


def row_columns(header: str, cells: int) -> list[str] | None:
    """The header's column names for a row of that many cells. A row with fewer
    cells than the header has words reads the header's last words as one column
    (libbpf-bootstrap's `FILENAME/EXIT CODE`), if a PID column comes before them."""
    names = [w.rstrip(":") for w in header.split()]
    if cells >= len(names):
        return names
    kept = names[:cells - 1] if cells >= 2 else []
    if not any(name in PID_COLUMNS for name in kept):
        return None
    return [*kept, " ".join(names[cells - 1:])]


def unbytes(value: str) -> tuple[str, bool]:
    """b'ls' -> ("ls", False); b'length of ar -> ("length of ar", True: cut)."""
    if len(value) >= 2 and value[0] == "b" and value[1] in "'\"":
        quote = value[1]
        body = value[2:]
        if body.endswith(quote) and not body.endswith("\\" + quote):
            return body[:-1], False
        return body, True
    return value, False


def parse_lines(lines: Sequence[str], first: int = 1) -> list[SampleLine]:
    """Every ftrace line and table row of a block or capture; line numbers from first."""
    found: list[SampleLine] = []
    header, header_line = "", 0
    for offset, text in enumerate(lines):
        number = first + offset
        ftrace = parse_ftrace(text, number)
        if ftrace:
            found.append(ftrace)
            continue
        if is_header(text):
            header, header_line = text, number
            continue
        row = parse_row(text, number, header, header_line) if header else None
        if row:
            found.append(row)
        elif text.strip():
            header = ""  # a table ends at a line that is not one of its rows
    return found


def parse_capture(text: str) -> list[SampleLine]:
    return parse_lines(text.splitlines())


def has_samples(lines: Sequence[str]) -> bool:
    return bool(parse_lines(lines))

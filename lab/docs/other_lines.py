"""A verdict for the documented output lines the trace-line check leaves: table
headers, rows of tables without a MESSAGE column, a loader's or a target's
printf lines, and lines the lab cannot read.

A header must be one the program prints: a Python tool's constant header
(`print("%-9s %-6s" % ("TIME", "PID"))`) or ecli's, which is TIME and the
exported struct's fields upper-cased (the first struct of a header file, as
ecc exports it). A header ecli would print otherwise is drift. A row must fit a
print format of the program or the exported struct's columns. A plain line must
be printable by one of the program's format strings. A line that looks like a
header but is not one is an unparsable sample, and so are the rows under it.
What no rule decides is "not checkable statically", with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lab.docs.formats import CONVERSION, Format, formats_of, produces
from lab.docs.markdown import Code
from lab.docs.program import Program
from lab.docs.samples import COMM_COLUMNS, PID_COLUMNS, is_header, parse_ftrace, parse_lines
from lab.docs.shown_output import output_lines
from lab.verdicts.findings import Confirmation, Finding

STRUCT = re.compile(r"\bstruct\s+(?P<name>\w+)\s*\{(?P<body>[^{}]*)\}\s*;")
FIELD = re.compile(r"(?P<name>\w+)\s*(?:\[[^\]]*\])?\s*(?::\s*\d+)?\s*$")
TELLING_TEXT = 3  # literal characters a format needs to vouch for a plain line
HEADERISH = re.compile(r"^[A-Z][A-Z0-9_()/]*")


def ecli_columns(programs: Sequence[Program]) -> list[tuple[str, list[str]]]:
    """(where, header words) ecli prints for each header file's first struct."""
    found = []
    for program in programs:
        if "ecli" not in program.loader.split(" ", 1)[0]:
            continue
        for source in program.files:
            if source.name.endswith(".h"):
                match = STRUCT.search(source.text)
            else:  # without a header, the struct the tutorials name `event`
                match = next((m for m in STRUCT.finditer(source.text) if m["name"] == "event"
                              and source.name.endswith(".c")), None)
            if match:
                names = [FIELD.search(decl.strip()) for decl in match["body"].split(";")]
                fields = [m["name"].upper() for m in names if m and m["name"]]
                found.append((f"struct {match['name']} ({program.label(source)})",
                              ["TIME", *fields]))
    return found


def judge_other_lines(label: str, code: Code, programs: Sequence[Program], judged: set[int]
                      ) -> tuple[list[Finding], list[Confirmation], dict[int, str]]:
    """Findings and confirmations for the block's output lines not yet judged, and
    the plain lines a format of the program prints (line -> text), for a run."""
    formats = [f for p in programs for s in p.files for f in formats_of(s)]
    ecli = ecli_columns(programs)
    rows = {s.line: s for s in parse_lines(code.lines, code.first) if s.kind == "table"}
    findings: list[Finding] = []
    confirmations: list[Confirmation] = []
    printed: dict[int, str] = {}
    unreadable_header = 0
    for number in output_lines(code):
        text = code.lines[number - code.first]
        if not text.strip():
            unreadable_header = 0
        if number in judged:
            continue
        words = text.split()
        if is_header(text):
            unreadable_header = 0
            verdict = _header(label, number, words, formats, ecli)
        elif _headerish(words):
            unreadable_header = number
            verdict = Finding(label, number, "unparsable-sample",
                              f"`{text.strip()}` reads as a table header the lab cannot parse "
                              f"(`{_odd_word(words)}`): its rows are not checked")
        elif unreadable_header:
            verdict = Finding(label, number, "unparsable-sample",
                              f"a row of the table whose header at line {unreadable_header} "
                              "the lab cannot parse: not checked")
        elif number in rows:
            verdict = _row(label, number, text, formats, ecli, rows[number].header)
        else:
            verdict = _ready(label, number, text, programs) or \
                _plain(label, number, text, formats)
            if isinstance(verdict, Confirmation) and "can be printed by" in verdict.what:
                printed[number] = text.strip()
        if isinstance(verdict, Finding):
            findings.append(verdict)
        else:
            confirmations.append(verdict)
    return findings, confirmations, printed


def _headerish(words: list[str]) -> bool:
    """Column names with a stray character: `... DURATION_NS COMM".`."""
    named = {HEADERISH.match(w)[0] for w in words if HEADERISH.match(w)}  # type: ignore[index]
    return len(words) >= 2 and sum(1 for w in words if HEADERISH.match(w)) >= len(words) - 1 \
        and any(HEADERISH.fullmatch(w) is None for w in words) \
        and bool(named & {*PID_COLUMNS, *COMM_COLUMNS})


def _odd_word(words: list[str]) -> str:
    return next((w for w in words if HEADERISH.fullmatch(w) is None), words[-1])


def _header(label: str, number: int, words: list[str], formats: Sequence[Format],
            ecli: Sequence[tuple[str, list[str]]]) -> Finding | Confirmation:
    for fmt in formats:
        if fmt.text.split() == words:
            return Confirmation(label, number, f"header printed by \"{fmt.text.strip()}\" "
                                f"({fmt.where})")
    for where, columns in ecli:
        if columns == [w.rstrip(":") for w in words]:
            return Confirmation(label, number, f"header ecli prints for {where}")
    shown = {w.rstrip(":") for w in words}
    for where, columns in ecli:  # the struct's own columns, some missing or moved: drift
        if words[0] != "TIME" or not shown <= set(columns):
            continue
        return Finding(label, number, "unproducible",
                       f"documented header `{' '.join(words)}`: ecli prints `"
                       f"{' '.join(columns)}` for {where}")
    return Finding(label, number, "not-static",
                   f"header `{' '.join(words)}`: no format string of the program prints it "
                   "(a tool's header?); only a run can check it")


def _row(label: str, number: int, text: str, formats: Sequence[Format],
         ecli: Sequence[tuple[str, list[str]]], header: str) -> Finding | Confirmation:
    for fmt in formats:
        if not fmt.kernel and produces(fmt, text):
            return Confirmation(label, number, f"row can be printed by \"{fmt.text.strip()}\" "
                                f"({fmt.where})")
    names = [w.rstrip(":") for w in header.split()]
    for where, columns in ecli:
        if columns == names and len(text.split()) >= len(columns):
            return Confirmation(label, number, f"row fits the columns of {where}; its values "
                                "only a run shows")
    return Finding(label, number, "not-static",
                   f"row `{text.strip()}`: no format string of the program prints its table; "
                   "only a run can check it")


def _ready(label: str, number: int, text: str, programs: Sequence[Program]
           ) -> Confirmation | None:
    """The loader's line that it is running, as the scenario waits for it."""
    for program in programs:
        if program.ready and re.search(program.ready, text.strip()):
            return Confirmation(label, number, f"`{text.strip()}` is the loader's ready line "
                                f"(/{program.ready}/ of {program.scenario})")
    return None


def _plain(label: str, number: int, text: str, formats: Sequence[Format]) -> Finding | Confirmation:
    if parse_ftrace(text, number) is not None:
        return Finding(label, number, "not-static",
                       f"`{text.strip()}`: a trace event the program does not print with "
                       "bpf_printk; only a run can check it")
    for fmt in formats:  # a format of conversions alone ("%s") says nothing of a line
        if len(CONVERSION.sub("", fmt.text).strip()) >= TELLING_TEXT and produces(fmt, text):
            return Confirmation(label, number, f"`{text.strip()}` can be printed by "
                                f"\"{fmt.text.strip()}\" ({fmt.where})")
    return Finding(label, number, "not-static",
                   f"`{text.strip()}`: no format string of the program prints it (a tool's "
                   "or the shell's output?); only a run can check it")

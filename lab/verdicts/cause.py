"""The one-line cause of a failed scenario (pure logic).

A report cell has one line for a failure; it must carry the cause an author
acts on, not "command exited 1": the compiler's first error, the verifier's
or libbpf's last error lines, the Python exception of a bcc script, the
expectation that failed with the closest line seen, the missing kernel option,
the kernel's splat or panic.
"""

from __future__ import annotations

import re

from lab.verdicts.outcome import Outcome

COMPILER_ERROR = re.compile(r"(?:^|: )(?:fatal )?error: .*", re.MULTILINE)
# libbpf and the verifier print many lines; the cause is in the last of these.
LOADER_ERROR = re.compile(
    r"^(?:libbpf: .*(?:fail|error|Error|invalid|not found|unknown|-E\w+).*"
    r"|.*(?:invalid|unknown|not allowed|not supported|permission denied|R\d+ .*).*"
    r"|\w*(?:Error|Exception): .*|Exception: .*|error: .*)$",
    re.MULTILINE | re.IGNORECASE,
)
LOADER_LINES = 2


def cause_of(outcome: Outcome) -> str:
    """What went wrong, in one line, most telling part first."""
    if outcome.passed:
        return ""
    for result in outcome.results:
        if result.problems:
            return f"{result.expectation.summary}: {result.problems[0]}"
    first = _first_line(outcome.message)
    if outcome.stage == "build":
        log = outcome.logs.get("build", "")
        error = COMPILER_ERROR.search(log or outcome.message)
        if error:
            return f"{error.group(0).removeprefix(': ').strip()} ({first})"
        last = _last_line(log)
        if last:  # a shell's "not found", a Makefile's last word
            return f"{last} ({first})"
    if outcome.stage == "load":
        errors = LOADER_ERROR.findall(outcome.logs.get("load", "") or outcome.message)
        if errors:
            return " / ".join(e.strip() for e in errors[-LOADER_LINES:]) + f" ({first})"
    return first


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0].rstrip(":") if lines else "no detail"

"""Plain-language reports of scenario outcomes (pure formatting). What the guest
printed is in them, so each text is made visible (lab.guest_text) on its way out."""

from __future__ import annotations

from lab.guest_text import visible
from lab.verdicts.cause import cause_of
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import PASS, Cell

CAPTURE_TAIL_LINES = 40


def failure_text(outcome: Outcome, kernel: str) -> str:
    """What a tutorial author needs to see first: which stage, which expectation."""
    lines = [f"{outcome.scenario} on kernel {kernel} failed at stage '{outcome.stage}': "
             f"{cause_of(outcome)}"]
    if outcome.message:
        lines.append(outcome.message)
    if outcome.userland:
        lines.append(f"guest userland: {outcome.userland} ({outcome.toolchain})")
    for result in outcome.results:
        mark = "ok  " if result.passed else "FAIL"
        lines.append(f"  {mark} {result.expectation.summary}")
        lines.extend(f"         {problem}" for problem in result.problems)
    if outcome.evidence:
        lines.append(f"evidence (build/load logs, trace): {outcome.evidence}")
    return visible("\n".join(lines))


def capture_tail(outcome: Outcome, lines: int = CAPTURE_TAIL_LINES) -> str:
    captured = [line for line in outcome.capture.splitlines() if line.strip()]
    if not captured:
        return "(nothing was captured)"
    skipped = len(captured) - lines
    head = [f"... {skipped} earlier lines in {outcome.evidence}"] if skipped > 0 else []
    return visible("\n".join(head + captured[-lines:]))


def console_tail(outcome: Outcome) -> str:
    return visible(outcome.console_tail)


def summary_line(outcome: Outcome, cell: Cell) -> str:
    """One line per cell for a terminal: the cell's verdict (the one the report and
    pytest give), its stage when not a pass, the stage timings; then the reason."""
    verdict = cell.verdict.upper() + ("" if cell.verdict == PASS else f" ({cell.stage})")
    timings = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in outcome.timings.items())
    line = f"{cell.kernel:>6}  {outcome.scenario:<16} {verdict:<32} {timings}"
    return visible(line + (f"\n        {cell.reason}" if cell.reason else ""))

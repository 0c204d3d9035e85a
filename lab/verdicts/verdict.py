"""The verdict of one kernel x tutorial cell (pure logic).

A pass is a pass, unless the tutorial's published document shows code or
output the run contradicts (a drift). A drift the scenario records (the
finding's kind and line, with the measured reason: a series chapter's README is
kept as published) is a known drift; any other drift is the verdict, and a
recorded drift the check no longer finds is news, like an unexpected pass.
A failure is a plain fail unless the scenario records this exact failure as an
incompatibility of that kernel line: the same stage, and evidence matching the
recorded pattern. Any other failure
on that line is a plain fail that says what was expected and what happened
instead; a recorded incompatibility that passes is news (an unexpected pass).
A scenario that declares it cannot run (`not_runnable`) is not run: its cell is
not runnable, with the declared reason, on every line.
A cell a merge expected (the workflow's plan) and no column brings is missing:
the job that owed it failed, was cancelled or did not upload, so nothing is
known of it, and that is never agreement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lab.arches import DEFAULT_ARCH, split_target
from lab.verdicts.cause import cause_of
from lab.verdicts.expectation import Incompatibility, KnownDrift, Recorded
from lab.verdicts.findings import Finding, drifts, summary
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage

PASS, FAIL, DRIFT = "pass", "fail", "drift"
EXPECTED_INCOMPATIBLE, UNEXPECTED_PASS = "expected-incompatible", "unexpected-pass"
NOT_RUNNABLE, KNOWN_DRIFT, MISSING = "not-runnable", "known-drift", "missing"
SYMBOLS = {PASS: "✅ pass", FAIL: "❌ fail", EXPECTED_INCOMPATIBLE: "➖ incompatible",
           UNEXPECTED_PASS: "⚠️ unexpected pass", DRIFT: "⚠️ drift",
           NOT_RUNNABLE: "⛔ not runnable", KNOWN_DRIFT: "📝 known drift",
           MISSING: "❓ missing"}
NOT_RUN = "not runnable: "  # the message of the outcome of a scenario that is not run
REASON_CHARS = 400


@dataclass(frozen=True)
class Cell:
    kernel: str
    tutorial: str
    verdict: str
    reason: str
    stage: str
    timings: dict[str, float] = field(default_factory=dict)
    evidence: str = ""
    expected: str = ""  # the recorded incompatibility, if any: stage, pattern, reason
    observed: str = ""  # the observed failure: stage and cause
    findings: list[dict[str, Any]] = field(default_factory=list)  # the document's, file:line
    userland: str = ""  # the guest root it ran on, and the toolchain that root pins
    toolchain: str = ""
    arch: str = DEFAULT_ARCH.name  # the guest's, which its kernel's name says (lab.arches)

    @property
    def ok(self) -> bool:
        """Whether the cell agrees with what the scenario records."""
        return self.verdict in (PASS, EXPECTED_INCOMPATIBLE, NOT_RUNNABLE, KNOWN_DRIFT)


def cell_for(outcome: Outcome, scenario: Recorded, kernel: str) -> Cell:
    recorded = scenario.incompatible.get(kernel)
    cause = cause_of(outcome)
    observed = "" if outcome.passed else f"{outcome.stage}: {cause}"
    expected = describe(recorded) if recorded else ""
    drift = drifts(outcome.document) if outcome.passed else []
    unknown, stale = _unrecorded(drift, scenario.known_drift)
    if outcome.passed and scenario.not_runnable:
        verdict = UNEXPECTED_PASS
        reason = f"declared not runnable ({scenario.not_runnable}) but ran and passed"
    elif scenario.not_runnable:
        verdict, reason = NOT_RUNNABLE, scenario.not_runnable
    elif outcome.passed and recorded:
        verdict, reason = UNEXPECTED_PASS, f"recorded as incompatible ({expected}) but passed"
    elif unknown:
        verdict, reason = DRIFT, f"document: {summary(unknown)}: {unknown[0].message}"
    elif outcome.passed and stale:
        verdict = UNEXPECTED_PASS
        reason = ("recorded document drift no longer found: "
                  + "; ".join(f"line {r.line} {r.kind} ({r.reason})" for r in stale))
    elif drift:
        verdict = KNOWN_DRIFT
        reason = f"document: {summary(drift)}, each recorded: {scenario.known_drift[0].reason}"
    elif outcome.passed:
        verdict, reason = PASS, ""
    elif recorded and matches(recorded, outcome):
        verdict, reason = EXPECTED_INCOMPATIBLE, f"{recorded.reason} (observed {observed})"
    elif recorded:
        verdict = FAIL
        # the real cause first: the clip must never cut it for the record it did not match
        reason = f"{observed} (not the recorded incompatibility: {expected})"
    else:
        verdict, reason = FAIL, observed
    stage = Stage.DOCUMENT if verdict in (DRIFT, KNOWN_DRIFT) else outcome.stage
    return Cell(kernel, scenario.name, verdict, _clip(reason), stage, dict(outcome.timings),
                str(outcome.evidence or ""), expected, _clip(observed),
                [finding.to_json() for finding in outcome.document],
                userland=outcome.userland, toolchain=outcome.toolchain,
                arch=split_target(kernel)[1].name)


def missing(kernel: str, tutorial: str, job: str) -> Cell:
    """The cell of a merge that expected it from `job` and got no column with it."""
    reason = f"no report from {job}: the job failed, was cancelled or did not upload"
    return Cell(kernel, tutorial, MISSING, _clip(reason), "", arch=split_target(kernel)[1].name)


def not_run(scenario: Recorded) -> Outcome:
    """The outcome of a scenario that declares it cannot run: nothing was booted,
    built or loaded for it; cell_for judges it not runnable."""
    return Outcome(scenario.name, stage=Stage.PREFLIGHT,
                   message=f"{NOT_RUN}{scenario.not_runnable}")


def _unrecorded(drift: list[Finding], known: tuple[KnownDrift, ...]
                ) -> tuple[list[Finding], list[KnownDrift]]:
    """The drift findings no record covers, and the records that cover none (but
    for a drift that varies from run to run)."""
    unknown = [f for f in drift if not any(r.covers(f.kind, f.line) for r in known)]
    stale = [r for r in known
             if not r.varies and not any(r.covers(f.kind, f.line) for f in drift)]
    return unknown, stale


def describe(recorded: Incompatibility) -> str:
    return f"at {recorded.stage}, evidence /{recorded.evidence}/: {recorded.reason}"


def matches(recorded: Incompatibility, outcome: Outcome) -> bool:
    """The outcome failed at the recorded stage, with evidence matching the pattern."""
    if outcome.passed or outcome.stage != recorded.stage:
        return False
    return re.search(recorded.evidence, evidence_text(outcome), re.MULTILINE) is not None


def evidence_text(outcome: Outcome) -> str:
    """Everything the failure showed: message, expectation problems, the stage's log
    and what the kernel logged during the cell."""
    problems = [p for result in outcome.results for p in result.problems]
    return "\n".join([outcome.message, *problems, outcome.logs.get(outcome.stage, ""),
                      outcome.logs.get("kernel", "")])


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"

"""The compatibility report: one cell per kernel x tutorial (pure logic).

Cells come from outcomes, go to JSON (one file per run, mergeable) and to a
Markdown table authors paste into their tutorial's README.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lab.outcome import Outcome
from lab.scenario import Scenario

PASS, FAIL = "pass", "fail"
EXPECTED_INCOMPATIBLE, UNEXPECTED_PASS = "expected-incompatible", "unexpected-pass"
SYMBOLS = {PASS: "✅ pass", FAIL: "❌ fail", EXPECTED_INCOMPATIBLE: "➖ incompatible",
           UNEXPECTED_PASS: "⚠️ unexpected pass"}
REASON_CHARS = 160


@dataclass(frozen=True)
class Cell:
    kernel: str
    tutorial: str
    verdict: str
    reason: str
    stage: str
    timings: dict[str, float] = field(default_factory=dict)
    evidence: str = ""

    @property
    def ok(self) -> bool:
        """Whether the cell agrees with what the scenario records."""
        return self.verdict in (PASS, EXPECTED_INCOMPATIBLE)


def cell_for(outcome: Outcome, scenario: Scenario, kernel: str) -> Cell:
    recorded = scenario.incompatible.get(kernel)
    if outcome.passed:
        verdict = UNEXPECTED_PASS if recorded else PASS
        reason = f"recorded as incompatible ({recorded}) but passed" if recorded else ""
    else:
        verdict = EXPECTED_INCOMPATIBLE if recorded else FAIL
        reason = recorded or _one_line(outcome)
    return Cell(kernel, scenario.name, verdict, _clip(reason), outcome.stage,
                dict(outcome.timings), str(outcome.evidence or ""))


def _one_line(outcome: Outcome) -> str:
    for result in outcome.results:
        if result.problems:
            return f"{outcome.stage}: {result.expectation.summary}: {result.problems[0]}"
    first = outcome.message.strip().splitlines()[:1] or ["no detail"]
    return f"{outcome.stage}: {first[0]}"


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"


def write_json(path: Path, cells: Iterable[Cell]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps([asdict(c) for c in cells], indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_json(paths: Iterable[Path]) -> list[Cell]:
    cells = []
    for path in paths:
        cells += [Cell(**record) for record in json.loads(path.read_text())]
    return cells


def merge(cells: Iterable[Cell]) -> list[Cell]:
    """One cell per (kernel, tutorial); a later one replaces an earlier one."""
    merged = {(c.kernel, c.tutorial): c for c in cells}
    return list(merged.values())


def _kernel_key(line: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in line.replace("x", "0").split("."))


def markdown(cells: Sequence[Cell]) -> str:
    """A tutorial x kernel table, then the reason for every cell that is not a pass."""
    kernels = sorted({c.kernel for c in cells}, key=_kernel_key)
    tutorials = sorted({c.tutorial for c in cells})
    by_key = {(c.kernel, c.tutorial): c for c in cells}
    lines = ["| tutorial | " + " | ".join(f"Linux {k}" for k in kernels) + " |",
             "|---|" + "---|" * len(kernels)]
    for tutorial in tutorials:
        row = [SYMBOLS[by_key[(k, tutorial)].verdict] if (k, tutorial) in by_key else "not run"
               for k in kernels]
        lines.append(f"| `{tutorial}` | " + " | ".join(row) + " |")
    notes = [c for c in sorted(cells, key=lambda c: (c.tutorial, _kernel_key(c.kernel)))
             if c.verdict != PASS]
    if notes:
        lines += ["", "| tutorial | kernel | verdict | reason |", "|---|---|---|---|"]
        lines += [f"| `{c.tutorial}` | {c.kernel} | {c.verdict} | {c.reason.replace('|', '/')} |"
                  for c in notes]
    return "\n".join(lines) + "\n"


def write_reports(directory: Path, cells: Sequence[Cell]) -> tuple[Path, Path]:
    """lab-report.md and lab-report.json for these cells."""
    md, js = directory / "lab-report.md", directory / "lab-report.json"
    write_json(js, cells)
    md.write_text("# eBPF tutorials x kernels\n\n" + markdown(cells))
    return md, js

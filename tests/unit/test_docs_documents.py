"""Every tutorial's document the lab keeps itself, checked without a VM: its code
blocks equal the program's files and its output sample is something the program
can print. Tutorials are found from bpf/*/README.md; none is named here.

A chapter of a published series keeps its README as published (excerpts, drift
and all): what the lab finds in it is its cell's document verdict, not a defect
of the lab, so only documents outside a series are held to showing every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.docs.verify import document_path, own_check
from lab.scenario import Scenario, load_scenarios
from lab.verdicts.findings import drifts

PROJECT = Path(__file__).resolve().parents[2]
SCENARIOS = {s.name: s for s in load_scenarios(PROJECT / "scenarios")}
DOCUMENTED = sorted(name for name, s in SCENARIOS.items()
                    if s.series is None and document_path(s, PROJECT).is_file())


def test_every_documented_tutorial_has_a_scenario() -> None:
    documents = {p.resolve() for p in (PROJECT / "bpf").glob("*/README.md")}
    owned = {document_path(s, PROJECT).resolve() for s in SCENARIOS.values()}
    assert documents <= owned, f"documents no scenario owns: {sorted(documents - owned)}"


@pytest.mark.parametrize("name", DOCUMENTED)
def test_the_document_shows_the_program_and_what_it_prints(name: str) -> None:
    scenario: Scenario = SCENARIOS[name]
    check = own_check(scenario, PROJECT)
    assert check is not None
    problems = [f.text() for f in check.findings]
    assert not drifts(check.findings), "\n".join(problems)
    assert problems == [], "\n".join(problems)
    shown = {a.source.name for a in check.attributions if a.source is not None}
    program_files = {p.name for p in (PROJECT / scenario.program).iterdir()
                     if p.is_file() and p.suffix != ".md"}
    assert shown == program_files, "every file of the program is shown in the document"
    assert any(block.samples for block in check.blocks), "the document shows its output"


STATIC_KINDS = {"code-drift", "unknown-file", "unproducible"}  # what no run is needed for
RECORDED = sorted(name for name, s in SCENARIOS.items()
                  if any(r.kind in STATIC_KINDS for r in s.known_drift))


@pytest.mark.parametrize("name", RECORDED)
def test_a_chapter_s_recorded_static_drift_is_what_the_check_finds(name: str) -> None:
    """The [[known_drift]] records a static check can confirm match its findings by
    kind and line, both ways: a moved line or a drift that became a note is news
    here, before a VM run turns it into an unexpected pass or a drift."""
    scenario = SCENARIOS[name]
    check = own_check(scenario, PROJECT)
    assert check is not None
    found = {(f.kind, f.line) for f in drifts(check.findings) if f.kind in STATIC_KINDS}
    recorded = {(r.kind, r.line) for r in scenario.known_drift if r.kind in STATIC_KINDS}
    assert found == recorded, "\n".join(f.text().split("\n")[0] for f in check.findings
                                        if (f.kind, f.line) in found ^ recorded)

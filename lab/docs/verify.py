"""The entry points: a tutorial's document checked statically, and after a run.

For the report and pytest verdict (wired by the caller):
- static_findings(scenario, project): no VM; code drift, unproducible lines, ...
- document_findings(scenario, project, outcome): the same plus the run's capture.
A scenario without a document gives no findings: it is verified as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from lab.docs.attribution import attribute, names_in
from lab.docs.code_block import compare, shown
from lab.docs.markdown import Document, read_document
from lab.docs.output import OutputCheck, match_printed, match_samples
from lab.docs.program import DOCUMENT_NAME, program_of
from lab.docs.samples import parse_lines
from lab.docs.static_check import DocCheck, check_document
from lab.errors import LabError
from lab.scenario import Scenario
from lab.verdicts.findings import Finding
from lab.verdicts.outcome import Outcome

RAN = ("expect", "kernel", "cleanup")  # stages an outcome reaches once it has a capture


def document_path(scenario: Scenario, project: Path) -> Path:
    """The scenario's `document` if it names one, else <program dir>/README.md."""
    named = scenario.document
    return project / named if named else project / scenario.program / DOCUMENT_NAME


def label_of(path: Path, project: Path | None = None) -> str:
    """How findings name the document: relative to the project when inside it."""
    if project is not None:
        try:
            return path.resolve().relative_to(project.resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def static_check(path: Path, scenarios: Sequence[Scenario], project: Path) -> DocCheck:
    document = read_document(path)
    programs = [program_of(s, project, path) for s in scenarios]
    return check_document(document, programs, label_of(path, project))


def own_check(scenario: Scenario, project: Path) -> DocCheck | None:
    path = document_path(scenario, project)
    return static_check(path, [scenario], project) if path.is_file() else None


def static_findings(scenario: Scenario, project: Path) -> list[Finding]:
    check = own_check(scenario, project)
    return check.findings if check else []


def document_findings(scenario: Scenario, project: Path, outcome: Outcome) -> list[Finding]:
    """Static findings plus the documented output against this outcome's capture."""
    check = own_check(scenario, project)
    if check is None:
        return []
    run = run_check(check, {scenario.name: outcome})
    return merge(check.findings, run.findings)


def run_check(check: DocCheck, outcomes: Mapping[str, Outcome]) -> OutputCheck:
    """Every sample block against the outcome of its program's scenario."""
    total = OutputCheck()
    for program in check.programs:
        outcome = outcomes.get(program.scenario)
        if outcome is None or not _ran(outcome):
            continue
        samples = [s for b in check.blocks if b.program is program for s in b.samples]
        printed = check.printed.get(program.scenario, {})
        results = [match_samples(check.label, samples, outcome.capture, outcome.records,
                                 program.record_programs, check.truncated)] if samples else []
        # the loader's output is captured, and the document is the lab's own: a chapter's
        # sample shows its author's ports, paths and timings, which no run repeats
        if printed and program.capture == "output" and not program.series:
            results.append(match_printed(check.label, printed, outcome.capture))
        for result in results:
            total.findings += result.findings
            total.confirmations += result.confirmations
            total.counterparts.update(result.counterparts)
    return total


def check_output(document: Document, capture: str,
                 records: Mapping[str, Sequence[Mapping[str, str]]],
                 record_programs: Mapping[str, frozenset[str]] | None = None) -> list[Finding]:
    """Every documented output line of the document against one capture (a document
    of one program; no format check, so only the run tells a cut line)."""
    samples = [s for code in document.codes for s in parse_lines(code.lines, code.first)]
    return match_samples(str(document.path), samples, capture, records,
                         record_programs or {}).findings


def _ran(outcome: Outcome) -> bool:
    """Only a run that passed is compared: when the program itself fails (or is
    expected to on this kernel), that is the cell's verdict, not the document."""
    return outcome.passed and outcome.stage in RAN


def merge(static: Sequence[Finding], run: Sequence[Finding]) -> list[Finding]:
    """Both lists, a run finding dropped when the static check said the same."""
    seen = {(f.line, f.kind) for f in static}
    return sorted([*static, *(f for f in run if (f.line, f.kind) not in seen)],
                  key=lambda f: (f.line, f.kind))


def guess_scenarios(document: Document, scenarios: Sequence[Scenario],
                    project: Path) -> list[Scenario]:
    """The scenarios whose program files the document shows (for a document outside
    the project, such as a published tutorial). A tutorial the document names (a
    file name, a command, a caption) or one of whose files a block shows, white
    space and gaps aside, is chosen; one that only resembles a block (a program
    much like another, such as fentry and kprobe on the same function) is not:
    with no tutorial chosen, the error lists the candidates and why."""
    programs = [program_of(s, project, document.path) for s in scenarios]
    chosen: set[str] = set()
    resembling: dict[str, list[str]] = {}
    for attribution in attribute(document, programs):
        program, source = attribution.program, attribution.source
        if program is not None and source is not None:
            found, _ = compare(shown(str(document.path), attribution.code.first,
                                     attribution.code.content), attribution.label, source.text)
            if attribution.how != "content" or not any(f.kind == "code-drift" for f in found):
                chosen.add(program.scenario)
            else:
                resembling.setdefault(program.scenario, []).append(
                    f"the block at line {attribution.code.line} resembles {attribution.label} "
                    "but differs from it")
        elif attribution.samples:  # a sample block that runs a program's file
            chosen |= {p.scenario for p, _ in names_in(attribution.code.content, programs)}
    if not chosen and resembling:
        why = "; ".join(f"{name}: {', '.join(reasons)}" for name, reasons in resembling.items())
        raise LabError(f"{document.path}: cannot tell which tutorial it shows ({why}); "
                       f"name it with --scenario (candidates: {', '.join(resembling)})")
    if not chosen:
        raise LabError(f"{document.path}: shows no file of any tutorial's program; "
                       "name one with --scenario")
    return [s for s in scenarios if s.name in chosen]

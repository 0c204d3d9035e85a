"""`lab docs`: check, verify, extract and accept a tutorial's document.

check    no VM: code blocks against the program's files, documented lines
         against its format strings (seconds; part of the unit tests)
verify   runs the tutorial on a kernel and checks the documented output too
extract  writes the program's files from the document
accept   rewrites the document's output samples from a real run

PATH may be any Markdown file; one outside the project is checked against the
scenario(s) named with --scenario, else those whose files it shows.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lab.cache.catalog import LockedKernel
from lab.docs.accept import accepted_text
from lab.docs.coverage import Coverage, coverage
from lab.docs.extract import extract
from lab.docs.markdown import read_document
from lab.docs.output import OutputCheck
from lab.docs.static_check import DocCheck
from lab.docs.verify import document_path, guess_scenarios, merge, run_check, static_check
from lab.errors import LabError
from lab.guest_text import visible
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings
from lab.verdicts.findings import Finding, drifts, summary
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import FAIL, UNEXPECTED_PASS, Cell, cell_for, not_run

DOCUMENT_APART = 10_000_000  # more lines than any document has


def add_docs_commands(commands: Any, kernel: Callable[[str], LockedKernel]) -> None:
    """Register `lab docs ...` on the `lab` command's subparsers; kernel parses a
    --kernel value into the lock's entry (lab.kernel_choice.KernelArgument)."""
    docs = commands.add_parser("docs", help="check tutorial documents against programs and runs",
                               description=__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = docs.add_subparsers(required=True, metavar="ACTION")
    check = actions.add_parser("check", help="no VM: code blocks and documented lines")
    _targets(check, many=True)
    check.add_argument("--coverage", action="store_true",
                       help="also count the documented output lines that got a verdict")
    check.set_defaults(handler=docs_check)
    verify = actions.add_parser("verify", help="run the tutorial and check its documented output")
    _targets(verify, many=True)
    verify.add_argument("--kernel", required=True, type=kernel, help="kernel line, e.g. 6.1")
    verify.set_defaults(handler=docs_verify)
    accept = actions.add_parser("accept", help="rewrite output samples from a real run")
    _targets(accept, many=True)
    accept.add_argument("--kernel", required=True, type=kernel)
    accept.add_argument("--yes", action="store_true", help="write without asking")
    accept.set_defaults(handler=docs_accept)
    out = actions.add_parser("extract", help="write the program's files from the document")
    out.add_argument("path", type=Path)
    out.add_argument("--out", type=Path, help="directory (default: the document's)")
    out.set_defaults(handler=docs_extract)


def _targets(parser: argparse.ArgumentParser, many: bool) -> None:
    parser.add_argument("paths", nargs="*", type=Path,
                        help="Markdown documents (default: every tutorial's document)")
    parser.add_argument("--scenario", action="append", default=[],
                        help="the tutorial a document outside the project shows (repeatable)")
    parser.add_argument("--json", type=Path, help="write every finding, with file and line")


def targets(args: argparse.Namespace, settings: Settings) -> list[tuple[Path, list[Scenario]]]:
    """Each document with the scenarios it is checked against."""
    scenarios = load_scenarios(settings.scenarios_dir)
    by_name = {s.name: s for s in scenarios}
    unknown = [n for n in args.scenario if n not in by_name]
    if unknown:
        raise LabError(f"no scenario {', '.join(unknown)}; known: {', '.join(by_name)}")
    if not args.paths:
        return [(document_path(s, settings.project), [s]) for s in scenarios
                if document_path(s, settings.project).is_file()]
    found = []
    for path in args.paths:
        if not path.is_file():
            raise LabError(f"{path}: no such document")
        own = [s for s in scenarios
               if document_path(s, settings.project).resolve() == path.resolve()]
        chosen = [by_name[n] for n in args.scenario] or own or \
            guess_scenarios(read_document(path), scenarios, settings.project)
        found.append((path, chosen))
    return found


def docs_check(args: argparse.Namespace, settings: Settings) -> int:
    checks = [static_check(p, s, settings.project) for p, s in targets(args, settings)]
    for check in checks:
        _print(check, check.findings, OutputCheck())
    _write_json(args.json, [_record(c, c.findings, OutputCheck(), None) for c in checks])
    if getattr(args, "coverage", False):
        print(coverage_table([coverage(c) for c in checks]))
    return 1 if any(drifts(c.findings) for c in checks) else 0


def coverage_table(found: Sequence[Coverage]) -> str:
    """One row per document and a total: output lines, how many got a verdict, by kind."""
    rows = ["| document | output lines | with a verdict | share | verdicts |",
            "|---|---|---|---|---|"]
    for item in [*found, _total(found)]:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(item.by_kind.items()))
        rows.append(f"| {item.document} | {len(item.lines)} | {item.judged} | "
                    f"{item.share:.0%} | {kinds} |")
    return "\n".join(rows)


def _total(found: Sequence[Coverage]) -> Coverage:
    total = Coverage("total")
    for number, item in enumerate(found):  # lines of different documents kept apart
        apart = number * DOCUMENT_APART
        total.lines += [apart + line for line in item.lines]
        total.verdicts.update({apart + line: kind for line, kind in item.verdicts.items()})
    return total


def _run_all(scenarios: Sequence[Scenario], settings: Settings,
             kernel: LockedKernel) -> dict[str, Outcome]:
    from lab.guestvm.session import KernelLab  # the VM stack only when a run is asked for

    lab = KernelLab(settings, kernel)
    outcomes = {}
    try:
        for scenario in scenarios:  # nothing boots for a scenario that cannot run
            outcome = not_run(scenario) if scenario.not_runnable else lab.run(scenario)
            outcomes[scenario.name] = outcome
            cell = cell_for(outcome, scenario, kernel.line)  # as pytest and the matrix judge
            reason = f": {cell.reason}" if cell.reason else ""
            print(visible(f"{scenario.name} on {kernel.line}: {cell.verdict}{reason}"),
                  file=sys.stderr, flush=True)
    finally:
        lab.close()
    return outcomes


def _checked_runs(args: argparse.Namespace, settings: Settings
                  ) -> list[tuple[DocCheck, OutputCheck, dict[str, Outcome], dict[str, Cell]]]:
    found = targets(args, settings)
    needed = list({s.name: s for _, chosen in found for s in chosen}.values())
    outcomes = _run_all(needed, settings, args.kernel)
    cells = {s.name: cell_for(outcomes[s.name], s, args.kernel.line) for s in needed}
    results = []
    for path, chosen in found:
        check = static_check(path, chosen, settings.project)
        results.append((check, run_check(check, outcomes), outcomes, cells))
    return results


def docs_verify(args: argparse.Namespace, settings: Settings) -> int:
    failed = False
    records = []
    for check, run, outcomes, cells in _checked_runs(args, settings):
        findings = merge(check.findings, run.findings)
        _print(check, findings, run)
        records.append(_record(check, findings, run, args.kernel.line, outcomes))
        # the program's own verdict, as the report gives it: a recorded incompatibility
        # of this line is not a failure of the document's check; a drift is its findings
        programs_failed = [p.scenario for p in check.programs
                           if cells[p.scenario].verdict in (FAIL, UNEXPECTED_PASS)]
        if programs_failed:
            print(f"  the program itself failed: {', '.join(programs_failed)}")
        failed = failed or bool(drifts(findings)) or bool(programs_failed)
    _write_json(args.json, records)
    return 1 if failed else 0


def docs_accept(args: argparse.Namespace, settings: Settings) -> int:
    for check, run, outcomes, _ in _checked_runs(args, settings):
        captures = {name: outcome.capture for name, outcome in outcomes.items()}
        new = accepted_text(check, run.counterparts, captures)
        old = check.document.text
        if new == old:
            print(f"{check.label}: samples already match the run")
            continue
        sys.stdout.writelines(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                                   check.label, f"{check.label} (accepted)"))
        if args.yes or (sys.stdin.isatty() and input(f"write {check.label}? [y/N] ") == "y"):
            check.document.path.write_text(new, encoding="utf-8")
            print(f"{check.label}: samples rewritten from the run on {args.kernel.line}")
        else:
            print(f"{check.label}: not written (--yes writes)")
    return 0


def docs_extract(args: argparse.Namespace, settings: Settings) -> int:
    document = read_document(args.path)
    files, problems = extract(document)
    out = args.out or args.path.parent
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if not files:
        raise LabError(f"{args.path}: no block names the file it shows")
    targets = [(inside(out, file.name), file) for file in files]  # all checked, then written
    for target, file in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.text, encoding="utf-8")
        print(f"{target}  <- {document.where(file.line)}")
    return 0


def inside(directory: Path, name: str) -> Path:
    """directory/name, for a file name a document chose: a relative path that stays
    in directory (no absolute path, no `..`, no link out), else a LabError."""
    relative = Path(name)
    if not name or relative.is_absolute() or ".." in relative.parts:
        raise LabError(f"the document names the file {name!r}: only a path inside "
                       f"{directory} is written")
    target = directory / relative
    if not target.resolve().is_relative_to(directory.resolve()):
        raise LabError(f"the document names the file {name!r}, which leads out of "
                       f"{directory} through a link: not written")
    return target


def _print(check: DocCheck, findings: Sequence[Finding], run: OutputCheck) -> None:
    names = ", ".join(p.scenario for p in check.programs)
    print(f"== {check.label} ({names})")
    for attribution in check.attributions:
        if attribution.source is not None:
            print(f"  block {check.label}:{attribution.code.line} shows {attribution.label} "
                  f"(named by the {attribution.how})")
    for confirmation in sorted([*check.confirmations, *run.confirmations], key=lambda c: c.line):
        print("  " + visible(confirmation.text()))
    for finding in findings:  # a finding may quote what the run printed
        print("  " + visible(finding.text()).replace("\n", "\n    "))
    print(f"  -> {summary(findings)}")


def _record(check: DocCheck, findings: Sequence[Finding], run: OutputCheck,
            kernel: str | None, outcomes: dict[str, Outcome] | None = None) -> dict[str, Any]:
    return {
        "document": check.label,
        "scenarios": [p.scenario for p in check.programs],
        "kernel": kernel,
        "programs_passed": {n: o.passed for n, o in (outcomes or {}).items()
                            if n in {p.scenario for p in check.programs}},
        "blocks": [{"line": a.code.line, "file": a.label, "how": a.how}
                   for a in check.attributions if a.source is not None],
        "confirmed": [c.to_json() for c in [*check.confirmations, *run.confirmations]],
        "findings": [f.to_json() for f in findings],
        "drift": bool(drifts(findings)),
    }


def _write_json(path: Path | None, records: list[dict[str, Any]]) -> None:
    if path is not None:
        path.write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n")

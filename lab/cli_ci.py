"""`lab ci plan`: the GitHub workflow's jobs (a stable shard of the tutorials per
target, the changed tutorials first), their cache keys and every cell the merge
expects; and `lab report --expect`, the merge that shows the cells no job
reported as missing."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.arches import ARCHES, arches_named
from lab.cache.catalog import load_catalog
from lab.ci.git_changes import NO_COMMIT, GitError, changed_paths
from lab.ci.plan import DEFAULT_SHARDS, make_plan
from lab.ci.tutorial_files import changed_tutorials
from lab.errors import LabError
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings
from lab.verdicts.expected import missing_cells, read_expected
from lab.verdicts.matrix_report import merge, read_json, write_reports

PLAN_FILE = "ci-plan.json"


def add_ci_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ci = commands.add_parser("ci", help="the GitHub workflow's plan: shards, cache keys, "
                                        "what runs first")
    actions = ci.add_subparsers(required=True, metavar="ACTION")
    plan = actions.add_parser(
        "plan", help="the jobs of the table, split in shards, as GitHub step outputs")
    plan.add_argument("--shards", type=int, default=DEFAULT_SHARDS, metavar="N",
                      help=f"shards per target (default: {DEFAULT_SHARDS}, see lab/ci/plan.py)")
    plan.add_argument("--arch", action="append", default=[], metavar="ARCH",
                      help="only the targets of these architectures (repeat or comma-separate: "
                           f"{', '.join(ARCHES)}; default: every one of the catalog)")
    plan.add_argument("--changed-since", default="", metavar="REV",
                      help="run first, on every target, the tutorials whose files changed "
                           "since this revision (default: none)")
    plan.add_argument("--out", type=Path, metavar="FILE",
                      help=f"where the whole plan goes (default: the output's {PLAN_FILE})")
    plan.set_defaults(handler=ci_plan)


def ci_plan(args: argparse.Namespace, settings: Settings) -> None:
    """Write the plan, print GitHub's step outputs; say what was planned on stderr."""
    catalog = load_catalog(settings.catalog_file)
    arches = {arch.name for arch in arches_named(args.arch)} if args.arch else set(ARCHES)
    targets = [name for name, entry in catalog.items() if entry.arch in arches]
    scenarios = load_scenarios(settings.scenarios_dir, catalog.keys())
    changed = _changed(settings.project, scenarios, args.changed_since.strip())
    plan = make_plan(settings.project, targets, scenarios, args.shards, changed)
    out: Path = args.out or settings.output / PLAN_FILE
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(plan.to_json(), encoding="utf-8")
    except OSError as error:
        raise LabError(f"cannot write the plan to {out}: {error}") from error
    print(plan.outputs(), end="")
    first = (f"; run first: {', '.join(plan.first)}" if plan.first else
             f"; changed, too many to run first: {', '.join(changed)}" if changed else "")
    print(f"{len(targets)} targets x {plan.shards} shards: {len(plan.shard_jobs)} shard jobs, "
          f"{len(plan.expected)} cells{first}; plan in {out}", file=sys.stderr)


def _changed(project: Path, scenarios: Sequence[Scenario], since: str) -> list[str]:
    """The tutorials a push changed. Without a base (a new branch, a manual run) none;
    a base git cannot find (a force-push) is a warning: the table still runs whole,
    only nothing runs first."""
    if not since or since == NO_COMMIT:
        return []
    try:
        paths = changed_paths(project, since)
    except GitError as error:
        print(f"lab: warning: {error}; no tutorial runs first", file=sys.stderr)
        return []
    return changed_tutorials(paths, scenarios, project)


def report_against_plan(columns: Sequence[Path], plan: Path, output: Path) -> int:
    """`lab report --expect PLAN`: the columns merged, each cell the plan expects and
    no column has shown as missing; 1 unless every cell agrees with its record."""
    cells = merge(read_json(columns))
    cells += missing_cells(cells, read_expected(plan))
    if output.exists() and not output.is_dir():
        raise LabError(f"{output}: not a directory (--out names where lab-report.md goes)")
    try:
        md, _ = write_reports(output, cells)
        print(md.read_text(encoding="utf-8"), end="")
    except OSError as error:
        raise LabError(f"cannot write the report into {output}: {error}") from error
    return 0 if all(cell.ok for cell in cells) else 1

"""`lab series`: the tutorial series the scenarios belong to, and a series'
compatibility table from the latest report, printed, or rewritten in place in a
Markdown file between its markers (lab.verdicts.marked_region), or checked there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lab.arches import ARCHES, DEFAULT_ARCH, arch_named
from lab.cache.catalog import load_catalog
from lab.errors import LabError
from lab.scenario import Scenario, load_scenarios
from lab.scenario.chapter_config import read_config
from lab.scenario.series import chapter_of, chosen_series, known_series
from lab.settings import Settings
from lab.verdicts.marked_region import begin_marker, drifted, replaced
from lab.verdicts.matrix_report import merge, read_json
from lab.verdicts.series_table import ChapterRow, line_key, series_table


def add_series_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    series = commands.add_parser("series", help="tutorial series: chapters and their table")
    actions = series.add_subparsers(required=True, metavar="ACTION")
    actions.add_parser("list", help="each series and its chapters").set_defaults(
        handler=series_list)
    table = actions.add_parser("table", help="a series' compatibility table from the report")
    table.add_argument("series", metavar="NAME")
    table.add_argument("columns", nargs="*", type=Path, metavar="COLUMN.json",
                       help="report columns (default: report/*.json of the output, "
                            "what `lab matrix` wrote last)")
    table.add_argument("--arch", default=DEFAULT_ARCH.name, choices=list(ARCHES),
                       help="the architecture whose lines are the columns (default: x86_64); "
                            "its table has markers of its own: `series-table NAME ARCH`")
    where = table.add_mutually_exclusive_group()
    where.add_argument("--update", type=Path, metavar="FILE",
                       help="rewrite the table between FILE's markers, nothing else")
    where.add_argument("--check", type=Path, metavar="FILE",
                       help="exit 1 when the table between FILE's markers differs")
    table.set_defaults(handler=series_table_command)


def _scenarios(settings: Settings) -> list[Scenario]:
    return load_scenarios(settings.scenarios_dir, load_catalog(settings.catalog_file).keys())


def series_list(args: argparse.Namespace, settings: Settings) -> None:
    scenarios = _scenarios(settings)
    for name in known_series(scenarios):
        members = [_row(s, settings.project) for s in chosen_series(scenarios, [name])]
        chapters = sorted(members, key=lambda r: (r.number, r.chapter))
        print(f"{name} ({len(chapters)}): " + ", ".join(
            r.chapter if r.chapter == r.tutorial else f"{r.chapter} ({r.tutorial})"
            for r in chapters))
    alone = [s.name for s in scenarios if not s.series]
    if alone:
        print(f"in no series ({len(alone)}): {', '.join(alone)}")


def _row(scenario: Scenario, project: Path) -> ChapterRow:
    """A chapter's row: where it stands in its series and what its .config declares."""
    chapter = chapter_of(scenario)
    if chapter is None:
        raise LabError(f"{scenario.path}: in series {scenario.series} but no chapter: name the "
                       "scenario after the chapter's directory (14-tcpstates) or name it in "
                       "`source` (src/14-tcpstates)")
    minimum = read_config(project / scenario.program)
    return ChapterRow(scenario.name, chapter.directory, chapter.number, minimum.describe(),
                      minimum.version)


def series_table_command(args: argparse.Namespace, settings: Settings) -> int:
    catalog = load_catalog(settings.catalog_file)
    # a chapter's minimum is per architecture: a table is one architecture's
    arch = arch_named(args.arch)
    lines = sorted((name for name, entry in catalog.items() if entry.arch == arch.name),
                   key=line_key)
    region = args.series if arch == DEFAULT_ARCH else f"{args.series} {arch.name}"
    members = chosen_series(_scenarios(settings), [args.series])
    columns = args.columns or sorted((settings.output / "report").glob("*.json"))
    if not columns:
        raise LabError(f"no report columns in {settings.output / 'report'}: run "
                       f"`lab matrix --series {args.series}` first, or name the columns")
    table = series_table([_row(s, settings.project) for s in members],
                         merge(read_json(columns)), lines, arch)
    target: Path | None = args.update or args.check
    if target is None:
        print(table, end="")
        return 0
    try:
        text = target.read_bytes().decode("utf-8")  # its line ends too are kept
    except (OSError, UnicodeDecodeError) as error:
        raise LabError(f"{target}: cannot read it: {error}") from error
    if args.check:
        if drifted(text, region, table, str(target)):
            print(f"{target}: the table of {region} (after `{begin_marker(region)}`) "
                  f"differs from the report; rewrite it with `lab series table {args.series} "
                  f"--arch {arch.name} --update {target}`", file=sys.stderr)
            return 1
        return 0
    try:
        target.write_bytes(replaced(text, region, table, str(target)).encode("utf-8"))
    except OSError as error:
        raise LabError(f"{target}: cannot write it: {error}") from error
    print(f"{target}: the table of {region} rewritten from {len(columns)} report "
          "column(s)", file=sys.stderr)
    return 0

"""Time `lab matrix` under the schedule it had before lab.schedule and under
today's, and bare virtme-ng doing the same work, side by side in one run.

    python bench/matrix_schedule.py --repeat 2
    python bench/matrix_schedule.py --repeat 1 --sides before,auto --tutorials all

Sides, in turn within each repetition (a machine getting busier or quieter hits
them alike):
- before: one line per core, each guest keeping 2 vCPUs (what `lab matrix` did
  before lab.schedule: --jobs <cores>, LAB_GUEST_CPUS=2, LAB_RUN_CPUS=0);
- auto: `lab matrix` as it is (--jobs auto, lab.schedule);
- offline: 2 vCPUs for the builds ahead, then one (LAB_GUEST_CPUS=2, LAB_RUN_CPUS=1);
- bare: per line one `vng --exec bench/bare_tutorials.sh` of the tutorials that
  pass there (bare_side.bare_tutorials, a hand-written run), as many lines at once
  and as many vCPUs each as the auto schedule chose. The bare script knows the
  five seeds only; with other tutorials, leave bare out of --sides.

Every lab side must give the same table (each cell's verdict) and agree with its
scenarios (lab matrix exits 0); else the benchmark stops and gives no time.
Writes its table into --output (BENCHMARKS.md) between its own markers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from arch_compare import write
from bare_side import bare_tutorials
from benchmark import SEEDS, machine
from measured import BenchError, run_script

from lab import interrupts
from lab.cache.catalog import load_catalog, load_lock
from lab.errors import LabError
from lab.guestvm.session import prepare
from lab.kernel_choice import parse_kernels
from lab.matrix import schedule
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings
from lab.verdicts.matrix_report import read_json


def markers(tutorials: str) -> tuple[str, str]:
    """The region of one selection of tutorials: the five seeds' and every
    tutorial's tables live side by side in BENCHMARKS.md."""
    return (f"<!-- BEGIN matrix_schedule.py: {tutorials} -->",
            f"<!-- END matrix_schedule.py: {tutorials} -->")

LAB_SIDES: Mapping[str, Mapping[str, str]] = {
    "before": {"LAB_GUEST_CPUS": "2", "LAB_RUN_CPUS": "0"},
    "auto": {},
    "offline": {"LAB_GUEST_CPUS": "2", "LAB_RUN_CPUS": "1"},
}
SIDES = (*LAB_SIDES, "bare")


def lab_side(side: str, lines: Sequence[str], names: Sequence[str], out: Path,
             cores: int) -> tuple[float, dict[tuple[str, str], str]]:
    """One `lab matrix` of the side's schedule: its wall time and each cell's verdict.
    A side keeps its output directory from one repetition to the next: its last
    report orders its lines (lab.schedule), as a user's would."""
    out.mkdir(parents=True, exist_ok=True)
    jobs = str(cores) if side == "before" else "auto"
    command = [sys.executable, "-m", "lab.cli", "matrix", *lines, "--jobs", jobs]
    if names:
        command += ["--scenario", ",".join(names)]
    environment = {**os.environ, "LAB_OUTPUT_DIR": str(out), **LAB_SIDES[side]}
    for name in ("LAB_GUEST_CPUS", "LAB_RUN_CPUS"):
        if name not in LAB_SIDES[side]:
            environment.pop(name, None)
    started = time.monotonic()
    with open(out / "matrix.log", "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=environment,
                              check=False)
    took = time.monotonic() - started
    cells = read_json([out / "lab-report.json"]) if (out / "lab-report.json").exists() else []
    if done.returncode != 0 or not cells:
        raise BenchError(f"{side}: lab matrix exited {done.returncode} after {took:.0f} s with "
                         f"{len(cells)} cell(s); see {out / 'matrix.log'}: no time is given for "
                         "a run that failed")
    return took, {(c.kernel, c.tutorial): c.verdict for c in cells}


def bare_side(settings: Settings, lines: Sequence[str], scenarios: Sequence[Scenario],
              jobs: int, cpus: int, work: Path) -> float:
    """Each line's passing tutorials in one bare vng run, `jobs` lines at once."""
    prepared = {line: prepare(settings, line) for line in lines}  # cached: not timed
    shutil.rmtree(work, ignore_errors=True)

    def one(line: str) -> float:
        passing = [s for s in scenarios if line not in s.incompatible]
        return bare_tutorials(settings, prepared[line], passing, work / line, cpus=cpus).total

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, lines))
    return time.monotonic() - started


def render(times: Mapping[str, list[float]], verdicts: dict[tuple[str, str], str],
           command: str, context: str, chosen: str, tutorials: str) -> str:
    begin, end = markers(tutorials)
    base = statistics.median(times["before"]) if times.get("before") else None
    bare = statistics.median(times["bare"]) if times.get("bare") else None
    out = [begin, "", f"`{command}`, {datetime.date.today().isoformat()}; {context}.", "",
           f"The auto schedule here: {chosen}.", "",
           "| side | median | min-max | runs | against before | against bare |",
           "|---|---|---|---|---|---|"]
    for side, values in times.items():
        median = statistics.median(values)
        against = f"{median / base:.2f}" if base else "—"
        versus_bare = f"{median / bare:.2f}" if bare else "—"
        out.append(f"| {side} | **{median:.1f} s** | {min(values):.1f}–{max(values):.1f} s | "
                   f"{', '.join(f'{v:.1f}' for v in values)} | {against} | {versus_bare} |")
    counted: dict[str, int] = {}
    for verdict in verdicts.values():
        counted[verdict] = counted.get(verdict, 0) + 1
    out += ["", f"Every lab side gave the same table: {len(verdicts)} cells ("
            + ", ".join(f"{n} {v}" for v, n in sorted(counted.items())) + ").", "", end]
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=2, help="repetitions per side (2)")
    parser.add_argument("--tutorials", default=",".join(SEEDS),
                        help="comma-separated, or `all` (default: the five seeds)")
    parser.add_argument("--lines", default="all", help="the lines (default: every x86_64 line)")
    parser.add_argument("--sides", default="before,auto,bare",
                        help=f"comma-separated, in the order run: {', '.join(SIDES)}")
    parser.add_argument("--output", type=Path, help="default: BENCHMARKS.md of the project")
    args = parser.parse_args(argv)
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if unknown := [s for s in sides if s not in SIDES]:
        parser.error(f"no side {', '.join(unknown)}: say {', '.join(SIDES)}")
    interrupts.install(interrupts.StopOnce())
    settings = Settings.from_env()
    try:
        catalog = load_catalog(settings.catalog_file)
        kernels = parse_kernels([args.lines], catalog, load_lock(settings.lock_file))
        known = {s.name: s for s in load_scenarios(settings.scenarios_dir, catalog.keys())}
    except LabError as error:
        raise BenchError(str(error)) from error
    every = args.tutorials.strip() == "all"
    names = [] if every else [n.strip() for n in args.tutorials.split(",") if n.strip()]
    if unknown := [n for n in names if n not in known]:
        raise BenchError(f"no scenario {', '.join(unknown)}")
    lines = [k.line for k in kernels]
    cores = os.cpu_count() or 1
    chosen = schedule(settings, lines, scenarios=names)
    work = (settings.output / "matrix-schedule").resolve()
    times: dict[str, list[float]] = {side: [] for side in sides}
    tables: dict[str, dict[tuple[str, str], str]] = {}
    for attempt in range(1, args.repeat + 1):
        for side in sides:
            if side == "bare":
                took = bare_side(settings, lines, [known[n] for n in names], chosen.jobs,
                                 chosen.guest_cpus, work / "bare")
            else:
                took, table = lab_side(side, lines, names, work / side, cores)
                if tables and table != next(iter(tables.values())):
                    raise BenchError(f"{side} gave another table than {next(iter(tables))}: "
                                     "the schedule changed a verdict")
                tables[side] = table
            times[side].append(took)
            print(f"{side} #{attempt}: {took:.1f} s", file=sys.stderr, flush=True)
    command = "python bench/matrix_schedule.py " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    facts = machine()
    context = (f"{len(lines)} lines ({', '.join(lines)}) x "
               f"{'every tutorial' if every else ', '.join(names)}; warm caches; "
               f"{facts['cores']} cores, {facts['cpu']}")
    selection = "all" if every else ",".join(names)
    generated = render(times, next(iter(tables.values())) if tables else {}, command, context,
                       chosen.describe(), selection)
    write(args.output or settings.project / "BENCHMARKS.md", generated, *markers(selection))
    print(generated)


if __name__ == "__main__":
    run_script(main, "matrix_schedule")

"""Time the same tutorials on one line's x86_64 and arm64 guests, side by side.

    python bench/arch_compare.py --kernel 6.1 --repeat 3

One run, warm caches, repetitions alternating the architectures (x86_64, arm64,
x86_64, ...), so that a machine getting busier or quieter hits both alike. Each
repetition is KernelLab as the pytest plugin drives it (lab_side.lab_tutorials):
prepare, boot, builds ahead, every tutorial, power-off; every cell is judged by
cell_for as every command judges one. A cell may be what its scenario records for
that target (an expected incompatibility on arm64 is arm64's real cost, shown per
tutorial): anything else stops the benchmark, so no time is given for a broken run.

Writes its table into --output (BENCHMARKS.md) between its own markers, and
prints it: each side's median and min-max, the ratio of the medians (arm64 over
x86_64), and each tutorial's verdict and median time on each side.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import lab_side
from measured import BenchError, LabRun, run_script

from lab import interrupts
from lab.arches import ARM64, target_name
from lab.errors import LabError
from lab.guestvm.session import prepare
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import Cell, cell_for

SEEDS = ("minimal", "kprobe-link", "bashreadline", "uprobe-simple", "strlen-snoop")
BEGIN, END = "<!-- BEGIN arch_compare.py -->", "<!-- END arch_compare.py -->"


def recorded_verdicts(seen: dict[str, list[Cell]]) -> Callable[[Outcome, Scenario, str], Cell]:
    """lab_side.judged, widened: a cell that agrees with its scenario's record is
    timed (on arm64 a recorded build failure is what a reader's run costs there)."""
    def judged(outcome: Outcome, scenario: Scenario, line: str) -> Cell:
        cell = cell_for(outcome, scenario, line)
        if not cell.ok:
            raise BenchError(f"{line}: {scenario.name}: {cell.verdict} at {cell.stage}: "
                             f"{cell.reason}\n(evidence in {outcome.evidence})")
        seen.setdefault(line, []).append(cell)
        return cell
    return judged


def measure(settings: Settings, targets: Sequence[str], scenarios: Sequence[Scenario],
            repeat: int, work: Path,
            judge: Callable[[Outcome, Scenario, str], Cell]) -> dict[str, list[LabRun]]:
    runs: dict[str, list[LabRun]] = {target: [] for target in targets}
    for attempt in range(1, repeat + 1):
        for target in targets:
            run = lab_side.lab_tutorials(settings, target, scenarios,
                                         work / f"{target}-{attempt}", judge=judge)
            print(f"{target} #{attempt}: {run.total:.1f} s", file=sys.stderr, flush=True)
            runs[target].append(run)
    return runs


def render(runs: dict[str, list[LabRun]], cells: dict[str, list[Cell]],
           scenarios: Sequence[Scenario], command: str, accel: str) -> str:
    x86, arm = list(runs)
    medians = {t: statistics.median(r.total for r in runs[t]) for t in runs}
    span = {t: f"{min(r.total for r in runs[t]):.1f}-{max(r.total for r in runs[t]):.1f}"
            for t in runs}
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out = [BEGIN, "",
           f"Measured {datetime.date.today().isoformat()} on {os.cpu_count()} cores "
           f"({platform.machine()}), {accel}; load average at the end: {load}.", "",
           f"Command: `{command}`", "",
           "| work | " + " | ".join(f"{t} median | {t} min-max" for t in runs)
           + " | arm64 / x86_64 |",
           "|---|" + "---|---|" * len(runs) + "---|",
           f"| prepare, boot, {len(scenarios)} tutorials, power-off | "
           + " | ".join(f"{medians[t]:.1f} s | {span[t]}" for t in runs)
           + f" | **{medians[arm] / medians[x86]:.2f}** |", "",
           "| tutorial | " + " | ".join(f"{t} verdict | {t} median" for t in runs) + " |",
           "|---|" + "---|---|" * len(runs)]
    for scenario in scenarios:
        row = []
        for target in runs:
            verdicts = {c.verdict for c in cells.get(target, []) if c.tutorial == scenario.name}
            times = [s.total for r in runs[target] for s in r.scenarios if s.name == scenario.name]
            row += [", ".join(sorted(verdicts)) or "-",
                    f"{statistics.median(times):.1f} s" if times else "-"]
        out.append(f"| `{scenario.name}` | " + " | ".join(row) + " |")
    boots = {t: statistics.median(r.boot.uptime for r in runs[t]) for t in runs}
    out += ["", "Guest side of each boot (the kernel's start to the lab's prompt, median): "
            + ", ".join(f"{t} {boots[t]:.1f} s" for t in runs) + ".", "", END]
    return "\n".join(out) + "\n"


def write(output: Path, generated: str, begin: str = BEGIN, end: str = END) -> None:
    """Between the markers if the file has them, else appended to it."""
    text = output.read_text() if output.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + generated.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + generated
    output.write_text(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="6.1", help="the line (default 6.1)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per side (3)")
    parser.add_argument("--tutorials", default=",".join(SEEDS))
    parser.add_argument("--output", type=Path, help="default: BENCHMARKS.md of the project")
    args = parser.parse_args(argv)
    interrupts.install(interrupts.StopOnce())
    settings = Settings.from_env()
    known = {s.name: s for s in load_scenarios(settings.scenarios_dir)}
    names = [n.strip() for n in args.tutorials.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BenchError(f"no scenario {', '.join(unknown)}")
    scenarios = [known[n] for n in names]
    targets = [args.kernel, target_name(args.kernel, ARM64)]
    cells: dict[str, list[Cell]] = {}
    began = time.monotonic()
    try:
        runs = measure(settings, targets, scenarios, args.repeat,
                       (settings.output / "arch-compare").resolve(), recorded_verdicts(cells))
    except LabError as error:
        raise BenchError(str(error)) from error
    command = "python bench/arch_compare.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    accel = ", ".join(f"{target} under {prepare(settings, target).accel.accel}"
                      for target in targets)  # cached by now: no probe, no build
    generated = render(runs, cells, scenarios, command,
                       f"{accel}, {time.monotonic() - began:.0f} s in all")
    write(args.output or settings.project / "BENCHMARKS.md", generated)
    print(generated)


if __name__ == "__main__":
    run_script(main, "arch_compare")

"""Time the lab against bare virtme-ng doing the same work; write BENCHMARKS.md.

    python bench/benchmark.py --kernel 6.1 --repeat 5
    python bench/benchmark.py --quick --kernel 6.1 --output /tmp/quick.md

One run, on a warm cache, repetitions alternating lab and bare (lab boot, bare
boot, lab tutorials, bare tutorials; again), so that a machine getting busier
or quieter hits both sides alike. For each side: median, min and max; the
ratio is of the medians.

- boot: the lab's GuestVM (pexpect console, prompt set up, then sysrq
  power-off) against `vng --exec true`;
- tutorials: the lab (KernelLab: prepare, boot, run each scenario, every one
  must pass, power off) against one `vng --exec` of bench/bare_tutorials.sh,
  which does the same builds, loads, readiness waits, workloads, captures and
  checks by hand, and exits non-zero when a check fails (then no time is given).

The bare side is the vng command line one would write by hand (bare_argv):
the Debian package's kernel image, the guest root as a 9p directory, the lab's
CPUs, memory and shares. The lab boots its own way (lab.guestvm.session).

Also a profile: each lab boot split into host side (vng, QEMU, firmware) and
guest side (/proc/uptime read at the first prompt); the lab run and the bare run
whose totals are the medians, step by step side by side, then per scenario and
per stage (the keys of Outcome.timings, whatever they are, in their order).

--quick: one repetition, the boot and the minimal tutorial only (tests/bench).
The report goes between the markers of --output, whose other text is kept; a
new file starts from bench/BENCHMARKS.template.md.

The modules beside this one: measured.py (what a repetition measured),
lab_side.py, bare_side.py, profile_tables.py, report_cells.py and
report_markdown.py (the Markdown and the file it goes in).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bare_side import BARE_SCRIPT, bare_argv, bare_boot, bare_guest, bare_tutorials, shown_command
from lab_side import lab_boot, lab_tutorials, vng_dry_run
from measured import BenchError, Results, Series, T
from report_cells import Context
from report_markdown import render, short, write_report

from lab import interrupts
from lab.errors import LabError
from lab.guestvm.session import Prepared, prepare
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings

SEEDS = ("minimal", "kprobe-link", "bashreadline", "uprobe-simple", "strlen-snoop")
QUICK = ("minimal",)


def timed(label: str, attempt: int, action: Callable[[], T], seconds: Callable[[T], float]) -> T:
    result = action()
    print(f"{label} #{attempt}: {seconds(result):.1f} s", file=sys.stderr, flush=True)
    return result


def measure(settings: Settings, line: str, prepared: Prepared, scenarios: Sequence[Scenario],
            repeat: int, work: Path, sides: str = "both", script: Path = BARE_SCRIPT,
            cold_builds: bool = False) -> Results:
    names = ", ".join(s.name for s in scenarios)
    count = f"{len(scenarios)} tutorial{'s' if len(scenarios) > 1 else ''}"
    results = Results(Series("boot to a usable shell and power off"),
                      Series(f"boot + {count} ({names})"))
    lab, bare = sides in ("both", "lab"), sides in ("both", "bare")
    for attempt in range(1, repeat + 1):
        results.dry_runs.append(vng_dry_run(settings, prepared, work / "dry-run"))
        if lab:
            boot = timed("lab boot", attempt,
                         lambda: lab_boot(settings, prepared, work / "lab-boot"),
                         lambda b: b.total)
            results.lab_boots.append(boot)
            results.boot.lab.append(boot.total)
        if bare:
            results.boot.bare.append(timed("bare boot", attempt,
                                           lambda: bare_boot(prepared, work / "bare-boot"),
                                           lambda s: s))
        if lab:
            run = timed("lab tutorials", attempt,
                        lambda: lab_tutorials(settings, line, scenarios, work / "lab",
                                              cold_builds),
                        lambda r: r.total)
            results.lab_runs.append(run)
            results.tutorials.lab.append(run.total)
        if bare:
            bare_run = timed("bare tutorials", attempt,
                             lambda: bare_tutorials(settings, prepared, scenarios,
                                                    work / "bare-tutorials", script),
                             lambda r: r.total)
            results.bare_runs.append(bare_run)
            results.tutorials.bare.append(bare_run.total)
    return results


def chosen_scenarios(settings: Settings, line: str, names: Sequence[str]) -> list[Scenario]:
    """The named scenarios, in that order; one measured incompatible with the line is
    refused, not skipped: a run that cannot pass gives no time."""
    known = {s.name: s for s in load_scenarios(settings.scenarios_dir)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BenchError(f"no scenario {', '.join(unknown)} in {settings.scenarios_dir}")
    refused = [f"{n} ({known[n].incompatible[line].reason})"
               for n in names if line in known[n].incompatible]
    if refused:
        raise BenchError(f"on {line} these are expected to fail, so neither side could be "
                         f"timed: {'; '.join(refused)}. Use another --kernel (6.1 is the "
                         "default) or leave them out with --tutorials")
    return [known[n] for n in names]


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": str(os.cpu_count()), "cpu": model, "arch": platform.machine(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "qemus": str(len(qemu_processes()))}


def qemu_processes() -> list[int]:
    """The QEMU processes running now (anyone's): the machine's other load."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("qemu-system"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def version(command: Sequence[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
    except OSError as error:
        return f"unknown ({error})"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="6.1", help="kernel line (default 6.1)")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions per side (5)")
    parser.add_argument("--tutorials", default=",".join(SEEDS),
                        help="comma-separated scenarios (default: the five seeds)")
    parser.add_argument("--quick", action="store_true",
                        help="1 repetition, the boot and minimal only (the suite's check)")
    parser.add_argument("--side", choices=("both", "lab", "bare"), default="both",
                        help="time one side only (no ratio)")
    parser.add_argument("--no-build-cache", action="store_true",
                        help="the lab builds every tutorial, as the bare run does "
                             "(LAB_BUILD_CACHE=0)")
    parser.add_argument("--cold-builds", action="store_true",
                        help="the lab's build cache starts empty in each repetition: the "
                             "lab builds what it lacks ahead, two at a time")
    parser.add_argument("--output", type=Path,
                        help="report (default: BENCHMARKS.md of the project)")
    parser.add_argument("--work", type=Path,
                        help="scratch directory, emptied first (default: lab-output/bench)")
    parser.add_argument("--bare-script", type=Path, default=BARE_SCRIPT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.tutorials = 1, ",".join(QUICK)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.cold_builds and args.no_build_cache:
        parser.error("--cold-builds needs the build cache: it starts it empty")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    interrupts.install(interrupts.StopOnce())  # SIGTERM like Ctrl-C: guests powered off
    try:
        settings = Settings.from_env()
        if args.no_build_cache:
            settings = dataclasses.replace(settings, build_cache=False)
        scenarios = chosen_scenarios(settings, args.kernel,
                                     [n.strip() for n in args.tutorials.split(",") if n.strip()])
        began = time.monotonic()
        prepared = prepare(settings, args.kernel)
        prepare_s = time.monotonic() - began
    except LabError as error:
        raise BenchError(str(error)) from error
    output = args.output or settings.project / "BENCHMARKS.md"
    work = (args.work or settings.output / "bench").resolve()
    shutil.rmtree(work, ignore_errors=True)
    context = Context(
        date=datetime.date.today().isoformat(),
        command="python bench/benchmark.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        line=args.kernel, release=prepared.kernel.release, accel=prepared.accel.accel,
        accel_reason=short(prepared.accel.reason), repeat=args.repeat, machine=machine(),
        qemu=version(["qemu-system-x86_64", "--version"]), vng=version(["vng", "--version"]),
        prepare=prepare_s,
        bare_command=shown_command(bare_argv(bare_guest(prepared, work / "bare-tutorials"),
                                             "bash /lab/ro/bare_tutorials.sh TUTORIAL..."),
                                   settings, work),
        build_cache=settings.build_cache, cold_builds=args.cold_builds)
    results = measure(settings, args.kernel, prepared, scenarios, args.repeat, work,
                      args.side, args.bare_script, args.cold_builds)
    generated = render(results, context, args.quick)
    write_report(output, generated)
    print(generated)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt as stop:
        print(f"benchmark: stopped ({stop}); no report written", file=sys.stderr)
        sys.exit(130)

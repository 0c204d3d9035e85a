"""Time the lab against bare virtme-ng doing the same work; write BENCHMARKS.md.

    python bench/benchmark.py --kernel 6.1 --repeat 3

Two measurements, each the median of --repeat runs on a warm cache:
- boot: the lab's GuestVM (pexpect console, prompt set up, then sysrq power-off)
  against `vng --exec true` with the same kernel, root and shares;
- tutorials: the lab booting and running the minimal, kprobe-link,
  uprobe-simple and strlen-snoop scenarios (build, load, wait until attached,
  workload, capture, check, clean up) against one `vng --exec` of
  bench/bare_tutorials.sh, which does that work by hand.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lab.guestvm.guest_files import install_guest_files
from lab.guestvm.session import KernelLab, guest_spec, prepare
from lab.guestvm.vm import GuestVM
from lab.guestvm.vng_command import vng_command
from lab.settings import Settings

TUTORIALS = ("minimal", "kprobe-link", "uprobe-simple", "strlen-snoop")
BENCH_DIR = Path(__file__).resolve().parent


def timed(action: Callable[[], None], repeat: int, label: str) -> list[float]:
    times = []
    for attempt in range(1, repeat + 1):
        started = time.monotonic()
        action()
        times.append(time.monotonic() - started)
        print(f"{label} #{attempt}: {times[-1]:.1f} s", file=sys.stderr, flush=True)
    return times


def bare_vng(settings: Settings, line: str, command: str, work: Path) -> None:
    """One `vng --exec`. Without a terminal, virtme-ng runs the script on the
    console and cannot return its status (it exits 255), so the script proves
    it finished by leaving a file in the shared directory."""
    spec = guest_spec(prepare(settings, line), work)
    marker = work / "bare-finished"
    marker.unlink(missing_ok=True)
    done = subprocess.run(vng_command(spec, ["--exec", f"{command} && touch /lab/{marker.name}"]),
                          capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if not marker.exists():
        raise SystemExit(f"bare vng run failed ({done.returncode}):\n{done.stdout[-2000:]}"
                         f"\n{done.stderr[-2000:]}")


def bare_tutorials(settings: Settings, line: str, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    (work / "bare").mkdir(parents=True)
    shutil.copytree(settings.programs_dir, work / "bare" / "src")
    shutil.copy(BENCH_DIR / "bare_tutorials.sh", work / "bare" / "run.sh")
    install_guest_files(work)
    bare_vng(settings, line, "bash /lab/bare/run.sh", work)


def lab_boot(settings: Settings, line: str, work: Path) -> None:
    spec = guest_spec(prepare(settings, line), work)
    with GuestVM(spec, work / "console.log"):
        pass


def lab_tutorials(settings: Settings, line: str) -> None:
    from lab.scenario import load_scenarios

    scenarios = [s for s in load_scenarios(settings.scenarios_dir) if s.name in TUTORIALS]
    with KernelLab(settings, line) as lab:
        for scenario in scenarios:
            outcome = lab.run(scenario)
            if not outcome.passed:
                raise SystemExit(f"{scenario.name} failed: {outcome.message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="6.1")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    settings = Settings.from_env()
    prepared = prepare(settings, args.kernel)
    work = settings.output / "bench"
    rows = []
    for name, lab_action, bare_action in (
        ("boot to a shell and power off",
         lambda: lab_boot(settings, args.kernel, work / "lab-boot"),
         lambda: bare_vng(settings, args.kernel, "true", work / "bare-boot")),
        (f"boot + {len(TUTORIALS)} tutorials ({', '.join(TUTORIALS)})",
         lambda: lab_tutorials(settings, args.kernel),
         lambda: bare_tutorials(settings, args.kernel, work / "bare-tutorials")),
    ):
        (work / "lab-boot").mkdir(parents=True, exist_ok=True)
        (work / "bare-boot").mkdir(parents=True, exist_ok=True)
        lab = statistics.median(timed(lab_action, args.repeat, f"lab: {name}"))
        bare = statistics.median(timed(bare_action, args.repeat, f"bare vng: {name}"))
        rows.append(f"| {name} | {lab:.1f} s | {bare:.1f} s | {lab / bare:.2f} |")
    write_report(args, prepared.kernel.release, prepared.accel.accel, rows)


def write_report(args: argparse.Namespace, release: str, accel: str, rows: list[str]) -> None:
    today = datetime.date.today().isoformat()
    text = f"""# Benchmarks

Measured {today} on this project's machine ({os.cpu_count()} cores, {platform.machine()},
acceleration {accel}), kernel {release}, warm cache, median of {args.repeat} runs.

Command: `python bench/benchmark.py --kernel {args.kernel} --repeat {args.repeat}`

| work | lab | bare vng | lab / bare |
|---|---|---|---|
{chr(10).join(rows)}

"bare vng" is one `vng --exec` call with the same kernel, root and 9p shares:
`true` for the boot, and `bench/bare_tutorials.sh` (the same builds, loads,
readiness waits, workloads and captures, written by hand) for the tutorials.
The lab's boot costs its console set-up (pexpect, a prompt, echo off). For
the tutorials the lab also checks expectations and cleans up after each one
(programs unloaded, trace cleared), yet it can come out ahead: it waits for
readiness by reading the shared files from the host, while the shell script
polls with grep inside the guest, a new process every tenth of a second under
emulation (and, for strlen-snoop, more strlen events for bcc to print).
"""
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

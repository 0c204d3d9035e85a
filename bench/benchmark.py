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
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from lab import interrupts
from lab.cache.build_cache import BUILDS
from lab.errors import LabError
from lab.guestvm.console import GuestConsole
from lab.guestvm.guest_files import install_guest_files
from lab.guestvm.session import KernelLab, Prepared, guest_spec, prepare
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vm import GuestVM
from lab.guestvm.vng_command import vng_command
from lab.guestvm.workspace import share_dirs
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings

SEEDS = ("minimal", "kprobe-link", "bashreadline", "uprobe-simple", "strlen-snoop")
QUICK = ("minimal",)
BENCH_DIR = Path(__file__).resolve().parent
BARE_SCRIPT = BENCH_DIR / "bare_tutorials.sh"
TEMPLATE = BENCH_DIR / "BENCHMARKS.template.md"
BEGIN = "<!-- BEGIN benchmark.py: generated, rewritten by every run -->"
END = "<!-- END benchmark.py -->"
BARE_MARKER = "bare-finished"  # touched in the share once the bare command exited 0
# what bare_tutorials.sh writes in the share as it starts, and just before it exits 0
BARE_STARTED, BARE_DONE = "out/times", "out/finished"
WATCH_POLL_S = 0.02
BOOT_TIMEOUT_S = 300.0
TUTORIALS_TIMEOUT_S = 1200.0
# issue #9's targets
BOOT_TARGET_S = 5.0
TUTORIALS_TARGET_S = 45.0
RATIO_TARGET = 0.85

T = TypeVar("T")


class BenchError(SystemExit):
    """A side could not do its work: no time is given for it, the run stops."""

    def __init__(self, message: str) -> None:
        super().__init__(f"benchmark: {message}")


# --- what one repetition measured ------------------------------------------------

@dataclass
class Stages:
    """One tutorial of one run: seconds per stage, in order, and in all."""

    name: str
    timings: dict[str, float]
    total: float
    build_reused: bool | None = None  # the lab's build cache; None: nothing to build, or bare

    @property
    def outside(self) -> float:
        """The scenario's time that no stage accounts for."""
        return self.total - sum(self.timings.values())


@dataclass
class LabBoot:
    """One lab boot: GuestVM started, /proc/uptime read, powered off."""

    total: float  # start to powered off, the uptime read left out
    to_shell: float  # GuestVM.boot_seconds: spawned to a set-up prompt
    uptime: float  # the guest's /proc/uptime at that prompt
    probe: float  # how long reading it took (the uptime is taken within it)
    poweroff: float

    @property
    def host_side(self) -> float:
        """vng's start-up, QEMU's, the firmware: spawned until the kernel started."""
        return self.to_shell + self.probe / 2 - self.uptime

    @property
    def guest_side(self) -> float:
        return self.to_shell - self.host_side


@dataclass
class LabRun:
    """One lab run of the tutorials."""

    total: float
    prepare: float
    start: float  # KernelLab.start once prepared: boot and the runner's set-up
    boot: LabBoot  # to_shell, uptime and probe (total and poweroff unused)
    scenarios: list[Stages]
    close: float
    ahead: float = 0.0  # KernelLab.prebuild: builds the cache lacked, side by side

    @property
    def runner_setup(self) -> float:
        return self.start - self.boot.to_shell


@dataclass
class VngRun:
    """One bare `vng --exec`: wall time, and when (seconds after spawning vng) the
    watched files appeared in the share."""

    total: float
    seen: dict[str, float]
    output: str


@dataclass
class BareRun:
    """One bare run of the tutorials; the guest side from the script's times file."""

    total: float
    uptime: float | None  # the guest's /proc/uptime as the script started
    started: float | None  # host seconds from spawning vng to the script's start
    finished: float | None  # ... to the script's last line
    tutorials: list[Stages] = field(default_factory=list)

    @property
    def host_side(self) -> float | None:
        if self.started is None or self.uptime is None:
            return None
        return self.started - self.uptime


@dataclass
class Series:
    """The repetitions of one row, both sides."""

    work: str
    lab: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """median, min, max"""
    return statistics.median(values), min(values), max(values)


def median_run(runs: Sequence[T], total: Callable[[T], float]) -> tuple[int, T]:
    """The run whose total is the median (the lower one of an even count), and its index."""
    order = sorted(range(len(runs)), key=lambda i: total(runs[i]))
    index = order[(len(order) - 1) // 2]
    return index, runs[index]


# --- the lab's side --------------------------------------------------------------

def read_uptime(console: GuestConsole) -> tuple[float, float]:
    """The guest's uptime (seconds since its kernel started) and how long the read took."""
    started = time.monotonic()
    output = console.check("cat /proc/uptime", 30)
    return float(output.split()[0]), time.monotonic() - started


def lab_boot(settings: Settings, prepared: Prepared, work: Path) -> LabBoot:
    """A GuestVM as KernelLab boots one (same spec), started and powered off."""
    share, ro = share_dirs(work)
    vm = GuestVM(guest_spec(prepared, share, ro, settings.guest_append), work / "console.log")
    started = time.monotonic()
    try:
        vm.start()
        uptime, probe = read_uptime(vm.console)
        closing = time.monotonic()
    finally:
        vm.close()
    ended = time.monotonic()
    return LabBoot(ended - started - probe, vm.boot_seconds, uptime, probe, ended - closing)


def cold_build_cache(cache: Path, where: Path) -> Path:
    """A scratch cache whose entries link to the real cache's, all but the stored
    builds: a lab run with it builds everything, the rest stays warm."""
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    for entry in cache.iterdir():
        if entry.name != BUILDS:
            (where / entry.name).symlink_to(entry)
    return where


def lab_tutorials(settings: Settings, line: str, scenarios: Sequence[Scenario],
                  work: Path, cold_builds: bool = False) -> LabRun:
    """KernelLab as the pytest plugin drives it, in its own output directory. The
    uptime is read once the lab has started (after the runner's set-up): the
    boot's split comes out right, and the read is left out of the total."""
    lab_settings = dataclasses.replace(settings, output=work)
    if cold_builds:
        lab_settings = dataclasses.replace(
            lab_settings, cache=cold_build_cache(settings.cache, work.parent / "cold-cache"))
    started = time.monotonic()
    lab = KernelLab(lab_settings, line)
    done: list[Stages] = []
    try:
        lab.prepared = prepare(lab_settings, line)  # what lab.start() would do first
        prepared = time.monotonic()
        lab.start()
        if lab.failure is not None:
            raise BenchError(f"lab: {lab.failure}")
        vm = lab_vm(lab)
        uptime, probe = read_uptime(vm.console)
        start = time.monotonic() - prepared - probe
        # the uptime as it was at the set-up prompt, before the runner's set-up
        boot = LabBoot(0.0, vm.boot_seconds, uptime - (start - vm.boot_seconds), probe, 0.0)
        ahead_began = time.monotonic()
        lab.prebuild(scenarios)  # as the pytest plugin does once a line has booted
        ahead = time.monotonic() - ahead_began
        for scenario in scenarios:
            began = time.monotonic()
            outcome = lab.run(scenario)
            if not outcome.passed:
                raise BenchError(f"lab: {scenario.name} failed at {outcome.stage}: "
                                 f"{outcome.message}\n(evidence in {outcome.evidence})")
            reused = outcome.build_reused is not None if scenario.build else None
            done.append(Stages(scenario.name, dict(outcome.timings), time.monotonic() - began,
                               reused))
        closing = time.monotonic()
    finally:
        lab.close()
    ended = time.monotonic()
    return LabRun(ended - started - probe, prepared - started, start, boot, done,
                  ended - closing, ahead)


def lab_vm(lab: KernelLab) -> GuestVM:
    """The booted guest of a KernelLab (a private attribute: KernelLab has no public one)."""
    vm = getattr(lab, "_vm", None)
    if not isinstance(vm, GuestVM):
        raise BenchError("lab: KernelLab has no booted guest in `_vm`; bench/benchmark.py "
                         "needs it to read the guest's uptime")
    return vm


# --- the bare side ---------------------------------------------------------------

@dataclass(frozen=True)
class Bare:
    """A bare run's guest: the package's kernel image, the root, the shares."""

    image: Path
    modules: Path
    release: str
    rootfs: Path
    share: Path  # /lab, read-write
    ro: Path  # /lab/ro, read-only
    accel: str


def bare_guest(prepared: Prepared, work: Path) -> Bare:
    share, ro = share_dirs(work)
    return Bare(prepared.build.image, prepared.build.modules, prepared.build.release,
                prepared.rootfs, share, ro, prepared.accel.accel)


def bare_argv(bare: Bare, command: str) -> list[str]:
    """The vng command line one would write by hand: the Debian package's kernel
    image, the root directory, the module tree and the shares the lab uses, the
    lab's CPUs and memory, 9p as vng's --root has it. Written out here, not
    vng_command(): the lab's own boot path and options must not speed up its
    baseline."""
    argv = ["vng", "--run", str(bare.image), "--root", str(bare.rootfs), "--force-9p",
            "--cpus", "2", "--memory", "2G",
            "--rodir", f"/usr/lib/modules/{bare.release}={bare.modules}",
            "--rwdir", f"/lab={bare.share}", "--rodir", f"/lab/ro={bare.ro}"]
    if bare.accel == "tcg":
        argv.append("--disable-kvm")
    return [*argv, "--exec", f"{command} && touch /lab/{BARE_MARKER}"]


def run_vng(bare: Bare, command: str, timeout: float, watch: Sequence[str] = ()) -> VngRun:
    """One `vng --exec`. Without a terminal virtme-ng runs the command on the console,
    shows none of its output and cannot return its status (it exits 255), so the
    command proves it finished by leaving a file in the shared directory: no file,
    no time. Meanwhile a thread notes when the `watch` files appear in the share."""
    marker = bare.share / BARE_MARKER
    marker.unlink(missing_ok=True)
    log = bare.share.parent / "vng.log"  # beside the shares, out of the guest's reach
    seen: dict[str, float] = {}
    stop = threading.Event()
    timed_out: list[bool] = []

    def watcher(started: float, group: int) -> None:
        while not stop.wait(WATCH_POLL_S):
            now = time.monotonic() - started
            for name in watch:
                if name not in seen and (bare.share / name).exists():
                    seen[name] = now
            if now > timeout:
                timed_out.append(True)
                os.killpg(group, signal.SIGKILL)
                return

    with open(log, "w") as out:
        started = time.monotonic()
        process = subprocess.Popen(bare_argv(bare, command), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        thread = threading.Thread(target=watcher, args=(started, process.pid), daemon=True)
        thread.start()
        try:
            process.wait()
        except BaseException:  # Ctrl-C, SIGTERM: no QEMU may outlive us
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        finally:
            total = time.monotonic() - started
            stop.set()
            thread.join()
    output = log.read_text(errors="replace")
    if timed_out:
        raise BenchError(f"bare: `{command}` still ran after {timeout:.0f} s: stopped\n"
                         f"vng's output, last lines:\n{output[-3000:]}")
    if not marker.exists():
        failed = read_untrusted(bare.share, "out/failed").strip()
        raise BenchError(f"bare: `{command}` failed (vng exited {process.returncode})"
                         + (f": {failed}" if failed else ", with no reason written")
                         + f"\nvng's output, last lines:\n{output[-3000:]}")
    return VngRun(total, seen, output)


def bare_boot(prepared: Prepared, work: Path) -> float:
    return run_vng(bare_guest(prepared, work), "true", BOOT_TIMEOUT_S).total


def bare_tutorials(settings: Settings, prepared: Prepared, scenarios: Sequence[Scenario],
                   work: Path, script: Path = BARE_SCRIPT) -> BareRun:
    """The script, the sources and the lab's ecli in the read-only share (not timed:
    a hand-written run has them in place), then one timed `vng --exec`."""
    bare = bare_guest(prepared, work)
    for scenario in scenarios:
        shutil.copytree(settings.project / scenario.program, bare.ro / "src" / scenario.name)
    shutil.copy(script, bare.ro / "bare_tutorials.sh")
    install_guest_files(bare.ro)
    (bare.share / "out").mkdir()
    names = " ".join(s.name for s in scenarios)
    run = run_vng(bare, f"bash /lab/ro/bare_tutorials.sh {names}", TUTORIALS_TIMEOUT_S,
                  (BARE_STARTED, BARE_DONE))
    uptime, tutorials = parse_bare_times(read_untrusted(bare.share, BARE_STARTED))
    return BareRun(run.total, uptime, run.seen.get(BARE_STARTED), run.seen.get(BARE_DONE),
                   tutorials)


def parse_bare_times(text: str) -> tuple[float | None, list[Stages]]:
    """The script's times file: `guest-uptime U`, then `tutorial stage T` as each
    stage starts and `tutorial end T` after its check (T: $EPOCHREALTIME)."""
    uptime: float | None = None
    marks: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "guest-uptime":
            uptime = float(words[1].replace(",", "."))
        elif len(words) == 3:
            marks.setdefault(words[0], []).append((words[1], float(words[2].replace(",", "."))))
    tutorials = []
    for name, stamps in marks.items():
        timings = {stage: round(later - at, 2)
                   for (stage, at), (_, later) in zip(stamps, stamps[1:], strict=False)}
        tutorials.append(Stages(name, timings, stamps[-1][1] - stamps[0][1]))
    return uptime, tutorials


def shown_command(argv: Sequence[str], settings: Settings, work: Path) -> str:
    """A command line with the cache and scratch paths named, not spelled out."""
    return (shlex.join(argv).replace(str(settings.cache), "$CACHE")
            .replace(str(work), "$WORK"))


def vng_dry_run(settings: Settings, prepared: Prepared, work: Path) -> float:
    """virtme-ng's own start-up (Python, argument handling), no QEMU: part of the host
    side of the lab's boot."""
    share, ro = share_dirs(work)
    started = time.monotonic()
    subprocess.run(vng_command(guest_spec(prepared, share, ro), ["--dry-run"]),
                   capture_output=True, check=True, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


# --- the run ---------------------------------------------------------------------

@dataclass
class Results:
    boot: Series
    tutorials: Series
    lab_boots: list[LabBoot] = field(default_factory=list)
    lab_runs: list[LabRun] = field(default_factory=list)
    bare_runs: list[BareRun] = field(default_factory=list)
    dry_runs: list[float] = field(default_factory=list)


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


# --- the report ------------------------------------------------------------------

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


@dataclass(frozen=True)
class Context:
    date: str
    command: str
    line: str
    release: str
    accel: str
    accel_reason: str
    repeat: int
    machine: dict[str, str]
    qemu: str
    vng: str
    prepare: float
    bare_command: str
    build_cache: bool
    cold_builds: bool = False


def seconds(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def row_cells(values: Sequence[float]) -> list[str]:
    if not values:
        return ["—", "—"]
    middle, low, high = spread(values)
    return [f"{seconds(middle)} s", f"{seconds(low)}–{seconds(high)}"]


def summary_row(series: Series) -> str:
    ratio = (f"{statistics.median(series.lab) / statistics.median(series.bare):.2f}"
             if series.lab and series.bare else "—")
    cells = [series.work, *row_cells(series.lab), *row_cells(series.bare), ratio]
    return "| " + " | ".join(cells) + " |"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows)]


def stages_table(runs: Sequence[Stages], lab: bool) -> list[str]:
    """One row per tutorial, one column per stage key (in order of first use)."""
    keys = list(dict.fromkeys(k for run in runs for k in run.timings))
    head = ["tutorial", *keys, *(["not in a stage", "build reused"] if lab else []), "total"]
    rows = []
    for run in runs:
        cells = [run.name, *(seconds(run.timings.get(k), 2) for k in keys)]
        if lab:
            reused = {True: "yes", False: "no", None: "—"}[run.build_reused]
            cells += [seconds(run.outside, 2), reused]
        rows.append([*cells, seconds(run.total, 2)])
    return table(head, rows)


def targets(results: Results, quick: bool) -> list[str]:
    rows: list[list[str]] = []

    def add(target: str, value: float | None, shown: str, limit: float) -> None:
        met = "—" if value is None else ("yes" if value <= limit else "no")
        rows.append([target, shown if value is not None else "—", met])

    to_shell = (statistics.median(b.to_shell for b in results.lab_boots)
                if results.lab_boots else None)
    add(f"boot to a usable guest shell ≤ {BOOT_TARGET_S:.0f} s", to_shell,
        f"{seconds(to_shell)} s (lab, median)", BOOT_TARGET_S)
    series = results.tutorials
    if quick:
        rows.append(["the five seeds, boot included, ≤ 45 s and ≤ 0.85x bare",
                     "not measured (--quick runs minimal only)", "—"])
    else:
        lab = statistics.median(series.lab) if series.lab else None
        add(f"{series.work}, boot included, ≤ {TUTORIALS_TARGET_S:.0f} s", lab,
            f"{seconds(lab)} s (lab, median)", TUTORIALS_TARGET_S)
        ratio = (lab / statistics.median(series.bare)
                 if lab is not None and series.bare else None)
        add(f"the same ≤ {RATIO_TARGET}x the bare run", ratio, seconds(ratio, 2), RATIO_TARGET)
    rows.append(["the four-line matrix (5.10, 6.1, 6.12, 7.2) of the five seeds ≤ 3 min",
                 "measured by `time lab matrix`: see \"The matrix\" below", "—"])
    return table(["target (issue #9)", "measured", "met"], rows)


def boot_profile(results: Results) -> list[str]:
    if not results.lab_boots:
        return []
    names = ("to_shell", "host_side", "guest_side", "poweroff", "total")
    rows = [[str(number), *(seconds(getattr(boot, n), 2) for n in names)]
            for number, boot in enumerate(results.lab_boots, 1)]
    if len(rows) > 1:
        rows.append(["median", *(seconds(statistics.median(getattr(b, n)
                                                           for b in results.lab_boots), 2)
                                 for n in names)])
    return [
        "### Boot: the lab's GuestVM, each repetition", "",
        "Guest side: the guest's /proc/uptime read at its first prompt (the kernel's "
        "start to a set-up shell). Host side: the rest of the wall time to that prompt "
        "(virtme-ng's start-up, QEMU's, the firmware, loading the kernel). "
        "`vng --dry-run` alone (virtme-ng's Python start-up, no QEMU) takes "
        f"{seconds(statistics.median(results.dry_runs), 2)} s (median).", "",
        *table(["repetition", "to a usable shell", "host side", "guest side", "power-off",
                "total"], rows),
    ]


STEPS = (
    ("prepare", "prepare (warm cache: the kernel and the root checked)"),
    ("host", "boot: host side (vng, QEMU, firmware; the bare run's vmlinuz is unpacked here)"),
    ("guest", "boot: guest side (kernel start to the lab's prompt, to the bare script's start)"),
    ("setup", "the lab runner's set-up (tools, PATH, BTF digest, programs counted)"),
    ("ahead", "builds ahead (what the build cache lacks, two at a time; bare: in the tutorials)"),
    ("tutorials", "the tutorials (below)"),
    ("poweroff", "power-off"),
    ("between", "between the steps"),
    ("total", "total"),
)


def lab_steps(run: LabRun) -> dict[str, float | None]:
    tutorials = sum(s.total for s in run.scenarios)
    return {"prepare": run.prepare, "host": run.boot.host_side, "guest": run.boot.guest_side,
            "setup": run.runner_setup, "ahead": run.ahead, "tutorials": tutorials,
            "poweroff": run.close,
            "between": run.total - run.prepare - run.start - run.ahead - tutorials - run.close,
            "total": run.total}


def bare_steps(run: BareRun) -> dict[str, float | None]:
    script = (run.finished - run.started
              if run.finished is not None and run.started is not None else None)
    return {"host": run.host_side, "guest": run.uptime, "tutorials": script,
            "poweroff": run.total - run.finished if run.finished is not None else None,
            "total": run.total}


def steps_profile(results: Results, context: Context) -> list[str]:
    """The median lab run and the median bare run, step by step, side by side."""
    lab = median_run(results.lab_runs, lambda r: r.total) if results.lab_runs else None
    bare = median_run(results.bare_runs, lambda r: r.total) if results.bare_runs else None
    if lab is None and bare is None:
        return []
    lab_values = lab_steps(lab[1]) if lab else {}
    bare_values = bare_steps(bare[1]) if bare else {}
    which = [f"{side}: repetition {found[0] + 1}"
             for side, found in (("lab", lab), ("bare", bare)) if found is not None]
    return [
        f"### One run of the tutorials, step by step ({', '.join(which)} of "
        f"{context.repeat}: the median totals)", "",
        "The bare run's steps are seen from the host: its script reads /proc/uptime "
        "first, and writes a file in the share as it starts and as it ends.", "",
        *table(["step", "lab", "bare"],
               [[name, seconds(lab_values.get(key), 2), seconds(bare_values.get(key), 2)]
                for key, name in STEPS]),
    ]


def tutorials_profile(results: Results) -> list[str]:
    lines: list[str] = []
    if results.lab_runs:
        run = median_run(results.lab_runs, lambda r: r.total)[1]
        lines += ["#### The lab, per scenario", "",
                  "The stages are the keys of `Outcome.timings`, in order; \"not in a "
                  "stage\" is the rest of `KernelLab.run` (whatever no key covers); "
                  "\"build reused\": the lab's build cache had this build "
                  "(`Outcome.build_reused`; — when there is nothing to build).", "",
                  *stages_table(run.scenarios, lab=True)]
    if results.bare_runs:
        bare = median_run(results.bare_runs, lambda r: r.total)[1]
        lines += ([""] if lines else []) + [
            "#### The bare run, per tutorial", "",
            "From the script's own clock: each stage runs until the next starts, capture "
            "includes the check.", "",
            *stages_table(bare.tutorials, lab=False)]
    return lines


def render(results: Results, context: Context, quick: bool) -> str:
    m = context.machine
    reused = [s.build_reused for r in results.lab_runs for s in r.scenarios
              if s.build_reused is not None]
    state = ("on, emptied before each repetition (--cold-builds)" if context.cold_builds
             else "on" if context.build_cache else "off")
    cache = (f"the lab's build cache {state}"
             + (f" ({sum(reused)} of {len(reused)} lab builds reused a stored build)"
                if reused else ""))
    blocks = [
        ["## Results"],
        [f"Measured {context.date} on {m['cores']} cores ({m['cpu']}, {m['arch']}), "
         f"acceleration **{context.accel}** ({context.accel_reason}); kernel "
         f"{context.release} ({context.line} line); {context.qemu}; {context.vng}; "
         f"Python {platform.python_version()}. Load average at the start: {m['load']}; "
         f"QEMU processes already running: {m['qemus']}."],
        [f"Command: `{context.command}`"],
        [f"The bare side's vng command line: `{context.bare_command}`"],
        [f"Warm caches (prepare alone: {seconds(context.prepare, 2)} s), {cache}; "
         f"{context.repeat} repetition{'s' if context.repeat > 1 else ''}, alternating "
         "lab and bare; median and min–max per side, ratio of the medians."],
        ["| work | lab median | lab min–max | bare vng median | bare min–max | lab / bare |",
         "|---|---|---|---|---|---|", summary_row(results.boot), summary_row(results.tutorials)],
        targets(results, quick),
        ["## Profile"],
        boot_profile(results),
        steps_profile(results, context),
        tutorials_profile(results),
    ]
    body = "\n\n".join("\n".join(block) for block in blocks if block)
    return f"{BEGIN}\n{body}\n{END}\n"


def short(reason: str, limit: int = 200) -> str:
    """The first line of a long explanation, cut at a word."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def merge_report(existing: str | None, template: str, generated: str) -> str:
    """The generated block between the markers of the existing file (its prose kept),
    or of the template when there is no file or it has no markers."""
    for text in (existing, template):
        if text and BEGIN in text and END in text.split(BEGIN, 1)[1]:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            return head + generated.rstrip("\n") + tail
    raise BenchError(f"{TEMPLATE} has no {BEGIN!r} ... {END!r} markers")


def write_report(output: Path, generated: str) -> None:
    existing = output.read_text() if output.exists() else None
    if existing is not None and BEGIN not in existing:
        print(f"{output} has no benchmark markers: rewritten from {TEMPLATE.name} "
              "(the old text is in git)", file=sys.stderr)
    output.write_text(merge_report(existing, TEMPLATE.read_text(), generated))


# --- main ------------------------------------------------------------------------

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

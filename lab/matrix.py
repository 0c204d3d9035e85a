"""`lab matrix`: every kernel line, every tutorial, one compatibility report.

The local twin of the GitHub Actions matrix: each line runs in its own pytest
process (the same command `tox -e kernel-<line>` runs), concurrently when the
machine has the cores for it, then the columns are merged into one report.

Ctrl-C, SIGTERM or SIGHUP stops it cleanly: the signal goes on to every running pytest
(each powers its guest off and writes its column), no further line starts, and
the columns that exist are still merged into the report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from types import FrameType
from typing import IO

from lab import interrupts
from lab.cache.catalog import LockedKernel
from lab.errors import LabError
from lab.guestvm.session import prepare_every_userland
from lab.schedule import AUTO, Schedule, plan
from lab.settings import DEFAULT_GUEST_CPUS, Settings
from lab.verdicts.matrix_report import column_path, merge, read_json, write_reports
from lab.verdicts.verdict import Cell

WAKE_S = 0.2  # how often the main thread wakes to run a pending signal handler


def schedule(settings: Settings, lines: Sequence[str], jobs: int = AUTO,
             scenarios: Sequence[str] = ()) -> Schedule:
    """This machine's schedule for these lines (lab.schedule), longest first by the
    times of the last report in the output directory (of these tutorials only,
    when the run names some)."""
    last = settings.output / "lab-report.json"
    seconds: dict[str, float] = {}
    try:
        cells = read_json([last]) if last.exists() else []
    except LabError:
        cells = []  # not a report of ours: no times, the lines in the order given
    for cell in cells:
        if not scenarios or cell.tutorial in scenarios:
            seconds[cell.kernel] = seconds.get(cell.kernel, 0.0) + sum(cell.timings.values())
    return plan(os.cpu_count() or 1, lines, alone_cpus=DEFAULT_GUEST_CPUS, jobs=jobs,
                guest_cpus=settings.guest_cpus, last_seconds=seconds,
                last_run=f"{last}" if seconds else "", run_cpus=settings.run_cpus)


def pytest_command(settings: Settings, line: str, scenarios: Sequence[str] = ()) -> list[str]:
    """The tutorials' test on one line: the cells of the report (the lab's own VM
    tests run in `tox -e kernel-<line>`, not once more per line here)."""
    command = [sys.executable, "-m", "pytest",
               str(settings.project / "tests" / "vm" / "test_tutorials.py"),
               "--kernel", line, f"--junitxml={settings.output / f'junit-{line}.xml'}", "-v",
               "-rxXs", "-p", "no:cacheprovider"]
    if scenarios:
        command += ["--scenario", ",".join(scenarios)]
    return command


class Children:
    """The pytest processes of one matrix run, and the signal that stopped it.

    A stop signal goes on to every running child and no line starts after it.
    The children share the matrix's process group, so Ctrl-C in a terminal
    reaches them directly as well: the plugin takes a second signal calmly.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()  # RLock: the handler runs in the main thread
        self._running: list[subprocess.Popen[bytes]] = []
        self.stopped_by: int | None = None

    def run(self, command: list[str], out: IO[str], cwd: Path,
            env: dict[str, str] | None = None) -> int | None:
        """Run one pytest to its end: its exit code, or None if stopped before it started."""
        with self._lock:
            if self.stopped_by is not None:
                return None
            child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=cwd,
                                     env=env)
            self._running.append(child)
        try:
            return child.wait()
        finally:
            with self._lock:
                self._running.remove(child)

    def forward(self, signum: int, frame: FrameType | None) -> None:
        """The matrix's SIGINT/SIGTERM/SIGHUP handler: pass the signal on, raise
        nothing, so the matrix waits for its children and merges what they wrote
        (after a closed terminal, into /dev/null instead of a failing terminal)."""
        if signum == signal.SIGHUP:
            interrupts.silence_hung_up_terminals()
        self.stopped_by = signum
        with self._lock:
            for child in self._running:
                if child.poll() is None:
                    child.send_signal(signum)


def run_matrix(settings: Settings, kernels: Sequence[LockedKernel], jobs: int = AUTO,
               scenarios: Sequence[str] = ()) -> list[Cell]:
    """Prepare every line first (downloads and the roots of every userland the
    scenarios use are built once, not by each line's child in turn), then run the
    lines' tests and merge their report columns, also when stopped by a signal
    (then KeyboardInterrupt follows, once the report is written). The lines are
    the lock's entries (lab.kernel_choice), checked before this."""
    for kernel in kernels:
        prepare_every_userland(settings, kernel)
    lines = [kernel.line for kernel in kernels]
    chosen = schedule(settings, lines, jobs, scenarios)
    print(f"lab matrix: {chosen.describe()}", file=sys.stderr, flush=True)
    columns = [column_path(settings.output, line) for line in lines]
    for column in columns:
        column.unlink(missing_ok=True)
    children = Children()
    previous = interrupts.install(children.forward)
    environment = child_environment(settings, chosen)
    try:
        with ThreadPoolExecutor(max_workers=chosen.jobs) as pool:
            started = {line: pool.submit(_run_line, settings, line, children, environment,
                                         scenarios) for line in chosen.lines}
            codes = _results([started[line] for line in lines])
    finally:
        interrupts.restore(previous)
    for line, code in zip(lines, codes, strict=True):
        print(f"kernel {line}: " + ("not started" if code is None else f"pytest exited {code}"),
              file=sys.stderr)
    cells = _merge_columns(settings, lines, columns)
    if children.stopped_by is not None:
        raise KeyboardInterrupt(f"{signal.Signals(children.stopped_by).name} received")
    return cells


def _results(futures: list[Future[int | None]]) -> list[int | None]:
    """Wait in short steps: Python runs a signal handler only in the main thread,
    and only between bytecodes, so a main thread blocked until every line ends
    would hear Ctrl-C or SIGTERM only then."""
    while wait(futures, timeout=WAKE_S).not_done:
        pass
    return [future.result() for future in futures]


def _merge_columns(settings: Settings, lines: Sequence[str], columns: list[Path]) -> list[Cell]:
    """The report of the columns that exist; a line without one is named."""
    cells = merge(read_json(c for c in columns if c.exists()))
    missing = [line for line, column in zip(lines, columns, strict=True) if not column.exists()]
    if missing:
        print(f"no report from kernel(s) {', '.join(missing)}: see the log above",
              file=sys.stderr)
    md, js = write_reports(settings.output, cells)
    print(f"compatibility report: {md} and {js}", file=sys.stderr)
    return cells


def _run_line(settings: Settings, line: str, children: Children, environment: dict[str, str],
              scenarios: Sequence[str] = ()) -> int | None:
    if children.stopped_by is not None:
        return None
    log = settings.output / f"pytest-{line}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"kernel {line}: running (log: {log})", file=sys.stderr, flush=True)
    with open(log, "w") as out:
        return children.run(pytest_command(settings, line, scenarios), out, settings.project,
                            environment)


def child_environment(settings: Settings, chosen: Schedule | None = None) -> dict[str, str]:
    """The children's environment names the matrix's own project, output and cache:
    they run in the project directory, where a relative LAB_OUTPUT_DIR the user
    gave would mean another place, and their columns would not be found. It
    carries the schedule's vCPUs (which are the user's, where they set them)."""
    environment = {**os.environ, "LAB_PROJECT_DIR": str(settings.project),
                   "LAB_OUTPUT_DIR": str(settings.output), "LAB_CACHE_DIR": str(settings.cache)}
    if chosen is not None:
        environment["LAB_GUEST_CPUS"] = str(chosen.guest_cpus)
        environment["LAB_RUN_CPUS"] = str(chosen.run_cpus)
    return environment


def merge_files(paths: Sequence[Path], output: Path) -> str:
    """`lab report`: the columns merged into output/lab-report.md and .json; a column
    that is not one, or an output that cannot be written, is a LabError naming it."""
    cells = merge(read_json(paths))
    if output.exists() and not output.is_dir():
        raise LabError(f"{output}: not a directory (--out names where lab-report.md goes)")
    try:
        md, _ = write_reports(output, cells)
        return md.read_text(encoding="utf-8")
    except OSError as error:
        raise LabError(f"cannot write the report into {output}: {error}") from error

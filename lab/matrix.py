"""`lab matrix`: every kernel line, every tutorial, one compatibility report.

The local twin of the GitHub Actions matrix: each line runs in its own pytest
process (the same command `tox -e kernel-<line>` runs), concurrently when the
machine has the cores for it, then the columns are merged into one report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lab.matrix_report import Cell, merge, read_json, write_reports
from lab.session import prepare
from lab.settings import Settings

CORES_PER_GUEST = 2


def default_jobs() -> int:
    """One line at a time per four cores: a guest runs two vCPUs, and two guests on
    two cores only slow each other down (measured: 176 s side by side against
    about 110 s one after the other)."""
    return max(1, (os.cpu_count() or 1) // (2 * CORES_PER_GUEST))


def pytest_command(settings: Settings, line: str) -> list[str]:
    return [sys.executable, "-m", "pytest", str(settings.project / "tests" / "vm"),
            "--kernel", line, f"--junitxml={settings.output / f'junit-{line}.xml'}", "-v",
            "-rxXs", "-p", "no:cacheprovider"]


def run_matrix(settings: Settings, lines: Sequence[str], jobs: int) -> list[Cell]:
    """Prepare every line first (downloads and the shared root are built once),
    then run the lines' tests and merge their report columns."""
    for line in lines:
        prepare(settings, line)
    columns = [settings.output / "report" / f"{line}.json" for line in lines]
    for column in columns:
        column.unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        codes = list(pool.map(lambda line: _run_line(settings, line), lines))
    for line, code in zip(lines, codes, strict=True):
        print(f"kernel {line}: pytest exited {code}", file=sys.stderr)
    cells = merge(read_json(c for c in columns if c.exists()))
    missing = [line for line, column in zip(lines, columns, strict=True) if not column.exists()]
    if missing:
        print(f"no report from kernel(s) {', '.join(missing)}: see the log above",
              file=sys.stderr)
    md, js = write_reports(settings.output, cells)
    print(f"compatibility report: {md} and {js}", file=sys.stderr)
    return cells


def _run_line(settings: Settings, line: str) -> int:
    log = settings.output / f"pytest-{line}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"kernel {line}: running (log: {log})", file=sys.stderr, flush=True)
    with open(log, "w") as out:
        return subprocess.run(pytest_command(settings, line), stdout=out, stderr=subprocess.STDOUT,
                              cwd=settings.project, check=False).returncode


def merge_files(paths: Sequence[Path], output: Path) -> str:
    cells = merge(read_json(paths))
    md, _ = write_reports(output, cells)
    return md.read_text()

"""A real `pytest tests/vm` run of the lab in a child process, for the fault tests.

The child gets its own output directory (so its report, its evidence and its
QEMU command line are its own), its own process group (a signal the test sends
reaches it alone) and SIGINT at its default: a background job of a
non-interactive shell ignores SIGINT, and a child that ignores it tests nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leftover_processes import kill_processes_naming, processes_naming

POLL_S = 0.2
STOP_S = 30.0  # a guest powers off in under 2 s; the lab gives one 20 s before killing it


def _default_signals() -> None:
    """In the child before exec: the stop signals at their defaults, whatever we inherited."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # `nohup tox` would leave it ignored


class LabChild:
    """One child pytest of the lab on one kernel line."""

    def __init__(self, project: Path, line: str, output: Path, args: tuple[str, ...],
                 env: Mapping[str, str]) -> None:
        self.line = line
        self.output = output
        self.log = output.parent / f"{output.name}.log"
        output.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pytest", "tests/vm", "--kernel", line,
                   "-p", "no:cacheprovider", "-v", "-rxXs", *args]
        environ = {k: v for k, v in os.environ.items() if k != "LAB_GUEST_APPEND"}
        environ.update({"LAB_OUTPUT_DIR": str(output), **env})
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(command, cwd=project, env=environ, stdout=out,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True, preexec_fn=_default_signals)

    @property
    def column_file(self) -> Path:
        return self.output / "report" / f"{self.line}.json"

    def column(self) -> list[dict[str, Any]]:
        """The cells the run has written so far (the file is replaced atomically)."""
        try:
            cells: list[dict[str, Any]] = json.loads(self.column_file.read_text())
        except FileNotFoundError:
            return []
        return cells

    def wait_for_cells(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """Poll the column until it holds `count` cells; fail if the run ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            cells = self.column()
            if len(cells) >= count:
                return cells
            if self.process.poll() is not None:
                raise AssertionError(f"the run exited {self.process.returncode} with "
                                     f"{len(cells)} cell(s):\n{self.tail()}")
            time.sleep(POLL_S)
        raise AssertionError(f"no {count} cell(s) within {timeout:.0f} s:\n{self.tail()}")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, chars: int = 4000) -> str:
        return self.text()[-chars:]

    def leftovers(self, settle: float = 5.0) -> list[str]:
        """Processes still naming this run's output directory (QEMU, vng, virtme-run),
        after giving the killed ones `settle` seconds to be reaped."""
        deadline = time.monotonic() + settle
        while True:
            found = processes_naming(str(self.output))
            if not found or time.monotonic() > deadline:
                return [f"{pid}: {cmdline[:200]}" for pid, cmdline in found]
            time.sleep(POLL_S)

    def stop(self) -> None:
        """Cleanup after a failed test: SIGTERM, then SIGKILL, for the run and
        for every process naming its output directory (nothing else is ours)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        kill_processes_naming(str(self.output))

"""Stopping a run midway (Ctrl-C, the SIGTERM of tox, CI or `lab matrix`, or the
SIGHUP of a closed terminal) keeps the cells that finished and their evidence, and
leaves no QEMU behind.

tox follows its SIGINT with SIGTERM 0.3 s later and SIGKILL 0.2 s after that;
the kill -9 part is covered without a guest in tests/unit/test_plugin.py.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lab_child import STOP_S, LabChild

from lab.verdicts.verdict import NOT_RUNNABLE, SYMBOLS

FIRST_CELL_S = 600.0  # a cold cache prepares first; warm, TCG: boot ~22 s, a scenario ~10 s
INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED


@pytest.mark.parametrize(("first", "then"), [
    pytest.param(signal.SIGTERM, None, id="sigterm"),
    pytest.param(signal.SIGINT, signal.SIGTERM, id="sigint-then-sigterm-like-tox"),
    pytest.param(signal.SIGHUP, None, id="sighup-a-closed-terminal"),
])
def test_a_stopped_run_keeps_its_finished_cells_and_leaves_no_qemu(
        lab_child: Callable[..., LabChild], measured: Callable[[str], None],
        first: signal.Signals, then: signal.Signals | None) -> None:
    run = lab_child("-k", "test_tutorial")
    finished = run.wait_for_cells(1, FIRST_CELL_S)

    sent = time.monotonic()
    run.process.send_signal(first)
    if then is not None:
        time.sleep(0.3)
        run.process.send_signal(then)
    code = run.wait(STOP_S)
    stopped_in = time.monotonic() - sent

    names = first.name + (f" + {then.name}" if then else "")
    measured(f"{names} mid-run: pytest stopped {stopped_in:.1f} s after the signal "
             f"(exit {code}), {len(run.column())} cell(s) kept")
    assert code == INTERRUPTED, run.tail()
    assert not run.leftovers(), "QEMU (or vng) outlived the run"
    kept = run.column()
    assert kept[:len(finished)] == finished, "the finished cells are still in the column"
    for cell in kept:
        assert cell["verdict"] in SYMBOLS, cell
        if cell["verdict"] != NOT_RUNNABLE:  # judged before boot: there is nothing to keep
            assert cell["evidence"] and Path(cell["evidence"]).is_dir(), cell
    report = (run.output / "lab-report.md").read_text()
    assert f"`{finished[0]['tutorial']}`" in report
    assert "guest powered off" in run.text(), run.tail()
    later = f"; {then.name} waited for that" if then else ""
    assert f"stopped by {first.name}: torn down, the finished cells kept{later}\n" in run.text()

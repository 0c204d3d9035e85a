"""The capture stage: what the probes or the program wrote, and the expectations
evaluated on it.

trace_pipe: detach, then drain what the probes wrote (one round trip). output:
read the program's own output until the expectations hold or the settle
deadline passes, then stop it. A loader stopped with Ctrl-C is interrupted and
waited for first, and a one-shot tool has already exited: all they printed is
judged.
"""

from __future__ import annotations

from lab.guestvm.cell import Cell, StageFailed
from lab.guestvm.guest import Guest
from lab.guestvm.loader import POLL_S, interrupt_loader, stop_loader
from lab.guestvm.waiting import WaitTimeout
from lab.verdicts.matcher import evaluate_all

DRAINED = "Resource temporarily unavailable"  # dd's EAGAIN: the pipe is empty


def capture(guest: Guest, cell: Cell) -> None:
    """Fill the outcome's capture and expectation results."""
    scenario, work = cell.scenario, cell.work
    if scenario.load.stop == "interrupt":
        interrupt_loader(guest, cell)
    if scenario.load.capture == "output":
        if not scenario.load.awaits_exit:
            _settle(guest, cell)
        stop_loader(guest, cell)
        captured = cell.log(guest, "load")
    else:
        stop_loader(guest, cell, then="dd if=/sys/kernel/tracing/trace_pipe iflag=nonblock "
                                      f"status=none of={work.guest_log('trace')} "
                                      f"2>{work.guest_log('drain')}")
        _drained(cell.log(guest, "drain"))
        captured = cell.log(guest, "trace")
    cell.outcome.capture = captured
    cell.outcome.results = evaluate_all(scenario.expect, cell.records, captured)


def _drained(errors: str) -> None:
    """A drain ends on EAGAIN (nothing left in the pipe): any other error means the
    trace was not read, and an empty capture would say nothing about the kernel, so
    the cell fails here, where no record at 'expect' can take it for its own."""
    failed = [line for line in errors.splitlines() if line.strip() and DRAINED not in line]
    if failed:
        raise StageFailed(f"draining trace_pipe failed: {failed[0][:300]}")


def _settle(guest: Guest, cell: Cell) -> None:
    """Until the program's output meets the expectations, or the settle deadline."""
    def met() -> bool:
        results = evaluate_all(cell.scenario.expect, cell.records, cell.log(guest, "load"))
        return all(r.passed for r in results)

    try:
        guest.wait_until(met, cell.scenario.load.settle_timeout,
                         "the program's output to meet the expectations",
                         lambda: cell.log(guest, "load"), POLL_S)
    except WaitTimeout:
        pass  # what it printed by then is judged at expect

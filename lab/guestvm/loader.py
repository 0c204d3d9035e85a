"""The load stage: start the scenario's loader in the background and wait for its
ready line (every link created, or a bcc script's header after attach_*), never
for a sleep; stop it when the capture ends. A one-shot tool is waited for
instead: its exit, with the status the scenario names, ends the load. A loader
stopped with Ctrl-C (stop = "interrupt") gets SIGINT and is waited for, so what
it prints on its way out (a histogram, a summary) is part of the capture.
"""

from __future__ import annotations

import re

from lab.guestvm.cell import Cell, StageFailed
from lab.guestvm.guest import Guest
from lab.guestvm.waiting import WaitTimeout
from lab.guestvm.workload import StepFailed, fill

POLL_S = 0.05  # host-side reads of the shared logs: cheap, so a ready line is seen soon
LIVENESS_EVERY = 40  # polls between two looks at whether the loader still runs (2 s)
EXIT_POLL_S = 0.5  # each look at a loader's exit is a round trip to the guest shell
# A job a shell starts in the background without job control ignores SIGINT, as
# do its children: the loader is started with SIGINT back to its default, as on
# a reader's terminal (coreutils' env, which then execs it: the pid stays its own).
DEFAULT_SIGINT = "env --default-signal=INT "


def loader_command(cell: Cell) -> str:
    """The load command with the set-up's ${record.field}s filled in."""
    load = cell.scenario.load
    try:
        command = fill(load.command, cell.records, f"the load command `{load.command}`")
    except StepFailed as error:
        raise StageFailed(str(error)) from error
    return (DEFAULT_SIGINT if load.stop == "interrupt" else "") + command


def start_loader(guest: Guest, cell: Cell) -> None:
    """Start the loader in the background, on an empty trace buffer."""
    guest.check("echo > /sys/kernel/tracing/trace", 30)
    command = loader_command(cell)
    try:
        cell.loader_pid = guest.start_background(command, cell.work.guest_log("load"), 30)
    except StepFailed as error:
        raise StageFailed(str(error)) from error


def wait_loaded(guest: Guest, cell: Cell) -> None:
    """A one-shot tool until it exits with its status; any other loader until ready."""
    load = cell.scenario.load
    if load.once:
        _check_status(guest, cell, wait_exit(guest, cell, load.ready_timeout), "")
        return
    wait_ready(guest, cell)


def interrupt_loader(guest: Guest, cell: Cell) -> None:
    """Ctrl-C for the loader, then its exit, with the scenario's status: what it
    printed on the way out is the capture's."""
    load, pid = cell.scenario.load, cell.loader_pid
    if pid is None:
        return
    if guest.run(f"kill -INT {pid}", 30).status != 0:
        status = guest.run(f"wait {pid}", 30).status
        cell.loader_pid = None
        raise StageFailed(f"the loader exited before it was interrupted: status {status}; "
                          f"`{load.command}` printed:\n" + cell.log(guest, "load")[-3000:])
    _check_status(guest, cell, wait_exit(guest, cell, load.settle_timeout), " after Ctrl-C")


def _check_status(guest: Guest, cell: Cell, status: int, when: str) -> None:
    """The loader's exit status must be the scenario's; else the failure, with its output."""
    load = cell.scenario.load
    if status != load.status:
        raise StageFailed(f"`{load.command}` exited {status}{when}, not {load.status}; "
                          "its output:\n" + cell.log(guest, "load")[-3000:])


def wait_exit(guest: Guest, cell: Cell, timeout: float) -> int:
    """Until the loader exits; its exit status (StageFailed: still running at the
    deadline; it is stopped at tear-down)."""
    load, pid = cell.scenario.load, cell.loader_pid
    assert pid is not None

    def exited() -> bool:
        return guest.run(f"kill -0 {pid}", 30).status != 0

    try:
        guest.wait_until(exited, timeout, f"`{load.command}` to exit",
                         lambda: cell.log(guest, "load"), EXIT_POLL_S)
    except WaitTimeout as error:
        raise StageFailed(f"`{load.command}` did not exit within {timeout:.0f} s; its "
                          "output:\n" + error.last[-3000:]) from None
    cell.loader_pid = None
    return guest.run(f"wait {pid}", 30).status


def wait_ready(guest: Guest, cell: Cell) -> None:
    """Until the loader says its probes are attached; it must stay alive meanwhile."""
    load, pid = cell.scenario.load, cell.loader_pid
    assert load.ready is not None
    ready = re.compile(load.ready, re.MULTILINE)
    polls = 0

    def printed_ready() -> bool:
        nonlocal polls
        polls += 1
        if ready.search(cell.log(guest, "load")):
            return True
        if polls % LIVENESS_EVERY == 0 and guest.run(f"kill -0 {pid}", 30).status != 0:
            raise StageFailed(f"`{load.command}` exited before it was ready; its output:\n"
                              + cell.log(guest, "load")[-5000:])
        return False

    try:
        guest.wait_until(printed_ready, load.ready_timeout, f"{load.ready!r} from the loader",
                         lambda: cell.log(guest, "load"), POLL_S)
    except WaitTimeout as error:
        raise StageFailed(f"`{load.command}` did not print {load.ready!r} within "
                          f"{load.ready_timeout:.0f} s; its output:\n"
                          + error.last[-3000:]) from None


def stop_loader(guest: Guest, cell: Cell, then: str = "") -> None:
    """Stop the loader, then run `then` (the drain), in one round trip. A loader
    that exited before the capture ended took its probes with it, so what the
    capture lacks says nothing about the kernel: the cell fails here, at
    'capture', with the loader's status and output, and no record at 'expect'
    can take that failure for the one it records."""
    pid = cell.loader_pid
    if pid is None:
        if then:
            guest.run(then, 120)
        return
    running = guest.run(f"if kill -0 {pid} 2>/dev/null; then {stop_command(pid)}{then}"
                        f"{'; ' if then else ''}true; else false; fi", 120)
    if running.status == 0:
        cell.loader_pid = None
        return
    status = guest.run(f"wait {pid}", 30).status
    raise StageFailed(f"the loader exited before the capture ended: status {status}; "
                      f"`{cell.scenario.load.command}` printed:\n"
                      + cell.log(guest, "load")[-3000:])


def stop_command(pid: int | None) -> str:
    """Stop the loader and reap it, as the start of a command line ('' if none)."""
    return "" if pid is None else f"kill -TERM {pid} 2>/dev/null; wait {pid} 2>/dev/null; "

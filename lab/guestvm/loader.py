"""The load stage: start the scenario's loader in the background and wait for its
ready line (every link created, or a bcc script's header after attach_*), never
for a sleep; stop it when the capture ends.
"""

from __future__ import annotations

import re

from lab.guestvm.cell import Cell, StageFailed
from lab.guestvm.guest import Guest
from lab.guestvm.waiting import WaitTimeout
from lab.guestvm.workload import StepFailed

POLL_S = 0.05  # host-side reads of the shared logs: cheap, so a ready line is seen soon
LIVENESS_EVERY = 40  # polls between two looks at whether the loader still runs (2 s)


def start_loader(guest: Guest, cell: Cell) -> None:
    """Start the loader in the background, on an empty trace buffer."""
    guest.check("echo > /sys/kernel/tracing/trace", 30)
    command = cell.scenario.load.command
    try:
        cell.loader_pid = guest.start_background(command, cell.work.guest_log("load"), 30)
    except StepFailed as error:
        raise StageFailed(str(error)) from error


def wait_ready(guest: Guest, cell: Cell) -> None:
    """Until the loader says its probes are attached; it must stay alive meanwhile."""
    load, pid = cell.scenario.load, cell.loader_pid
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

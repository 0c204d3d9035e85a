"""After a scenario: take the console back, keep what explains a failure, and
leave the guest as the next scenario expects it (nothing attached, empty trace).
Each function says whether the guest is still fit for another scenario; one
that is not is replaced by the session before the next.
"""

from __future__ import annotations

from lab.errors import GuestError
from lab.guestvm.cell import Cell
from lab.guestvm.guest import Guest
from lab.guestvm.loader import stop_command
from lab.guestvm.waiting import WaitTimeout
from lab.guestvm.workload import OUTPUT_SHOWN, StepFailed, fill

RECOVER_S = 5.0
UNLOAD_POLL_S = 0.2  # each look runs bpftool in the guest
UNLOAD_DEADLINE_S = 10.0
PROGRAM_COUNT = "bpftool prog show | grep -c '^[0-9]'"


def recover(guest: Guest) -> bool:
    """A failed step may leave its program holding the console: interrupt it and
    give the shell a few seconds to answer. Whether it did."""
    try:
        guest.interrupt()
    except OSError:
        pass
    return guest.answers(RECOVER_S)


def diagnose(guest: Guest, cell: Cell, usable: bool) -> bool:
    """Keep the console's tail and, while the guest answers, its dmesg and the
    trace buffers' statistics (lost events show as overruns). Whether the guest
    stopped answering meanwhile."""
    outcome, work = cell.outcome, cell.work
    if not outcome.console_tail:
        outcome.console_tail = guest.console_tail()
    work.write("console-tail.log", outcome.console_tail)
    if not usable:
        return False  # the console is lost: its tail is all there is
    try:
        guest.run(f"dmesg | tail -n 200 > {work.guest_log('dmesg')}", 30)
        guest.run("grep -H . /sys/kernel/tracing/per_cpu/cpu*/stats "
                  f"> {work.guest_log('trace-stats')}", 30)
        if cell.loader_pid is not None:
            _loader_state(guest, cell, cell.loader_pid)
    except GuestError:
        return True
    return False


def _loader_state(guest: Guest, cell: Cell, pid: int) -> None:
    """A loader still there after its cell failed (one that did not stop when told
    to): where it waits, in the reason's first line, and its kernel stack and
    signal masks (pending, blocked, ignored, caught) in loader-state.log. Without
    it, "did not exit" says nothing of why."""
    dumped = guest.run(
        f"cd /proc/{pid} 2>/dev/null && {{ grep -E '^(Name|State|Threads|Sig|ShdPnd)' status; "
        f"echo \"wchan: $(cat wchan)\"; cat stack; }} > {cell.work.guest_log('loader-state')} 2>&1",
        30)
    fields = dict(line.split(":", 1) for line in cell.log(guest, "loader-state").splitlines()
                  if line.startswith(("State:", "wchan:")))
    if dumped.status == 0 and "State" in fields:
        first, _, rest = cell.outcome.message.partition("\n")
        where = f"{fields['State'].strip()}, wchan {fields.get('wchan', '').strip()}"
        cell.outcome.message = (f"{first} (the loader, pid {pid}, was still there: {where})"
                                + (f"\n{rest}" if rest else ""))


def undo_setup(guest: Guest, cell: Cell) -> str:
    """Stop the loader and the set-up's jobs, then run the tear-down steps (in the
    build directory, where the set-up ran), whatever happened; what failed ('' if
    nothing). A step naming a record the set-up did not get to make is skipped:
    what it would undo was never done."""
    scenario = cell.scenario
    if cell.loader_pid is not None:
        guest.run(stop_command(cell.loader_pid) + "true", 60)
        cell.loader_pid = None
    if cell.setup is not None:
        cell.setup.end_jobs()
    if not scenario.teardown:
        return ""
    failed = []
    guest.run(f"cd {cell.work.guest} 2>/dev/null", 30)
    for step in scenario.teardown:
        try:
            command = fill(step.command, cell.records, f"tear-down step `{step.command}`")
        except StepFailed:
            continue
        result = guest.run(command, step.timeout)
        if result.status != step.status:
            failed.append(f"tear-down step `{step.command}` exited {result.status}: "
                          f"{result.output[-OUTPUT_SHOWN:]}")
    return "\n".join(failed)


def clean_up(guest: Guest, cell: Cell, baseline: int) -> str:
    """Remove the build directory, empty the trace (the loader and the set-up were
    stopped by undo_setup); what could not be cleaned ('' if nothing). GuestError:
    the guest is gone or lost."""
    output = guest.run(f"cd /; rm -rf {cell.work.guest}; "
                       f"echo > /sys/kernel/tracing/trace; {PROGRAM_COUNT}", 60).output
    loaded = [count(output)]
    if loaded[-1] <= baseline:
        return ""

    def unloaded() -> bool:
        """The kernel frees a program shortly after its last user exits."""
        loaded.append(programs_loaded(guest))
        return loaded[-1] <= baseline

    try:
        guest.wait_until(unloaded, UNLOAD_DEADLINE_S, "the scenario's BPF programs to go",
                         lambda: f"{loaded[-1]} program(s) loaded", UNLOAD_POLL_S)
    except WaitTimeout:
        return (f"{loaded[-1] - baseline} BPF program(s) still loaded "
                f"{UNLOAD_DEADLINE_S:.0f} s after the scenario stopped its loader")
    return ""


def programs_loaded(guest: Guest) -> int:
    return count(guest.run(PROGRAM_COUNT, 60).output)


def count(output: str) -> int:
    """The number grep -c printed last (0 when it printed none)."""
    lines = output.strip().splitlines()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0

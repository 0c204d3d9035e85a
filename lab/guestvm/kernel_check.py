"""The kernel health stage: what the kernel logged while a scenario ran.

Before the scenario the kernel log's last sequence number and the taint are
noted; after it, later records are its own. A warning, oops, lockup or stall
fails it at 'kernel' whatever the trace showed (unless the scenario accepts
it); any splat, accepted or not, or a new taint, gets the next cell a fresh
guest (lab.verdicts.kernel_health).
"""

from __future__ import annotations

from lab.guestvm.cell import Cell
from lab.guestvm.guest import Guest
from lab.verdicts.kernel_health import (
    LAST_RECORD,
    TAINT_READ,
    Health,
    Mark,
    health,
    kmsg_messages,
    last_sequence,
    read_taint,
)

# Every record of the kernel log, without waiting for new ones; read(2) on
# /dev/kmsg returns one record, so the block size only has to hold the longest.
KMSG_DUMP = "dd if=/dev/kmsg iflag=nonblock bs=64k status=none 2>/dev/null"


def mark_kernel_log(guest: Guest, cell: Cell) -> None:
    """Note the kernel log's end and taint now; also makes the scenario's output
    directory in the share."""
    out = cell.work.guest_out
    output = guest.check(f"rm -rf {out} && mkdir -p {out} && "
                         f"{TAINT_READ} && {KMSG_DUMP} | {LAST_RECORD}", 30)
    cell.cursor = Mark(last_sequence(output), read_taint(output))


def kernel_health(guest: Guest, cell: Cell, cursor: Mark) -> Health:
    """What the kernel logged since the mark (GuestError: the guest is lost)."""
    taint = guest.run(
        f"{TAINT_READ}; {KMSG_DUMP} | awk -F, -v s={cursor.sequence} "
        f"'/^[0-9]/ && $2+0 > s' > {cell.work.guest_log('kmsg')}", 30).output
    return health(kmsg_messages(cell.log(guest, "kmsg")),
                  cell.scenario.accepted_kernel_messages, cursor, read_taint(taint))

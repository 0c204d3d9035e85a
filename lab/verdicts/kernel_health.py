"""Kernel health as part of every verdict (pure logic).

A tutorial whose program makes the kernel warn, oops, lock up or panic has
not passed, whatever its trace showed. The runner reads the kernel log
records written during a scenario (from /dev/kmsg, by sequence number) and
the console of a guest that went away; this module finds the splats in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The first line of each kind of splat, as the kernel prints it.
SPLAT = re.compile(
    r"(?:^|\] )(?:WARNING:|BUG:|kernel BUG at|Oops|general protection fault|UBSAN:|KASAN:"
    r"|Kernel panic - not syncing)"
    r"|watchdog: BUG: soft lockup|hard LOCKUP|rcu: INFO: rcu_\w+ (?:self-)?detected stall"
    r"|rcu_\w+ self-detected stall|INFO: task .* blocked for more than"
)
PANIC = re.compile(r"Kernel panic - not syncing: ?(.*)")
SPLAT_LINES = 6
# A /dev/kmsg record: "prio,seq,usec,flags[,...];message", then continuation lines
# (" SUBSYSTEM=pci", " DEVICE=+pci:0000:00:01.0") that start with a space.
RECORD_HEAD = re.compile(r"(\d+),(\d+),(\d+),[^;]*;")
# The guest side of the cursor: the last record head of a dump, not its last line,
# which is a continuation line whenever the last record has a device.
LAST_RECORD = "awk '/^[0-9]+,[0-9]+,[0-9]+,[^;]*;/ { last = $0 } END { print last }'"


@dataclass(frozen=True)
class Accepted:
    """A kernel message a scenario expects and explains (it does not fail the cell)."""

    pattern: str
    why: str


def kmsg_messages(text: str) -> list[str]:
    """The messages of /dev/kmsg records (`prio,seq,usec,flags;message`), in order;
    the dictionary lines that follow a record (starting with a space) are dropped."""
    heads = map(RECORD_HEAD.match, text.splitlines())
    return [head.string[head.end():] for head in heads if head]


def last_sequence(text: str) -> int:
    """The sequence number of the last /dev/kmsg record in text (0 if none);
    continuation lines are not records, whatever commas they hold."""
    heads = [head for head in map(RECORD_HEAD.match, text.splitlines()) if head]
    return int(heads[-1].group(2)) if heads else 0


def splats(messages: Sequence[str], accepted: Iterable[Accepted] = ()) -> list[str]:
    """Each splat as its first lines, joined by ' | '; accepted ones are left out."""
    allowed = [re.compile(a.pattern) for a in accepted]
    found = []
    for index, message in enumerate(messages):
        if SPLAT.search(message) and not any(a.search(message) for a in allowed):
            found.append(" | ".join(m.strip() for m in messages[index:index + SPLAT_LINES]))
    return found


def panic_message(console: str) -> str | None:
    """The reason of the last kernel panic on a console, if it shows one."""
    reasons = PANIC.findall(console.replace("\r", ""))
    return reasons[-1].strip() if reasons else None

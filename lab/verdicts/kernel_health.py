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


@dataclass(frozen=True)
class Accepted:
    """A kernel message a scenario expects and explains (it does not fail the cell)."""

    pattern: str
    why: str


def kmsg_messages(text: str) -> list[str]:
    """The messages of /dev/kmsg records (`prio,seq,usec,flags;message`), in order;
    the dictionary lines that follow a record (starting with a space) are dropped."""
    messages = []
    for line in text.splitlines():
        head, sep, message = line.partition(";")
        if sep and head[:1].isdigit():
            messages.append(message)
    return messages


def last_sequence(text: str) -> int:
    """The sequence number of the last /dev/kmsg record in text (0 if none)."""
    sequence = 0
    for line in text.splitlines():
        fields = line.split(",", 2)
        if len(fields) == 3 and fields[1].isdigit():
            sequence = int(fields[1])
    return sequence


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

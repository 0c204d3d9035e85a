"""Kernel health as part of every verdict (pure logic).

A tutorial whose program makes the kernel warn, oops, lock up or panic has
not passed, whatever its trace showed. The runner reads the kernel log
records written during a scenario (from /dev/kmsg, by sequence number), the
kernel's taint before and after it, and the console of a guest that went
away; this module finds the splats in them.

A kernel that splatted, even in a way the scenario accepts, is not the kernel
that booted: a WARN_ON_ONCE already spent stays silent for the next tutorial
that hits it. So any splat, or any new taint, means the next cell gets a fresh
guest, and the verdicts do not depend on the order the cells ran in.
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


# /proc/sys/kernel/tainted, bit by bit (Documentation/admin-guide/tainted-kernels.rst).
TAINT_FLAGS = "PFSRMBUDAWCIOELKXTN"
# The taints the kernel sets when it is damaged: machine check, bad page, oops,
# warning, soft lockup.
DAMAGE_TAINTS = "MBDWL"
TAINT_READ = "cat /proc/sys/kernel/tainted"


@dataclass(frozen=True)
class Mark:
    """Where the kernel stood when a cell began: its log's last record, its taint."""

    sequence: int
    taint: int | None


@dataclass(frozen=True)
class Health:
    """What the kernel did during a cell."""

    failing: tuple[str, ...]  # splats the scenario does not accept: the cell fails
    accepted: tuple[str, ...]  # splats it accepts: the cell stands, the kernel is damaged
    new_taints: str  # taint flags set during the cell, as letters

    @property
    def damaged(self) -> bool:
        """Whether the next cell needs a fresh guest."""
        return bool(self.failing or self.accepted or self.new_taints)

    def failure(self) -> str | None:
        """Why the cell fails at 'kernel', if it does: a splat it does not accept, or
        a damage taint that no splat in the log explains (its records were lost)."""
        if self.failing:
            return "the kernel logged: " + "\n".join(self.failing)
        damage = "".join(flag for flag in self.new_taints if flag in DAMAGE_TAINTS)
        if damage and not self.accepted:
            return (f"the kernel became tainted ({damage}: {describe_taints(damage)}) during "
                    "the scenario, though its log shows no splat")
        return None


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


def health(messages: Sequence[str], accepted: Iterable[Accepted], before: Mark,
           taint_after: int | None) -> Health:
    """The kernel's health over a cell: its splats, failing and accepted, and the
    taint flags it gained (unknown taints count as none gained)."""
    accepted = tuple(accepted)
    every = splats(messages)
    failing = splats(messages, accepted)
    gained = 0 if before.taint is None or taint_after is None else taint_after & ~before.taint
    return Health(tuple(failing), tuple(s for s in every if s not in failing),
                  taint_letters(gained))


def read_taint(text: str) -> int | None:
    """The taint mask TAINT_READ printed, the first line of text; None if it is not
    a number (the file could not be read)."""
    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    return int(first) if first.isdigit() else None


def taint_letters(mask: int) -> str:
    """A taint mask as the kernel shows its flags, one letter per bit set."""
    return "".join(flag for bit, flag in enumerate(TAINT_FLAGS) if mask >> bit & 1) + \
        ("?" if mask >> len(TAINT_FLAGS) else "")


def describe_taints(letters: str) -> str:
    names = {"M": "machine check", "B": "bad page", "D": "oops", "W": "warning",
             "L": "soft lockup"}
    return ", ".join(names.get(letter, letter) for letter in letters)


def panic_message(console: str) -> str | None:
    """The reason of the last kernel panic on a console, if it shows one."""
    reasons = PANIC.findall(console.replace("\r", ""))
    return reasons[-1].strip() if reasons else None

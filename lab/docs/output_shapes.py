"""A documented output line as a shape: what must be the same in a run, what may vary.

Dropped: cpu, flags, timestamps, bcc TIME columns, hex addresses, durations
in a table's cells (`(73ms)`). Kept as variables: pids, a table's PPID too.
A number in a message is a pid when the sample shows it as a
line's pid too (`rm-13992 ... pid = 13992`) or when it follows the word pid.
The same pid in two documented lines is one variable: the run must show one
pid there; two different pids are two variables, bound to two pids. The rest
(the message's words, other numbers such as `ret = 0`, the comm) must be equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from lab.docs.program import COMM_LEN
from lab.docs.samples import UNKNOWN_COMM, SampleLine

NUMBER = re.compile(r"(?<![\w.])(?:0x[0-9a-fA-F]+|\d+)(?![\w.]*\w)")
DURATION = re.compile(r"\d+(?:\.\d+)?(ns|us|µs|ms|s)\b")
PID_WORD = re.compile(r"\bpid\W{0,3}$", re.IGNORECASE)
Bindings = dict[str, str]


@dataclass(frozen=True)
class Shape:
    sample: SampleLine
    message: re.Pattern[str]
    slots: tuple[str, ...]   # the pid variable of each group of `message`
    prefix: bool             # matched as a prefix (a cut line)

    @property
    def variables(self) -> set[str]:
        names = set(self.slots) | {value for _, value in self.sample.pid_columns}
        if self.sample.pid:
            names.add(self.sample.pid)
        return names

    def match(self, seen: SampleLine) -> Bindings | None:
        """The pid variables' values if `seen` has this shape, else None."""
        doc = self.sample
        if seen.kind != doc.kind or not same_comm(doc.comm, seen.comm):
            return None
        cells = dict(seen.columns)
        if not all(k in cells and same_cell(v, cells[k]) for k, v in doc.columns):
            return None
        related = dict(seen.pid_columns)
        if not all(k in related for k, _ in doc.pid_columns):
            return None
        found = (self.message.match if self.prefix else self.message.fullmatch)(seen.message)
        if found is None:
            return None
        values: Bindings = {}
        pairs = list(zip(self.slots, found.groups(), strict=True))
        if doc.pid is not None and seen.pid is not None:
            pairs.append((doc.pid, seen.pid))
        pairs += [(value, related[name]) for name, value in doc.pid_columns]
        for name, value in pairs:
            if values.setdefault(name, value) != value:
                return None  # one variable, two values in one line
        return values


def same_comm(documented: str | None, seen: str | None) -> bool:
    if documented in (None, UNKNOWN_COMM) or seen in (None, UNKNOWN_COMM):
        return True
    assert documented is not None and seen is not None
    return documented[:COMM_LEN] == seen[:COMM_LEN]


def same_cell(documented: str, seen: str) -> bool:
    """A table cell as text, but for durations (`(73ms)`): a run takes its own time."""
    parts = DURATION.split(documented)
    pattern = "".join(re.escape(part) if i % 2 == 0 else r"\d+(?:\.\d+)?" + re.escape(part)
                      for i, part in enumerate(parts))
    return re.fullmatch(pattern, seen) is not None


def pid_values(samples: Iterable[SampleLine]) -> set[str]:
    return {s.pid for s in samples if s.pid} | {v for s in samples for _, v in s.pid_columns}


def shape_of(sample: SampleLine, pids: set[str], prefix: bool = False) -> Shape:
    message = sample.message.rstrip() if not prefix else sample.message
    pattern, slots, position = [r"\s*"], [], 0
    for match in NUMBER.finditer(message):
        pattern.append(_literal(message[position:match.start()]))
        number = match.group()
        if number.lower().startswith("0x"):
            pattern.append(r"0x[0-9a-fA-F]+")
        elif number in pids or PID_WORD.search(message[:match.start()]):
            pattern.append(r"(\d+)")
            slots.append(number)
        else:
            pattern.append(re.escape(number))
        position = match.end()
    pattern.append(_literal(message[position:]))
    if not prefix:
        pattern.append(r"\s*")
    return Shape(sample, re.compile("".join(pattern)), tuple(slots), prefix)


def _literal(text: str) -> str:
    return r"\s+".join(re.escape(part) for part in re.split(r"\s+", text))


def consistent(bindings: Mapping[str, str], new: Mapping[str, str]) -> str | None:
    """None if new fits bindings (same variable, same pid; other variable, other
    pid); else the variable that breaks it."""
    taken = {value: name for name, value in bindings.items()}
    for name, value in new.items():
        if name in bindings and bindings[name] != value:
            return name
        if taken.get(value, name) != name:
            return name
    values = list(new.values())
    if len(set(values)) != len(values):
        return next(iter(new))
    return None

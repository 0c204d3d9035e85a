"""A stable split of the tutorials into shards, and the tutorials a run skips
(pure logic over loaded scenarios).

A tutorial's shard is a function of its own name and the number of shards only
(sha256 of the name, modulo N), never of its position among the others: adding,
removing or renaming one tutorial moves no other, so every other shard keeps its
cells and its cache key (lab.ci.content_key). Shards are numbered from 1, as
people count them: `--shard 2/4` is the second of four.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lab.scenario.model import Scenario, ScenarioError
from lab.scenario.series import names_of

SHARD = re.compile(r"\s*(?P<index>\d{1,4})\s*/\s*(?P<count>\d{1,4})\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, 1-based."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.index <= self.count:
            raise ScenarioError(f"--shard: {self} is not a shard: K/N needs 1 <= K <= N")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index


def parse_shard(value: str) -> Shard:
    """`--shard K/N`: the K-th of N shards (1-based); anything else is an error
    that says what is wanted."""
    match = SHARD.fullmatch(value)
    if match is None:
        raise ScenarioError(f"--shard {value!r}: say K/N, the K-th of N shards counted from 1 "
                            "(e.g. --shard 2/4)")
    return Shard(int(match["index"]), int(match["count"]))


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) a tutorial of this name belongs to, whatever the others."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(scenarios: list[Scenario], shard: Shard | None) -> list[Scenario]:
    """The scenarios of that shard, in their order; all of them without one."""
    return scenarios if shard is None else [s for s in scenarios if shard.holds(s.name)]


def skipped(scenarios: list[Scenario], requested: Sequence[str],
            known: Sequence[Scenario]) -> list[Scenario]:
    """--skip-scenario a,b: these scenarios without those (the tutorials another job
    of the same run judges). A name that is no scenario is an error: a typo would
    otherwise run a tutorial twice, or never."""
    names = names_of(requested)
    unknown = sorted(set(names) - {s.name for s in known})
    if unknown:
        raise ScenarioError(f"--skip-scenario: no scenario named {', '.join(unknown)} "
                            f"(known: {', '.join(s.name for s in known)})")
    return [s for s in scenarios if s.name not in names]

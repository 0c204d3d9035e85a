"""The flavor of a guest: the userland root it boots and the kernel arguments a
scenario adds. One guest runs at a time per line, so scenarios of one flavor run
one after the other and share it; another flavor means another boot.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from lab.scenario import Scenario

Item = TypeVar("Item")


@dataclass(frozen=True)
class Flavor:
    """What a guest is booted with beyond its kernel: the userland (a known one,
    lab.cache.userlands) and the scenario's kernel arguments, in its order."""

    userland: str
    kernel_cmdline: tuple[str, ...] = ()

    def describe(self) -> str:
        """`trixie` or `bookworm with lsm=landlock,bpf`: for progress lines."""
        arguments = " ".join(self.kernel_cmdline)
        return f"{self.userland} with {arguments}" if arguments else self.userland


def grouped(items: Sequence[Item],
            key: Callable[[Item], tuple[Hashable, ...] | None]) -> list[Item]:
    """items with the ones of one key together, keys in order of first appearance
    level by level (a kernel line, then a flavor within it), stable within a key.
    An item whose key is None keeps its place; the others fill the places they
    held, so what is not a guest's scenario is not moved."""
    keys = [key(item) for item in items]
    ranks: dict[tuple[Hashable, ...], int] = {}
    for found in filter(None, keys):
        for depth in range(1, len(found) + 1):
            ranks.setdefault(found[:depth], len(ranks))
    slots = [index for index, found in enumerate(keys) if found is not None]

    def order(index: int) -> tuple[int, ...]:
        found = keys[index]
        assert found is not None
        return (*(ranks[found[:depth]] for depth in range(1, len(found) + 1)), index)

    result = list(items)
    for slot, index in zip(slots, sorted(slots, key=order), strict=True):
        result[slot] = items[index]
    return result


def in_flavor_order(scenarios: Sequence[Scenario], target: str,
                    default: str) -> list[Scenario]:
    """The scenarios with each flavor's together (on this kernel target; default:
    the default userland's name), flavors in order of first use."""
    return grouped(scenarios, lambda scenario: (scenario.flavor_on(target, default),))

"""Scenarios of one guest flavor run one after the other: a flavor change costs a
boot. The order is stable within a flavor, flavors come in order of first use,
a kernel line's tests stay together, and what is not a scenario keeps its place."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

from lab.guestvm.flavor import Flavor, grouped, in_flavor_order
from lab.scenario import Scenario
from lab.scenario.reader import parse_scenario


def key(item: str) -> tuple[Hashable, ...] | None:
    """`6.1:b:name` -> (6.1, b); a name without colons is not a scenario."""
    parts = item.split(":")
    return (parts[0], parts[1]) if len(parts) == 3 else None


def test_each_flavor_together_in_order_of_first_use_stable_within() -> None:
    items = ["6.1:b:a", "6.1:t:b", "6.1:b:c", "6.1:l:d", "6.1:t:e", "6.1:b:f"]
    assert grouped(items, key) == ["6.1:b:a", "6.1:b:c", "6.1:b:f", "6.1:t:b", "6.1:t:e",
                                   "6.1:l:d"]


def test_a_kernel_lines_tests_stay_together() -> None:
    items = ["6.1:b:a", "6.12:b:b", "6.1:t:c", "6.12:t:d", "6.1:b:e"]
    assert grouped(items, key) == ["6.1:b:a", "6.1:b:e", "6.1:t:c", "6.12:b:b", "6.12:t:d"]


def test_what_is_not_a_scenario_keeps_its_place() -> None:
    items = ["6.1:b:a", "setup", "6.1:t:b", "6.1:b:c", "report"]
    assert grouped(items, key) == ["6.1:b:a", "setup", "6.1:b:c", "6.1:t:b", "report"]


def test_already_grouped_items_are_not_moved() -> None:
    items = ["6.1:b:a", "6.1:b:b", "6.1:t:c"]
    assert grouped(items, key) == items
    assert grouped([], key) == []


def test_a_flavor_says_its_userland_and_its_arguments() -> None:
    assert Flavor("trixie").describe() == "trixie"
    assert Flavor("bookworm", ("lsm=landlock,bpf", "nokaslr")).describe() == \
        "bookworm with lsm=landlock,bpf nokaslr"


def scenario(name: str, userland: object = None) -> Scenario:
    """A scenario of lines 6.1 and 7.2 that names `userland` (a suite or a table)."""
    data: dict[str, object] = {
        "summary": name, "build": {"commands": []},
        "load": {"command": "x", "ready": "^r$", "capture": "output"},
        "workload": [{"run": "true", "record": "runs"}],
        "expect": [{"summary": "s", "for_each": "runs", "lines": ["x"]}]}
    if userland is not None:
        data["userland"] = userland
    return parse_scenario(data, Path(f"/p/scenarios/{name}.toml"), ("6.1", "7.2"))


def test_a_scenario_with_a_userland_of_its_own_on_one_line_is_grouped_per_line() -> None:
    module = scenario("module", {"default": "trixie", "7.2": "forky"})
    scenarios = [scenario("a", "trixie"), scenario("b"), module, scenario("c", "trixie")]
    assert [s.name for s in in_flavor_order(scenarios, "6.1", "bookworm")] == \
        ["a", "module", "c", "b"]
    assert [s.name for s in in_flavor_order(scenarios, "7.2", "bookworm")] == \
        ["a", "c", "b", "module"]


def test_naming_the_default_userland_is_the_default_flavor_not_another() -> None:
    scenarios = [scenario("plain"), scenario("newer", "trixie"),
                 scenario("module", {"default": "trixie", "6.1": "bookworm"}), scenario("also")]
    assert [s.name for s in in_flavor_order(scenarios, "6.1", "bookworm")] == \
        ["plain", "module", "also", "newer"], "bookworm named on 6.1 shares the default's guest"

"""Property tests for lab.scenario: whatever a scenario file holds, the loader
returns a Scenario or raises ScenarioError naming the file, never another
exception (a bare TypeError or ValueError would reach the user as a traceback,
or only once a guest has booted)."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.cache.catalog import load_catalog
from lab.scenario import (
    INCOMPATIBLE_KEYS,
    LOAD_KEYS,
    MAX_SECONDS,
    NAME,
    STEP_KEYS,
    TOP_KEYS,
    Scenario,
    ScenarioError,
    parse_scenario,
)

PROJECT = Path(__file__).resolve().parents[2]
SHIPPED = {path.stem: tomllib.loads(path.read_text())
           for path in sorted((PROJECT / "scenarios").glob("*.toml"))}
KNOWN_LINES = list(load_catalog(PROJECT / "vm" / "kernels.toml"))
WHERE = Path("/somewhere/fuzzed.toml")
KEYS = sorted(TOP_KEYS | LOAD_KEYS | INCOMPATIBLE_KEYS | set().union(*STEP_KEYS.values())
              | {"commands", "summary", "for_each", "lines", "in_order", *KNOWN_LINES})
# no example database: it would leave a .hypothesis/ directory in the checkout
PROPERTY = settings(max_examples=300, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Strings a scenario might hold: ordinary text, but also the shapes that break
# things (templates, regex syntax, paths that climb, CONFIG_ names, stages).
TRICKY = ["", " ", "make all", "${pid}", "${line}", "${nope}", "(", "[", ".*", "^", "a{2,1}",
          "x{4294967296}", "(?P<pid>x)", "(?P<value>\\d+)", "(?P<${pid}>x)", "\\${pid}",
          "../../x", "/etc", ".", "bpf/x", "CONFIG_X", "trace_pipe", "output", "build",
          "expect", "5.10", "7.2", "unlinks", "writers"]
texts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12),
                  st.sampled_from(KEYS))
numbers = st.one_of(st.integers(), st.floats())
scalars = st.one_of(texts, numbers, st.booleans(), st.dates(), st.times(), st.datetimes())
keys = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(keys, inner, max_size=3)),
    max_leaves=8,
)
# a value of the same TOML kind as the one it replaces: reaches the checks of values
same_kind = {str: texts, int: numbers, float: numbers, bool: st.booleans(),
             list: st.lists(texts, max_size=3)}


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a TOML document: (top key, index or key, ...)."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


def container(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A shipped scenario with a few values replaced (by anything, or by a value of
    the same kind), keys dropped or keys added."""
    data = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(data) or [("summary",)]))
        parent = container(data, path)
        action = draw(st.sampled_from(["replace", "retype", "drop", "add"]))
        kind = same_kind.get(type(parent[path[-1]]))
        if action == "replace" or (action == "retype" and kind is None):
            parent[path[-1]] = draw(values)
        elif action == "retype" and kind is not None:
            parent[path[-1]] = draw(kind)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        else:
            parent.append(draw(values))
    return data


def parsed_or_refused(data: dict[str, Any]) -> Scenario | None:
    """The loader's whole contract: a Scenario, or a ScenarioError naming the file."""
    try:
        return parse_scenario(data, WHERE, KNOWN_LINES)
    except ScenarioError as error:
        assert str(error).startswith(str(WHERE)), error
        return None


def assert_safe(scenario: Scenario) -> None:
    """What the runner relies on, for anything the loader accepts."""
    assert NAME.fullmatch(scenario.name)
    program = PurePosixPath(scenario.program)
    assert not program.is_absolute() and ".." not in program.parts
    assert all(isinstance(c, str) and c.strip() for c in scenario.build)
    for seconds in (scenario.load.ready_timeout, scenario.load.settle_timeout):
        assert 0 < seconds <= MAX_SECONDS
    for step in scenario.workload:
        assert 0 < step.timeout <= MAX_SECONDS
        assert all(isinstance(v, str) for v in step.variables.values())
        for pattern in (step.prompt, step.until, step.collect):
            assert pattern is None or not re.compile(pattern).search("")
    assert set(scenario.incompatible) <= set(KNOWN_LINES)


@PROPERTY
@given(st.dictionaries(keys, values, max_size=6))
def test_any_toml_document_is_a_scenario_or_a_scenario_error(data: dict[str, Any]) -> None:
    scenario = parsed_or_refused(data)
    if scenario:
        assert_safe(scenario)


@PROPERTY
@given(mutated())
def test_any_mutation_of_a_shipped_scenario_is_a_scenario_or_a_scenario_error(
        data: dict[str, Any]) -> None:
    scenario = parsed_or_refused(data)
    if scenario:
        assert_safe(scenario)


@PROPERTY
@given(st.sampled_from(sorted(SHIPPED)), st.sampled_from(["ready_timeout", "settle_timeout"]),
       st.one_of(st.integers(), st.floats()))
def test_a_load_timeout_is_accepted_only_within_an_hour(name: str, key: str,
                                                       seconds: float) -> None:
    data = copy.deepcopy(SHIPPED[name])
    data["load"][key] = seconds
    scenario = parsed_or_refused(data)
    assert (scenario is not None) == (0 < seconds <= MAX_SECONDS)


def test_the_shipped_scenarios_are_accepted_as_they_are() -> None:
    for data in SHIPPED.values():
        assert parsed_or_refused(copy.deepcopy(data)) is not None

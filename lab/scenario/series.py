"""Tutorial series: which scenarios `--series` selects, and which chapter of its
series a scenario is (pure logic over loaded scenarios).

A series is a published collection of tutorials (a scenario's `series` key). A
chapter is named by its directory in the series' sources, `<number>-<slug>`: the
scenario's own name when it is one (14-tcpstates), else the `src/<number>-<slug>`
its `source` names (a tutorial that came into the lab under another name).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from lab.scenario.model import Scenario, ScenarioError

CHAPTER = re.compile(r"(?P<number>\d+)-[A-Za-z0-9][A-Za-z0-9._-]*")
SOURCE_CHAPTER = re.compile(r"\bsrc/(?P<chapter>\d+-[A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Chapter:
    """Where a scenario stands in its series: the chapter's directory and number."""

    directory: str
    number: int


def names_of(requested: Sequence[str]) -> list[str]:
    """`--x a,b --x c`: a, b, c."""
    return [name.strip() for value in requested for name in value.split(",") if name.strip()]


def known_series(scenarios: Sequence[Scenario]) -> list[str]:
    return sorted({s.series for s in scenarios if s.series})


def chosen_series(scenarios: list[Scenario], requested: Sequence[str]) -> list[Scenario]:
    """--series a,b: the scenarios of those series among these (all, or those --scenario
    chose), in their order; an unknown series is an error listing the known ones."""
    names = names_of(requested)
    if not names:
        return scenarios
    known = known_series(scenarios)
    unknown = sorted(set(names) - set(known))
    if unknown:
        listed = ", ".join(known) or "none: no scenario declares `series`"
        raise ScenarioError(f"--series: no series named {', '.join(unknown)} (known: {listed})")
    return [s for s in scenarios if s.series in names]


def chapter_of(scenario: Scenario) -> Chapter | None:
    """The chapter a scenario is, from its name or else its `source`; None when
    neither names one."""
    if CHAPTER.fullmatch(scenario.name):
        directory = scenario.name
    else:
        found = SOURCE_CHAPTER.search(scenario.source or "")
        if found is None:
            return None
        directory = found["chapter"]
    match = CHAPTER.fullmatch(directory)
    assert match is not None  # both patterns name a chapter the same way
    return Chapter(directory, int(match["number"]))

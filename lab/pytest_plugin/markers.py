"""A pytest marker per tutorial series, named after it, so that pytest's own `-m`
selects a series (`-m bpf-developer-tutorial`, `-m "not bpf-developer-tutorial"`)
as `--series` does. Each test of a scenario carries its series' marker."""

from __future__ import annotations

import pytest

from lab.scenario import Scenario

DESCRIPTION = "the scenarios of the tutorial series {series} (ebpf-lab)"


def marker_line(series: str) -> str:
    return f"{series}: {DESCRIPTION.format(series=series)}"


def register(config: pytest.Config, scenarios: list[Scenario]) -> None:
    """One marker per series the scenarios name (registered: --strict-markers holds)."""
    for series in sorted({s.series for s in scenarios if s.series}):
        config.addinivalue_line("markers", marker_line(series))


def marker_name(line: str) -> str:
    """The name a `markers` ini line registers, as pytest reads it."""
    return line.split(":")[0].split("(")[0].strip()


def check_unique(config: pytest.Config, scenarios: list[Scenario]) -> None:
    """A series named as another marker (skip, xfail, a plugin's) would give its
    tests that marker's meaning: a usage error naming both."""
    ours = {marker_line(s.series) for s in scenarios if s.series}
    for line in config.getini("markers"):
        name = marker_name(line)
        if line not in ours and any(s.series == name for s in scenarios):
            raise pytest.UsageError(f"series `{name}` has the name of a pytest marker "
                                    f"({line!r}): rename the series")


def series_marks(scenario: Scenario) -> list[pytest.MarkDecorator]:
    return [getattr(pytest.mark, scenario.series)] if scenario.series else []

"""Fault-injection tests: each one runs the lab for real in a child pytest, breaks
it (a signal, a kernel that cannot boot) and checks what is left behind.

They boot guests, so they need --kernel (`tox -e faults` runs them on 6.1), and
they print what they measured at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from lab_child import LabChild

from lab.pytest_plugin.hooks import KERNELS, SETTINGS

MEASURED = pytest.StashKey[list[str]]()
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --kernel these tests would have no line to break: say so, as tests/vm does."""
    ours = [item for item in items if item.path.is_relative_to(HERE)]
    if ours and not config.stash.get(KERNELS, []):
        raise pytest.UsageError(f"{ours[0].nodeid.split('[')[0]} boots guests: pass --kernel "
                                "LINE (e.g. --kernel 6.1)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = terminalreporter.config.stash.get(MEASURED, [])
    if lines:
        terminalreporter.write_sep("=", "fault timings")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def measured(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Note a measurement for the summary (the lead copies it to RELIABILITY.md)."""
    return pytestconfig.stash.setdefault(MEASURED, []).append


@pytest.fixture
def lab_child(pytestconfig: pytest.Config,
              tmp_path: Path) -> Iterator[Callable[..., LabChild]]:
    """Start child runs of the lab on the first --kernel line; none outlives the test."""
    project = pytestconfig.stash[SETTINGS].project
    line = pytestconfig.stash[KERNELS][0]
    children: list[LabChild] = []

    def start(*args: str, env: dict[str, str] | None = None) -> LabChild:
        child = LabChild(project, line, tmp_path / f"lab-output-{len(children)}", args, env or {})
        children.append(child)
        return child

    yield start
    for child in children:
        child.stop()

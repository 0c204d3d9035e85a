"""A stand-in for KernelLab in the commands' unit tests: no guest, a chosen outcome."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

from lab import cli
from lab.guestvm import session
from lab.scenario import Scenario
from lab.verdicts.outcome import Outcome


def use_lab_dirs(monkeypatch: pytest.MonkeyPatch, project: Path, scratch: Path) -> None:
    """The `lab` command run from project, with output and cache under scratch."""
    monkeypatch.setenv("LAB_PROJECT_DIR", str(project))
    monkeypatch.setenv("LAB_OUTPUT_DIR", str(scratch / "out"))
    monkeypatch.setenv("LAB_CACHE_DIR", str(scratch / "cache"))


def passing(scenario: Scenario) -> Outcome:
    return Outcome(scenario.name, passed=True)


@dataclass
class FakeLabs:
    """What every fake line answers for a scenario, and each run it was asked for.
    Called as KernelLab is (settings, kernel), it gives a FakeLab."""

    answer: Callable[[Scenario], Outcome] = passing
    runs: list[tuple[Scenario, Outcome]] = field(default_factory=list)

    def __call__(self, *_: object, **__: object) -> FakeLab:
        return FakeLab(self)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeLabs:
        """In place of KernelLab for `lab run` and `lab docs verify`."""
        monkeypatch.setattr(cli, "KernelLab", self)
        monkeypatch.setattr(session, "KernelLab", self)
        return self


class FakeLab:
    """One fake kernel line: KernelLab's interface, each run answered by its FakeLabs."""

    def __init__(self, labs: FakeLabs) -> None:
        self.labs = labs

    def __enter__(self) -> FakeLab:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        pass

    def prebuild(self, scenarios: Sequence[Scenario]) -> None:
        pass

    def close(self) -> None:
        pass

    def run(self, scenario: Scenario) -> Outcome:
        outcome = self.labs.answer(scenario)
        self.labs.runs.append((scenario, outcome))
        return outcome

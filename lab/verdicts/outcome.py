"""What happened to one scenario on one kernel, and the stages it goes through.

Pure data: the runner fills it in, the verdict and the reports read it; nothing
here touches a process, so the report code never imports pexpect.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lab.verdicts.findings import Finding
from lab.verdicts.matcher import ExpectationResult, Record
from lab.verdicts.stage import STAGES, Stage

__all__ = ["STAGES", "Outcome", "Stage"]


@dataclass
class Outcome:
    """What happened to one scenario on one kernel."""

    scenario: str
    stage: Stage = Stage.PREFLIGHT
    passed: bool = False
    message: str = ""
    results: list[ExpectationResult] = field(default_factory=list)
    capture: str = ""
    records: dict[str, list[Record]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Path | None = None
    console_tail: str = ""
    logs: dict[str, str] = field(default_factory=dict)
    document: list[Finding] = field(default_factory=list)  # the tutorial's own text, checked
    # the build cache key when the build was reused (lab.cache.build_cache), else None
    build_reused: str | None = None
    # the guest root it ran on (lab.cache.userlands) and the toolchain that root pins
    userland: str = ""
    toolchain: str = ""

    @contextlib.contextmanager
    def timing(self, key: str) -> Iterator[None]:
        """Keep the seconds the block takes under timings[key], also when it raises."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.timings[key] = round(time.monotonic() - started, 2)

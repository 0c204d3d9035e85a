"""One scenario's run in the guest, as the pipeline's units pass it along: what
they were given and what each found so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from lab.guestvm.guest import Guest
from lab.guestvm.workload import Workload
from lab.guestvm.workspace import Workspace
from lab.scenario import Scenario
from lab.verdicts.kernel_health import Mark
from lab.verdicts.matcher import Record
from lab.verdicts.outcome import Outcome


class StageFailed(Exception):
    """A stage could not complete; the message says why, with the evidence."""


@dataclass
class Cell:
    scenario: Scenario
    work: Workspace
    outcome: Outcome
    load_program: bool = True
    loader_pid: int | None = None  # while the loader runs
    setup: Workload | None = None  # the set-up's steps: their jobs run until the tear-down
    cursor: Mark | None = None  # the kernel log before the scenario (None: nothing ran)
    records: dict[str, list[Record]] = field(default_factory=dict)

    def log(self, guest: Guest, name: str) -> str:
        """A log the guest wrote for this scenario (read as untrusted)."""
        return guest.read_share(self.work.share_log(name))

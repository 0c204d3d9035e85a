"""Run one scenario in a booted guest, stage by stage (lab.guestvm.pipeline):
preflight, build, set-up, load, ready, workload, capture, expect; then, whatever
happened, tear-down, kernel health and the tutorial's document.

Everything the guest writes for a scenario (build log, loader output, trace)
lands in the host directory shared at /lab, so a failure keeps its evidence.
The runner drives the guest only through lab.guestvm.guest.Guest.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lab.cache.build_cache import BuildCache, BuildInputs, SourceError, source_digests
from lab.docs.verify import document_findings
from lab.errors import GuestError
from lab.guestvm.boot_setup import set_up_boot
from lab.guestvm.build_seal import Boot
from lab.guestvm.building import Builder, log_excerpt
from lab.guestvm.capture import capture
from lab.guestvm.cell import Cell, StageFailed
from lab.guestvm.guest import Guest
from lab.guestvm.kernel_check import kernel_health, mark_kernel_log
from lab.guestvm.loader import start_loader, wait_loaded
from lab.guestvm.pipeline import Check, Unit, run_checks, run_units
from lab.guestvm.teardown import clean_up, diagnose, programs_loaded, recover, undo_setup
from lab.guestvm.workload import StepFailed, Workload
from lab.guestvm.workspace import Workspace
from lab.preflight import describe_missing, missing_options
from lab.scenario import Scenario
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage


class ScenarioRunner:
    """Runs scenarios one after another in one guest, leaving it clean after each.

    After a failed scenario the console is taken back (interrupt, then a
    short deadline for the shell to answer); a guest that does not answer,
    died, keeps programs loaded or logged a splat is marked `needs_reboot`, and
    the session replaces it before the next scenario, so each verdict is the
    scenario's own.
    """

    def __init__(self, guest: Guest, project: Path, kernel_config: Mapping[str, str],
                 run_dir: Path, ro_dir: Path, builds: BuildCache | None = None,
                 toolchain: str = "") -> None:
        self.guest = guest
        self.project = project
        self.kernel_config = kernel_config
        self.run_dir = run_dir
        self.builds = builds
        self.toolchain = toolchain
        facts = set_up_boot(guest, ro_dir)
        self.tools, self.kernel_btf = facts.tools, facts.kernel_btf
        self.boot = Boot(guest, facts.root)
        self.builder = Builder(guest, run_dir, ro_dir, builds, self.boot)
        self.baseline_programs = programs_loaded(guest)
        self.needs_reboot = False

    def stages(self) -> tuple[Unit, ...]:
        """The scenario's own stages, in order: a new one is a line here."""
        guest = self.guest
        return (Unit("preflight", Stage.PREFLIGHT, self._preflight),
                # what fails before the build commands fails the build
                Unit("mark", Stage.BUILD, lambda cell: mark_kernel_log(guest, cell), "start"),
                Unit("build", Stage.BUILD, self._build, "build"),
                Unit("set-up", Stage.SETUP, self._set_up, "setup"),
                Unit("load", Stage.LOAD, lambda cell: start_loader(guest, cell), loads=True),
                Unit("ready", Stage.LOAD, lambda cell: wait_loaded(guest, cell), "load",
                     loads=True),
                Unit("workload", Stage.WORKLOAD, self._workload, "workload"),
                Unit("capture", Stage.CAPTURE, lambda cell: capture(guest, cell), "capture"),
                Unit("expect", Stage.EXPECT, _expect))

    def checks(self) -> tuple[Check, ...]:
        """What is checked after the scenario, whatever happened in it."""
        return (Check(Stage.CLEANUP, self._tear_down), Check(Stage.KERNEL, self._kernel))

    def run(self, scenario: Scenario, *, load_program: bool = True) -> Outcome:
        outcome = Outcome(scenario.name)
        try:
            work = Workspace(self.run_dir, scenario.name, self.project / scenario.program)
        except SourceError as error:  # refused before anything was copied
            outcome.stage, outcome.message = Stage.BUILD, str(error)
            outcome.evidence = self.run_dir / outcome.scenario
        else:
            outcome.evidence = work.evidence
            self._run_cell(Cell(scenario, work, outcome, load_program))
        with outcome.timing("document"):
            outcome.document = document_findings(scenario, self.project, outcome)
        return outcome

    def _run_cell(self, cell: Cell) -> None:
        outcome = cell.outcome
        try:
            run_units(self.stages(), cell)
        except (StageFailed, GuestError) as error:
            self._failed(outcome, error)
        finally:
            with outcome.timing("finish"):
                self._finish(cell)

    def _failed(self, outcome: Outcome, error: StageFailed | GuestError) -> None:
        outcome.message = str(error)
        if isinstance(error, GuestError):
            outcome.console_tail = error.console_tail
            if error.panic is not None:
                outcome.stage = Stage.KERNEL
            self.needs_reboot = self.needs_reboot or not self.guest.alive

    def _finish(self, cell: Cell) -> None:
        """Take the console back, keep the evidence, clean up, check the kernel log."""
        if not cell.outcome.passed:
            if self.usable and self.guest.in_doubt and not recover(self.guest):
                self.needs_reboot = True
            if diagnose(self.guest, cell, self.usable):
                self.needs_reboot = True
        run_checks(self.checks(), cell, lambda: self.usable)
        logs = cell.work.keep_logs()
        cell.outcome.logs = {log: log_excerpt(logs[log]) for log in ("build", "load")}
        # what the kernel logged during the cell: a failure's cause is often only
        # there (a module insmod refused: "kfunc ... is already present in vmlinux")
        cell.outcome.logs["kernel"] = log_excerpt(logs["kmsg"])

    @property
    def usable(self) -> bool:
        """Whether the guest can still take commands (not dead, console not lost)."""
        return self.guest.alive and not self.needs_reboot

    def _set_up(self, cell: Cell) -> None:
        """The scenario's set-up steps, before the loader (lab.guestvm.workload)."""
        if not cell.scenario.setup:
            return
        cell.setup = Workload(self.guest)
        try:
            cell.records = cell.setup.prepare(cell.scenario.setup)
        except StepFailed as error:
            raise StageFailed(str(error)) from error

    def _tear_down(self, cell: Cell) -> str:
        try:
            undone = undo_setup(self.guest, cell)
            leftover = clean_up(self.guest, cell, self.baseline_programs)
        except GuestError:
            self.needs_reboot = True  # the guest is gone or lost: the session replaces it
            return ""
        self.needs_reboot = self.needs_reboot or bool(leftover) or bool(undone)
        return "\n".join(found for found in (undone, leftover) if found)

    def _kernel(self, cell: Cell) -> str:
        if cell.cursor is None:
            return ""  # nothing ran in the guest to check
        try:
            found = kernel_health(self.guest, cell, cell.cursor)
        except GuestError:
            self.needs_reboot = True
            return ""
        self.needs_reboot = self.needs_reboot or found.damaged
        return found.failure() or ""

    def _preflight(self, cell: Cell) -> None:
        """Missing kernel options, by name, before anything runs."""
        missing = missing_options(self.kernel_config, cell.scenario.kernel_config)
        if missing:
            raise StageFailed(describe_missing(self.guest.release, missing, {}))

    def _build(self, cell: Cell) -> None:
        try:
            inputs = self.build_inputs(cell.scenario)
        except SourceError as error:
            raise StageFailed(str(error)) from error
        cell.outcome.build_reused = self.builder.build(cell, inputs)

    def build_inputs(self, scenario: Scenario) -> BuildInputs:
        """What the scenario's build in this guest is made from (SourceError: its
        sources are refused)."""
        return BuildInputs(source_digests(self.project / scenario.program), scenario.build,
                           scenario.vmlinux_h, self.guest.release, self.kernel_btf,
                           self.toolchain, self.tools)

    def build_key(self, scenario: Scenario) -> str:
        """The build cache's key of the scenario's build in this guest."""
        return self.build_inputs(scenario).key()

    def _workload(self, cell: Cell) -> None:
        """The steps, in order, on the console (lab.guestvm.workload)."""
        try:
            cell.outcome.records = cell.records = Workload(self.guest, cell.records).run(
                cell.scenario.workload)
        except StepFailed as error:
            raise StageFailed(str(error)) from error


def _expect(cell: Cell) -> None:
    outcome = cell.outcome
    outcome.passed = all(r.passed for r in outcome.results)
    if not outcome.passed:
        outcome.message = "expectations not met"

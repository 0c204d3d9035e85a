"""Run one scenario in a booted guest: build, load, wait ready, drive, capture, check.

Everything the guest writes for a scenario (build log, loader output, trace)
lands in the host directory shared at /lab, so a failure keeps its evidence.
The workload starts only after the loader printed its readiness line (every
link created, or a bcc script's header after attach_*), never after a sleep.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from lab.cache.build_cache import BuildCache, BuildInputs, SourceError, source_digests
from lab.errors import GuestError
from lab.guestvm.build_seal import (
    Boot,
    Seal,
    boot_state,
    boot_state_command,
    keep_build,
    private_name,
)
from lab.guestvm.build_steps import STEP_TIMEOUT_S, BuildStep, build_steps, clean_bash, step_command
from lab.guestvm.console import new_marker, typed
from lab.guestvm.guest_files import install_guest_files
from lab.guestvm.vm import GuestVM
from lab.guestvm.vng_command import GUEST_RO_DIR, GUEST_WORK_DIR
from lab.guestvm.workload import StepFailed, Workload, pid_from
from lab.guestvm.workspace import SHARE_DIR, Workspace
from lab.preflight import describe_missing, missing_options
from lab.scenario import Scenario
from lab.verdicts.kernel_health import (
    LAST_RECORD,
    TAINT_READ,
    Mark,
    health,
    kmsg_messages,
    last_sequence,
    read_taint,
)
from lab.verdicts.matcher import ExpectationResult, Record, evaluate_all
from lab.verdicts.outcome import Outcome

POLL_S = 0.05  # host-side reads of the shared logs: cheap, so a ready line is seen soon
# The lab's tools, copied from the read-only share to where python3 can keep
# their bytecode (compiled once per boot, not on every run). Not through
# PYTHONPYCACHEPREFIX: with it set python3 ignores the root's own bytecode, and
# every boot compiled the standard library and bcc again (4 s of the first
# ecli run under emulation, more for the first bcc tutorial). Builds do not use
# this copy, which any cell can change, but the read-only share's (BUILD_TOOLS).
GUEST_TOOLS = "/tmp/lab-tools"
GUEST_TOOLS_SETUP = f"rm -rf {GUEST_TOOLS} && cp -r {GUEST_RO_DIR}/bin {GUEST_TOOLS}"
UNLOAD_POLL_S = 0.2  # each look runs bpftool in the guest
PROGRAM_COUNT = "bpftool prog show | grep -c '^[0-9]'"
LIVENESS_EVERY_S = 2.0
UNLOAD_DEADLINE_S = 10.0
RECOVER_S = 5.0
LOG_TAIL_CHARS = 6000
# Every record of the kernel log, without waiting for new ones; read(2) on
# /dev/kmsg returns one record, so the block size only has to hold the longest.
KMSG_DUMP = "dd if=/dev/kmsg iflag=nonblock bs=64k status=none 2>/dev/null"


class StageFailed(Exception):
    """A stage could not complete; the message says why, with the evidence."""


class ScenarioRunner:
    """Runs scenarios one after another in one guest, leaving it clean after each.

    After a failed scenario the console is taken back (interrupt, then a
    short deadline for the shell to answer); a guest that does not answer,
    died, or keeps programs loaded is marked `needs_reboot`, and the session
    replaces it before the next scenario, so each verdict is the scenario's own.
    """

    def __init__(self, vm: GuestVM, project: Path, kernel_config: Mapping[str, str],
                 run_dir: Path, ro_dir: Path, builds: BuildCache | None = None,
                 toolchain: str = "") -> None:
        self.vm = vm
        self.project = project
        self.kernel_config = kernel_config
        self.run_dir = run_dir
        self.ro_dir = ro_dir
        self.builds = builds
        self.toolchain = toolchain
        self.tools = install_guest_files(ro_dir)  # their digests: in every build's key
        # one round trip: the tools on PATH, the kernel's BTF digest (build keys)
        # and the guest root's state before any cell ran (builds' seals)
        output = vm.console.check(
            f"{GUEST_TOOLS_SETUP}; export PATH={GUEST_TOOLS}:$PATH PYTHONUNBUFFERED=1; "
            f"{boot_state_command()}", 30)
        self.kernel_btf, root = boot_state(output)
        self.boot = Boot(vm.console, root)
        self.baseline_programs = self._programs_loaded()
        self.needs_reboot = False

    def run(self, scenario: Scenario, *, load_program: bool = True) -> Outcome:
        outcome = Outcome(scenario.name)
        try:
            work = Workspace(self.run_dir, scenario.name, self.project / scenario.program)
        except SourceError as error:  # refused before anything was copied
            return self._refused(outcome, error)
        outcome.evidence = work.evidence
        loader_pid: int | None = None
        cursor: Mark | None = None  # none taken: nothing ran in the guest to check
        try:
            self._preflight(scenario)
            # what fails before the build commands fails the build
            cursor = self._timed(outcome, "start", lambda: self._kmsg_cursor(work),
                                 stage="build")
            outcome.build_reused = self._timed(outcome, "build",
                                               lambda: self._build(scenario, work))
            if load_program:
                outcome.stage = "load"
                loader_pid = self._start_loader(scenario, work)
                self._timed(outcome, "load", lambda: self._wait_ready(scenario, work, loader_pid))
            outcome.records = self._timed(outcome, "workload", lambda: self._workload(scenario))
            capture, results = self._timed(
                outcome, "capture",
                lambda: self._capture(scenario, work, loader_pid, outcome.records))
            loader_pid = None
            outcome.capture, outcome.results = capture, results
            outcome.stage = "expect"
            outcome.passed = all(r.passed for r in results)
            if not outcome.passed:
                outcome.message = "expectations not met"
        except (StageFailed, GuestError) as error:
            self._failed(outcome, error)
        finally:
            with outcome.timing("finish"):
                self._finish(scenario, work, outcome, loader_pid, cursor)
        return outcome

    def _refused(self, outcome: Outcome, error: SourceError) -> Outcome:
        """A tutorial whose sources cannot go into the guest fails its build, with
        nothing copied anywhere (its evidence directory holds only the reason)."""
        outcome.stage, outcome.message = "build", str(error)
        outcome.evidence = self.run_dir / outcome.scenario
        return outcome

    def _failed(self, outcome: Outcome, error: StageFailed | GuestError) -> None:
        outcome.message = str(error)
        if isinstance(error, GuestError):
            outcome.console_tail = error.console_tail
            if error.panic is not None:
                outcome.stage = "kernel"
            self.needs_reboot = self.needs_reboot or not self.vm.alive

    def _finish(self, scenario: Scenario, work: Workspace, outcome: Outcome,
                loader_pid: int | None, cursor: Mark | None) -> None:
        """Take the console back, keep the evidence, clean up, check the kernel log."""
        if not outcome.passed:
            if self.usable and self.vm.console.in_doubt:
                self._recover()
            self._diagnose(work, outcome)
        if self.usable:
            leftover = self._cleanup(work, loader_pid)
            if leftover:
                self.needs_reboot = True
                _fail(outcome, "cleanup", leftover)
            self._check_kernel_log(scenario, work, outcome, cursor)
        logs = work.keep_logs()
        outcome.logs = {log: logs[log][-LOG_TAIL_CHARS:] for log in ("build", "load")}

    @property
    def usable(self) -> bool:
        """Whether the guest can still take commands (not dead, console not lost)."""
        return self.vm.alive and not self.needs_reboot

    def _recover(self) -> None:
        """A failed step may leave its program holding the console: interrupt it and
        give the shell a few seconds to answer; otherwise the guest is replaced."""
        if not self.usable:
            self.needs_reboot = True
            return
        try:
            self.vm.console.interrupt()
        except OSError:
            pass
        if not self.vm.console.answers(RECOVER_S):
            self.needs_reboot = True

    def _diagnose(self, work: Workspace, outcome: Outcome) -> None:
        """Keep what explains a failure next to the logs: console and dmesg tails."""
        if not outcome.console_tail:
            outcome.console_tail = self.vm.console_tail()
        work.write("console-tail.log", outcome.console_tail)
        if not self.usable:
            return  # the console is lost: its tail is all there is
        try:
            self.vm.console.run(f"dmesg | tail -n 200 > {work.guest_log('dmesg')}", 30)
            # lost trace events show up here as overruns
            self.vm.console.run("grep -H . /sys/kernel/tracing/per_cpu/cpu*/stats "
                                f"> {work.guest_log('trace-stats')}", 30)
        except GuestError:
            self.needs_reboot = True

    def _kmsg_cursor(self, work: Workspace) -> Mark:
        """The kernel log's last sequence number and the kernel's taint now: later
        records are this scenario's. Also makes its output directory in the share."""
        output = self.vm.console.check(
            f"rm -rf {work.guest_out} && mkdir -p {work.guest_out} && "
            f"{TAINT_READ} && {KMSG_DUMP} | {LAST_RECORD}", 30)
        return Mark(last_sequence(output), read_taint(output))

    def _check_kernel_log(self, scenario: Scenario, work: Workspace, outcome: Outcome,
                          cursor: Mark | None) -> None:
        """A warning, oops, lockup or stall logged during the scenario fails it at
        'kernel', whatever the trace showed (unless the scenario accepts it). Any
        splat, accepted or not, or a new taint, gets the next cell a fresh guest."""
        if cursor is None:
            return
        try:
            taint = self.vm.console.run(
                f"{TAINT_READ}; {KMSG_DUMP} | awk -F, -v s={cursor.sequence} "
                f"'/^[0-9]/ && $2+0 > s' > {work.guest_log('kmsg')}", 30).output
        except GuestError:
            self.needs_reboot = True
            return
        found = health(kmsg_messages(work.read("kmsg")), scenario.accepted_kernel_messages,
                       cursor, read_taint(taint))
        self.needs_reboot = self.needs_reboot or found.damaged
        failure = found.failure()
        if failure:
            _fail(outcome, "kernel", failure)

    def _timed(self, outcome: Outcome, key: str, action, stage: str = ""):  # type: ignore[no-untyped-def]
        """Run action as stage (default: key), its seconds kept under key."""
        outcome.stage = stage or key
        with outcome.timing(key):
            return action()

    def _preflight(self, scenario: Scenario) -> None:
        """Missing kernel options, by name, before anything runs."""
        missing = missing_options(self.kernel_config, scenario.kernel_config)
        if missing:
            raise StageFailed(describe_missing(self.vm.spec.release, missing, {}))

    def build_inputs(self, scenario: Scenario) -> BuildInputs:
        """What the scenario's build in this guest is made from (SourceError: its
        sources are refused)."""
        return BuildInputs(source_digests(self.project / scenario.program), scenario.build,
                           scenario.vmlinux_h, self.vm.spec.release, self.kernel_btf,
                           self.toolchain, self.tools)

    def build_key(self, scenario: Scenario) -> str:
        """The build cache's key of the scenario's build in this guest."""
        return self.build_inputs(scenario).key()

    def _build(self, scenario: Scenario, work: Workspace) -> str | None:
        """Build in the guest, or reuse a stored build of the very same inputs
        (lab.cache.build_cache); the key when reused. A successful build is stored
        if its seal matches its key (lab.guestvm.build_steps)."""
        try:
            inputs = self.build_inputs(scenario)
        except SourceError as error:
            raise StageFailed(str(error)) from error
        key = inputs.key()
        console = self.vm.console
        fresh = f"rm -rf {work.guest} && mkdir -p {work.guest} && cd {work.guest}"
        stored = self.builds.lookup(key) if self.builds is not None and scenario.build else None
        if stored is not None:
            offered = self.ro_dir / "builds" / f"{scenario.name}.tar"
            offered.parent.mkdir(exist_ok=True)
            shutil.copyfile(stored, offered)
            console.check(f"{fresh} && tar -xf {GUEST_RO_DIR}/builds/{scenario.name}.tar && "
                          f"echo 'lab: reused the stored build {key[:16]} (same sources, "
                          "commands, lab tools, kernel BTF and toolchain)' > "
                          + work.guest_log("build"), 120)
            return key
        vmlinux_h = self.boot.vmlinux_h() if scenario.vmlinux_h is not None else None
        if scenario.vmlinux_h is not None and vmlinux_h is None:
            raise StageFailed("bpftool could not dump the kernel's BTF as vmlinux.h:\n"
                              + self.boot.failure)
        console.check(f"{fresh} && cp -r {work.guest_src}/. .", 60)
        for step in build_steps(scenario):
            self._build_command(work, step)
        if self.builds is not None and scenario.build:
            self._store_build(scenario, work, key,
                              Seal.of(inputs, scenario.vmlinux_h, self.boot.root, vmlinux_h))
        return None

    def _build_command(self, work: Workspace, step: BuildStep) -> None:
        result = self.vm.console.run(step_command(step, work.guest_log("build")), STEP_TIMEOUT_S)
        if result.status != 0:
            raise StageFailed(f"build command {step.what} exited {result.status}:\n"
                              + work.read("build")[-3000:])

    def _store_build(self, scenario: Scenario, work: Workspace, key: str, seal: Seal) -> None:
        """The build directory as a tar the guest writes to a name of its own, with
        its seal; the host stores its bytes if the seal matches the key, and says
        in the build log why not otherwise."""
        archive = f"out/{scenario.name}/{private_name()}"
        script = self.ro_dir / "seals" / f"{archive.rsplit('/', 1)[1]}.sh"
        script.parent.mkdir(exist_ok=True)
        script.write_text(seal.script(f"{GUEST_WORK_DIR}/{archive}"))
        sealed = self.vm.console.run(
            f"cd {work.guest} && {clean_bash(f'{GUEST_RO_DIR}/seals/{script.name}')}", 120)
        if sealed.status != 0 or self.builds is None:
            return
        why = keep_build(self.builds, self.run_dir / SHARE_DIR, archive, key,
                         {"scenario": scenario.name, "release": self.vm.spec.release,
                          "build_log": work.read("build")[-LOG_TAIL_CHARS:]},
                         seal, sealed.output)
        if why:
            self.vm.console.run(f"echo {shlex.quote(why)} >> {work.guest_log('build')}", 30)

    def _start_loader(self, scenario: Scenario, work: Workspace) -> int:
        """Start the loader in the background, on an empty trace buffer; its pid."""
        console = self.vm.console
        console.check("echo > /sys/kernel/tracing/trace", 30)
        mark = new_marker("PID")
        output = console.check(f"{scenario.load.command} > {work.guest_log('load')} 2>&1 & "
                               f"echo {typed(mark)}=$!", 30)
        try:
            return int(pid_from(output, scenario.load.command, mark))
        except StepFailed as error:
            raise StageFailed(str(error)) from error

    def _wait_ready(self, scenario: Scenario, work: Workspace, pid: int) -> None:
        """Until the loader says its probes are attached; it must stay alive meanwhile."""
        console = self.vm.console
        ready = re.compile(scenario.load.ready, re.MULTILINE)
        deadline = time.monotonic() + scenario.load.ready_timeout
        next_check = time.monotonic() + LIVENESS_EVERY_S
        while not ready.search(work.read("load")):
            now = time.monotonic()
            if now > deadline:
                raise StageFailed(f"`{scenario.load.command}` did not print "
                                  f"{scenario.load.ready!r} within "
                                  f"{scenario.load.ready_timeout:.0f} s; its output:\n"
                                  + work.read("load")[-3000:])
            if now > next_check:
                next_check = now + LIVENESS_EVERY_S
                if console.run(f"kill -0 {pid}", 30).status != 0:
                    raise StageFailed(f"`{scenario.load.command}` exited before it was ready; "
                                      "its output:\n" + work.read("load")[-5000:])
            time.sleep(POLL_S)

    def _workload(self, scenario: Scenario) -> dict[str, list[Record]]:
        """The steps, in order, on the console (lab.guestvm.workload); what they recorded."""
        try:
            return Workload(self.vm.console).run(scenario.workload)
        except StepFailed as error:
            raise StageFailed(str(error)) from error

    def _capture(self, scenario: Scenario, work: Workspace, loader_pid: int | None,
                 records: dict[str, list[Record]]) -> tuple[str, list[ExpectationResult]]:
        """trace_pipe: detach, then drain what the probes wrote. output: read the
        program's own output until the expectations hold or the settle deadline."""
        if scenario.load.capture == "output":
            deadline = time.monotonic() + scenario.load.settle_timeout
            while True:
                results = evaluate_all(scenario.expect, records, work.read("load"))
                if all(r.passed for r in results) or time.monotonic() > deadline:
                    break
                time.sleep(POLL_S)
            self._stop_loader(scenario, work, loader_pid)
            capture = work.read("load")
        else:  # detach, then drain: one round trip
            self._stop_loader(scenario, work, loader_pid,
                              then=f"dd if=/sys/kernel/tracing/trace_pipe iflag=nonblock "
                                   f"status=none of={work.guest_log('trace')} 2>/dev/null")
            capture = work.read("trace")
        return capture, evaluate_all(scenario.expect, records, capture)

    def _stop_loader(self, scenario: Scenario, work: Workspace, pid: int | None,
                     then: str = "") -> None:
        """Stop the loader, then run `then` (the drain), in one round trip. A loader
        that exited before the capture ended took its probes with it, so what the
        capture lacks says nothing about the kernel: the cell fails here, at
        'capture', with the loader's status and output, and no record at 'expect'
        can take that failure for the one it records."""
        if pid is None:
            if then:
                self.vm.console.run(then, 120)
            return
        running = self.vm.console.run(f"if kill -0 {pid} 2>/dev/null; then "
                                      f"{_stop_command(pid)}{then}{'; ' if then else ''}"
                                      "true; else false; fi", 120)
        if running.status == 0:
            return
        status = self.vm.console.run(f"wait {pid}", 30).status
        raise StageFailed(f"the loader exited before the capture ended: status {status}; "
                          f"`{scenario.load.command}` printed:\n" + work.read("load")[-3000:])

    def _cleanup(self, work: Workspace, loader_pid: int | None) -> str:
        """Leave the guest as the next scenario expects it: nothing attached, empty
        trace. Returns what could not be cleaned, if anything."""
        try:
            output = self.vm.console.run(
                f"{_stop_command(loader_pid)}cd /; rm -rf {work.guest}; "
                f"echo > /sys/kernel/tracing/trace; {PROGRAM_COUNT}", 60).output
            return self._wait_programs_unloaded(_count(output))
        except GuestError:
            self.needs_reboot = True  # the guest is gone or lost: the session replaces it
            return ""

    def _wait_programs_unloaded(self, loaded: int) -> str:
        """The kernel frees a program shortly after its last user exits: poll briefly."""
        deadline = time.monotonic() + UNLOAD_DEADLINE_S
        while loaded > self.baseline_programs:
            if time.monotonic() > deadline:
                return (f"{loaded - self.baseline_programs} BPF program(s) still loaded "
                        f"{UNLOAD_DEADLINE_S:.0f} s after the scenario stopped its loader")
            time.sleep(UNLOAD_POLL_S)
            loaded = self._programs_loaded()
        return ""

    def _programs_loaded(self) -> int:
        return _count(self.vm.console.run(PROGRAM_COUNT, 60).output)


def _count(output: str) -> int:
    """The number grep -c printed last (0 when it printed none)."""
    lines = output.strip().splitlines()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def _stop_command(pid: int | None) -> str:
    """Stop the loader and reap it, as the start of a command line ('' if none)."""
    return "" if pid is None else f"kill -TERM {pid} 2>/dev/null; wait {pid} 2>/dev/null; "


def _fail(outcome: Outcome, stage: str, why: str) -> None:
    """A failure found after the scenario ran. A kernel splat is the verdict whatever
    happened before (it may be why a step failed); leftovers of a failed scenario
    only add to its message, the failure stays the scenario's own."""
    if outcome.passed or stage == "kernel":
        earlier = "" if outcome.passed else f"\n(also failed at {outcome.stage}: {outcome.message})"
        outcome.passed, outcome.stage, outcome.message = False, stage, why + earlier
    else:
        outcome.message += f"\n{why}"

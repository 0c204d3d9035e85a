"""Faults inside the guest, injected for real: each cell's verdict stays its own.

A step that hangs, a kernel warning, a panic, a recorded incompatibility that
fails another way, links planted by the guest in its share. After each fault
the next real tutorial on the same kernel line must pass.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.guestvm.session import KernelLab
from lab.guestvm.workspace import RO_DIR, SHARE_DIR
from lab.pytest_plugin.hooks import KERNELS, SETTINGS
from lab.pytest_plugin.verdict import attach_evidence
from lab.scenario import Scenario, load_scenario
from lab.settings import Settings
from lab.verdicts.kernel_health import Accepted
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import FAIL, cell_for

FAULTS = Path(__file__).parent / "scenarios"
SLACK_S = 10.0  # what a failed step may take beyond its own deadline


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelLab]:
    """One kernel line (the first --kernel) for these tests, output kept apart."""
    kernels = request.config.stash[KERNELS]
    if not kernels:
        raise pytest.UsageError("tests/faults boot guests: pass --kernel LINE")
    settings = dataclasses.replace(request.config.stash[SETTINGS],
                                   output=tmp_path_factory.mktemp("faults"))
    with KernelLab(settings, kernels[0]) as booted:
        assert booted.failure is None, booted.failure
        yield booted


def fault(name: str) -> Scenario:
    return load_scenario(FAULTS / f"{name}.toml")


def timed_run(lab: KernelLab, scenario: Scenario, *,
              load_program: bool = True) -> tuple[Outcome, float]:
    """The scenario's outcome and how long the lab took to give it, in seconds."""
    started = time.monotonic()
    outcome = lab.run(scenario, load_program=load_program)
    return outcome, time.monotonic() - started


def assert_next_tutorial_passes(lab: KernelLab) -> None:
    tutorial = load_scenario(lab.settings.scenarios_dir / "minimal.toml")
    outcome = lab.run(tutorial)
    assert outcome.passed, f"{outcome.stage}: {outcome.message}"


def test_a_step_that_hangs_fails_within_its_deadline_and_the_guest_is_kept(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    boots = lab.boots
    outcome, took = timed_run(lab, fault("hang-spawn"))
    after_load = took - outcome.timings["build"] - outcome.timings["load"]

    assert not outcome.passed
    assert outcome.stage == "workload"
    assert "timed out after 5 s waiting for `tail -f /dev/null` to print" in outcome.message
    assert after_load < 5 + SLACK_S, f"the failed step took {after_load:.1f} s"
    measured(f"step that hangs (5 s deadline, takes Ctrl-C): failed {after_load:.1f} s after "
             "the step began; guest kept")
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots, "Ctrl-C was enough: the guest is kept"


def test_a_program_that_keeps_the_console_gets_a_fresh_guest_for_the_next(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    boots = lab.boots
    outcome, took = timed_run(lab, fault("hang-interactive"), load_program=False)

    assert not outcome.passed
    assert outcome.stage == "workload"
    assert "waiting for the prompt of `bash --norc -i`" in outcome.message
    assert took - outcome.timings["build"] < 5 + SLACK_S, f"the failed step took {took:.1f} s"
    measured(f"step that keeps the console (5 s deadline, ignores Ctrl-C): failed in "
             f"{took:.1f} s; guest replaced")
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots + 1, "the stuck guest was replaced"


def test_a_kernel_warning_fails_the_cell_at_kernel(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    scenario = fault("splat")
    lab.ensure_clean()
    boots = lab.boots  # a clean guest: this cell does not reboot
    outcome, took = timed_run(lab, scenario)
    measured(f"kernel warning during a scenario: cell failed at 'kernel' in {took:.1f} s "
             "(the whole scenario)")

    assert outcome.stage == "kernel", outcome.message
    assert not outcome.passed
    assert "WARNING: CPU: 0 PID: 1 at lab/injected.c:1 injected_fault" in outcome.message
    assert outcome.results and all(r.passed for r in outcome.results), "the trace itself was fine"
    cell = cell_for(outcome, scenario, lab.line)
    assert cell.verdict == FAIL
    assert cell.reason.startswith("kernel: the kernel logged: WARNING: CPU: 0 PID: 1")
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots + 1, "the next cell ran on the kernel that warned"


def test_an_accepted_kernel_message_does_not_fail_the_cell(lab: KernelLab) -> None:
    scenario = fault("splat")
    accepted = dataclasses.replace(scenario, accepted_kernel_messages=(
        Accepted(r"WARNING: .* at lab/injected\.c:1 ", "the fault test writes it on purpose"),))
    lab.ensure_clean()
    boots = lab.boots  # a clean guest: this cell does not reboot
    outcome = lab.run(accepted)
    assert outcome.passed, f"{outcome.stage}: {outcome.message}"
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots + 1, "the next cell ran on the kernel that warned"


def test_a_panic_is_reported_as_a_panic_and_the_next_scenario_gets_a_fresh_guest(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    boots = lab.boots
    outcome, took = timed_run(lab, fault("panic"), load_program=False)

    assert not outcome.passed
    assert outcome.stage == "kernel"
    assert "kernel panic: sysrq triggered crash" in outcome.message
    assert "Kernel panic - not syncing" in outcome.console_tail
    measured(f"kernel panic (sysrq c): cell failed as a panic {took:.1f} s after the scenario "
             "began")
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots + 1


def test_a_build_that_crashes_the_guest_ahead_of_its_turn_is_judged_on_its_own_turn(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    boots = lab.boots
    crashing = fault("panic-in-build")

    started = time.monotonic()
    assert lab.prebuild([crashing]) is None, "a build that crashed the guest was reported built"
    measured(f"kernel panic while building ahead: given up in {time.monotonic() - started:.1f} s")
    outcome = lab.run(crashing)

    assert lab.boots == boots + 1, "the guest that crashed ahead was replaced once"
    assert not outcome.passed
    assert outcome.stage == "kernel"
    assert "kernel panic: sysrq triggered crash" in outcome.message
    assert_next_tutorial_passes(lab)
    assert lab.boots == boots + 2


def test_a_recorded_incompatibility_that_fails_another_way_is_a_plain_fail(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    scenario = fault("wrong-incompatibility")
    outcome, took = timed_run(lab, scenario)
    measured(f"recorded incompatibility failing another way: plain fail in {took:.1f} s")
    cell = cell_for(outcome, scenario, lab.line)

    assert outcome.stage == "build"
    assert cell.verdict == FAIL
    assert cell.reason.startswith("build: ")
    assert "(not the recorded incompatibility: at build, evidence /no member" in cell.reason
    assert "no-such-compiler: command not found" in cell.reason


def test_links_planted_by_the_guest_do_not_redirect_the_hosts_writes(
        request: pytest.FixtureRequest, lab: KernelLab, tmp_path: Path,
        measured: Callable[[str], None]) -> None:
    canary = tmp_path / "project-file.py"
    canary.write_text("untouched\n")
    text = (FAULTS / "symlinks.toml").read_text().replace("@CANARY@", str(canary))
    (tmp_path / "symlinks.toml").write_text(text)
    scenario = load_scenario(tmp_path / "symlinks.toml")
    tool = lab.work_dir / RO_DIR / "bin" / "ecli"
    tool_before = tool.read_text()

    outcome = lab.run(scenario)
    attach_evidence(request.node, outcome, lab.line)  # what the plugin writes on a failure

    # trace.log is one of the links (to a path the guest does not have): the drain
    # cannot write it, and the cell fails at capture with dd's own error
    assert not outcome.passed and outcome.stage == "capture", outcome.message
    assert outcome.message.startswith("draining trace_pipe failed: dd: failed to open")
    planted = lab.work_dir / SHARE_DIR / "out" / scenario.name / "failure.txt"
    # the share's 9p export keeps the guest's links as metadata: a plain file here
    assert planted.is_file() and not planted.is_symlink(), "the guest did plant its links"
    assert canary.read_text() == "untouched\n"
    assert tool.read_text() == tool_before, "the read-only share stayed read-only"
    assert outcome.evidence is not None
    assert (outcome.evidence / "failure.txt").is_file()
    assert not (outcome.evidence / "failure.txt").is_symlink()
    measured("guest links under /lab to a host file: host file untouched, evidence kept apart, "
             "read-only share not writable")
    assert_next_tutorial_passes(lab)


def test_a_loader_that_exits_before_the_capture_ended_fails_at_capture(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    """Its record (stage expect, "no captured line has that shape", as bashreadline's
    on 5.10) matches what a dead loader leaves; the cell is a plain fail at capture."""
    scenario = fault("loader-dies")
    outcome, took = timed_run(lab, scenario)
    cell = cell_for(outcome, scenario, lab.line)

    assert outcome.stage == "capture", outcome.message
    assert outcome.message.startswith("the loader exited before the capture ended: status 3")
    assert "loader gives up" in outcome.message
    assert cell.verdict == FAIL
    assert cell.reason.startswith("capture: the loader exited before the capture ended")
    measured(f"loader that exits after its ready line: plain fail at capture in {took:.1f} s")
    assert_next_tutorial_passes(lab)


def lstat_tree(top: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every path under top with its own lstat, following no link."""
    pending = [top]
    while pending:
        directory = pending.pop()
        for entry in os.scandir(directory):
            info = os.lstat(entry.path)
            yield Path(entry.path), info
            if stat.S_ISDIR(info.st_mode):
                pending.append(Path(entry.path))


def test_setuid_files_and_device_nodes_the_guest_makes_are_plain_files_on_the_host(
        lab: KernelLab, measured: Callable[[str], None]) -> None:
    outcome, took = timed_run(lab, fault("setuid"), load_program=False)

    share = lab.work_dir / SHARE_DIR
    planted = share / "out" / "setuid"
    assert (planted / "rootshell").exists(), f"{outcome.stage}: {outcome.message}"
    dangerous = [f"{path.relative_to(share)} {stat.filemode(info.st_mode)}"
                 for path, info in lstat_tree(share)
                 if info.st_mode & (stat.S_ISUID | stat.S_ISGID)
                 or not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode))]
    assert dangerous == [], "setuid/setgid files or special files on the host"
    assert stat.S_IMODE(os.stat(lab.work_dir).st_mode) == 0o700
    seen = {Path(r["path"]).name: r["mode"] for r in outcome.records.get("seen", [])}
    assert seen == {"rootshell": "-rwsr-xr-x", "groupshell": "-rwsr-sr-x", "mem": "crw-r--r--",
                    "disk": "brw-r--r--", "fifo": "prw-r--r--"}, \
        f"the guest sees what it made (kept as metadata): {outcome.stage}: {outcome.message}"
    measured(f"setuid-root files, device nodes and a FIFO made by the guest: plain 0600 files "
             f"on the host, run directory 0700 (scenario {took:.1f} s)")
    assert_next_tutorial_passes(lab)


def tree_depth(top: Path) -> int:
    """How many directories named d are nested from top down (top included)."""
    depth, where = 0, os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while True:
            depth += 1
            try:
                inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=where)
            except FileNotFoundError:
                return depth
            os.close(where)
            where = inner
    finally:
        os.close(where)


def own_settings(request: pytest.FixtureRequest, output: Path, **environ: str) -> Settings:
    """The session's settings with this test's output directory and variables."""
    base = request.config.stash[SETTINGS]
    read = Settings.from_env({**os.environ, **environ}, cwd=base.project)
    return dataclasses.replace(read, project=base.project, cache=base.cache, output=output)


def test_a_tree_1200_levels_deep_in_the_share_stops_neither_this_run_nor_the_next(
        request: pytest.FixtureRequest, tmp_path: Path, measured: Callable[[str], None]) -> None:
    """shutil.rmtree recursed into such a tree: RecursionError on every later run."""
    settings = own_settings(request, tmp_path / "output")
    line = request.config.stash[KERNELS][0]
    started = time.monotonic()
    with KernelLab(settings, line) as first:
        assert first.failure is None, first.failure
        outcome = first.run(fault("deep-tree"), load_program=False)
        depths = [record["depth"] for record in outcome.records.get("deep", [])]
        assert depths == ["1200"], f"the guest made its tree: {outcome.message}"
        assert tree_depth(first.work_dir / SHARE_DIR / "d") == 1200, "the tree is on the host"
        assert_next_tutorial_passes(first)  # the share is emptied before each scenario
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text(), \
        "the share's bound went with the guest"
    with KernelLab(settings, line) as second:  # the next run empties the run directory
        assert second.failure is None, second.failure
        assert_next_tutorial_passes(second)
    measured(f"a tree 1,200 levels deep in the share: the next scenario and the next run pass "
             f"({time.monotonic() - started:.1f} s, two boots)")


def test_a_guest_that_writes_more_than_its_share_holds_gets_enospc_and_the_host_stays_bounded(
        request: pytest.FixtureRequest, tmp_path: Path, measured: Callable[[str], None]) -> None:
    limit = 64 << 20
    settings = own_settings(request, tmp_path / "output", LAB_SHARE_LIMIT="64M")
    line = request.config.stash[KERNELS][0]
    with KernelLab(settings, line) as bounded:
        assert bounded.failure is None, bounded.failure
        outcome, took = timed_run(bounded, fault("fill-share"), load_program=False)
        errors = [r["error"] for r in outcome.records.get("fill", [])]
        share = bounded.work_dir / SHARE_DIR
        used = sum(info.st_blocks * 512 for _, info in lstat_tree(share))
        assert errors == ["No space left on device"], f"{outcome.stage}: {outcome.message}"
        assert used <= limit, f"the guest's files take {used} bytes on the host"
        measured(f"a guest writing 96 MiB into a 64 MiB share: ENOSPC, {used >> 20} MiB on the "
                 f"host (scenario {took:.1f} s)")
        assert_next_tutorial_passes(bounded)

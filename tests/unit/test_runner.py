"""The scenario runner against a fake guest (tests/support/fake_guest.py): which
stage a failure is attributed to, readiness, timeouts, recovery after a stuck
step, a dead guest, kernel splats, clean-up and the build cache. The fake's
clock is fake: no timeout here takes real time."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from fake_guest import Answer, FakeGuest, Loader

from lab.cache.build_cache import BuildCache
from lab.errors import GuestError
from lab.guestvm.runner import ScenarioRunner
from lab.guestvm.workspace import RO_DIR, SHARE_DIR
from lab.scenario import Incompatibility, Scenario, load_scenario
from lab.verdicts.cause import cause_of
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage
from lab.verdicts.verdict import EXPECTED_INCOMPATIBLE, cell_for

SCENARIO = """\
summary = "a program that traces the workload's writes"
{top}
[build]
commands = ["cc -c prog.c -o prog.o"]

[load]
command = "loader prog.o"
ready = '^ready$'
capture = "{capture}"
{load}
[[workload]]
run = "writer"
record = "writers"

[[expect]]
summary = "each writer is traced"
for_each = "writers"
lines = ['hit from ${{pid}}$']
"""
TIMED = ["start", "build", "setup", "load", "workload", "capture", "finish", "document"]


def scenario_in(project: Path, top: str = "", capture: str = "trace_pipe",
                load: str = "") -> Scenario:
    program = project / "bpf" / "demo"
    program.mkdir(parents=True, exist_ok=True)
    (program / "prog.c").write_text("int x;\n")
    path = project / "scenarios" / "demo.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(SCENARIO.format(top=top, capture=capture, load=load))
    return load_scenario(path)


class Lab:
    """A runner on a fake guest, with the scenario it runs."""

    def __init__(self, tmp_path: Path, builds: BuildCache | None = None, **scenario: str) -> None:
        self.project = tmp_path / "project"
        self.run_dir = tmp_path / "run"
        (self.run_dir / SHARE_DIR).mkdir(parents=True)
        (self.run_dir / RO_DIR).mkdir()
        self.scenario = scenario_in(self.project, **scenario)
        self.guest = FakeGuest(self.run_dir / SHARE_DIR)
        self.guest.loader = Loader(output="ready\n")
        self.guest.trace = f"hit from {self.guest.step_pid}\n"
        self.runner = ScenarioRunner(self.guest, self.project, {"CONFIG_BPF": "y"},
                                     self.run_dir, self.run_dir / RO_DIR, builds, "t" * 64)

    def run(self, load_program: bool = True) -> Outcome:
        return self.runner.run(self.scenario, load_program=load_program)

    def ran(self, text: str) -> list[str]:
        return [command for command in self.guest.commands if text in command]


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return Lab(tmp_path)


# --- the pipeline: stages in order, timed, a failure attributed to its stage --------

def test_a_scenario_that_meets_its_expectations_passes_through_every_stage(lab: Lab) -> None:
    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert outcome.stage == Stage.EXPECT == "expect"
    assert list(outcome.timings) == TIMED
    assert outcome.records == {"writers": [{"pid": str(lab.guest.step_pid)}]}
    assert outcome.capture == f"hit from {lab.guest.step_pid}\n"
    assert outcome.build_reused is None
    assert not lab.runner.needs_reboot
    assert (outcome.evidence / "load.log").read_text() == "ready\n"  # type: ignore[operator]
    assert lab.ran("loader prog.o"), "the loader ran"


def test_expectations_not_met_fail_at_expect(lab: Lab) -> None:
    lab.guest.trace = "hit from 1\n"

    outcome = lab.run()

    assert (outcome.passed, outcome.stage, outcome.message) == \
        (False, Stage.EXPECT, "expectations not met")
    assert outcome.results and not outcome.results[0].passed


def test_a_kernel_option_missing_fails_at_preflight_before_anything_runs(
        tmp_path: Path) -> None:
    lab = Lab(tmp_path, top='kernel_config = ["CONFIG_BPF", "CONFIG_KPROBES"]')

    outcome = lab.run()

    assert outcome.stage == Stage.PREFLIGHT
    assert "CONFIG_KPROBES" in outcome.message
    assert not lab.ran("/dev/kmsg") and not lab.ran("cc -c") and not lab.ran("loader")
    assert "start" not in outcome.timings


def test_a_build_command_that_fails_fails_at_build_with_its_log(lab: Lab) -> None:
    lab.guest.on(r"cc -c prog\.c", Answer(status=1, writes={
        "out/demo/build.log": "prog.c:1: error: unknown type name\n"}))

    outcome = lab.run()

    assert outcome.stage == Stage.BUILD
    assert outcome.message.startswith("build command `cc -c prog.c -o prog.o` exited 1:")
    assert "unknown type name" in outcome.message
    assert "unknown type name" in outcome.logs["build"]
    assert not lab.ran("loader prog.o")


def test_a_long_build_log_keeps_its_first_error_for_the_cause_and_the_records(
        lab: Lab) -> None:
    first = "hello.c:8:12: error: expected ';' before 'int'\n"
    cascade = "".join(f"hello.c:{n}:1: error: declaration for parameter 'x{n}'\n"
                      for n in range(9, 400))
    lab.guest.on(r"cc -c prog\.c", Answer(status=1, writes={
        "out/demo/build.log": "make -C module\n" + first + cascade + "make: *** Error 2\n"}))

    outcome = lab.run()

    assert first in outcome.logs["build"] and first in outcome.message
    assert outcome.logs["build"].endswith("make: *** Error 2\n"), "and its last words"
    assert "characters left out ..." in outcome.logs["build"]
    assert cause_of(outcome).startswith("error: expected ';' before 'int'"), cause_of(outcome)


def test_what_the_kernel_logged_during_a_failed_cell_is_part_of_its_evidence(lab: Lab) -> None:
    def refused(_command: str) -> Answer:
        lab.guest.log_kernel("kfunc bpf_strstr (id: 70236) is already present in vmlinux.")
        return Answer(status=1, writes={"out/demo/build.log": "insmod: Invalid parameters\n"})
    lab.guest.on(r"cc -c prog\.c", refused)
    outcome = lab.run()
    recorded = Incompatibility("build", r"kfunc \w+ \(id: \d+\) is already present in vmlinux",
                               "the chapter's kfunc is the kernel's own since 7.x")

    assert outcome.stage == Stage.BUILD
    assert "is already present in vmlinux" in outcome.logs["kernel"]
    assert "is already present" not in outcome.message, "the kernel's words are not the message"
    scenario = dataclasses.replace(lab.scenario, incompatible={"7.2": recorded})
    assert cell_for(outcome, scenario, "7.2").verdict == EXPECTED_INCOMPATIBLE, \
        "a record may name the kernel's own statement of the cause"


def test_a_guest_command_failing_before_the_build_fails_the_build(lab: Lab) -> None:
    lab.guest.on(r"/dev/kmsg", Answer(status=1, output="mkdir: No space left on device"))

    outcome = lab.run()

    assert outcome.stage == Stage.BUILD
    assert "No space left on device" in outcome.message


def test_sources_refused_fail_at_build_before_anything_is_copied(lab: Lab,
                                                                  tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.write_text("host only")
    (lab.project / "bpf" / "demo" / "link.h").symlink_to(outside)
    commands = len(lab.guest.commands)

    outcome = lab.run()

    assert outcome.stage == Stage.BUILD and "link.h" in outcome.message
    assert lab.guest.commands[commands:] == []
    assert outcome.evidence == lab.run_dir / "demo"
    assert "document" in outcome.timings


def test_without_the_program_loaded_nothing_is_started_and_the_trace_is_drained(
        lab: Lab) -> None:
    lab.guest.trace = ""

    outcome = lab.run(load_program=False)

    assert not lab.ran("loader prog.o")
    assert lab.ran("trace_pipe")
    assert outcome.stage == Stage.EXPECT and not outcome.passed
    assert "load" not in outcome.timings


# --- readiness -------------------------------------------------------------------

def test_the_workload_waits_for_the_ready_line_not_for_a_sleep(lab: Lab) -> None:
    lab.guest.loader = Loader(output="attaching\nready\n", ready_at=7.0)
    started = time.monotonic()

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert lab.guest.clock.now >= 7.0
    assert time.monotonic() - started < 5, "the fake clock waited, not the test"
    assert lab.ran("kill -0 4242"), "the loader's liveness was looked at meanwhile"


def test_a_loader_that_exits_before_it_is_ready_fails_at_load_with_its_output(
        lab: Lab) -> None:
    lab.guest.loader = Loader(output="libbpf: failed to attach: -EINVAL\n", running=False)

    outcome = lab.run()

    assert outcome.stage == Stage.LOAD
    assert outcome.message.startswith("`loader prog.o` exited before it was ready")
    assert "failed to attach: -EINVAL" in outcome.message
    assert not lab.ran("writer")


def test_a_loader_that_never_gets_ready_fails_at_load_after_its_timeout(lab: Lab) -> None:
    lab.guest.loader = Loader(output="still attaching\n")

    outcome = lab.run()

    assert outcome.stage == Stage.LOAD
    assert outcome.message.startswith("`loader prog.o` did not print '^ready$' within 180 s;")
    assert "still attaching" in outcome.message
    assert lab.guest.clock.now >= 180


def test_a_loader_that_exits_before_the_capture_ends_fails_at_capture(lab: Lab) -> None:
    def loader_dies(command: str) -> Answer:
        lab.guest.loader.running, lab.guest.loader.status = False, 139
        return lab.guest.lab_answer(command)

    lab.guest.on(r"^writer", loader_dies)

    outcome = lab.run()

    assert outcome.stage == Stage.CAPTURE
    assert outcome.message.startswith("the loader exited before the capture ended: status 139")
    assert "ready" in outcome.message, "the loader's output is the evidence"


def test_a_drain_that_fails_fails_at_capture_not_at_expect(lab: Lab) -> None:
    """An empty capture from a drain that did not read the pipe must not pass for
    an empty trace: a record at expect ("no captured line has that shape") would
    take it for its own."""
    lab.guest.drain_errors = "dd: failed to open '/sys/kernel/tracing/trace_pipe': " \
                             "Device or resource busy\n"

    outcome = lab.run()

    assert outcome.stage == Stage.CAPTURE
    assert outcome.message.startswith("draining trace_pipe failed: dd: failed to open")


def test_an_output_capture_settles_as_soon_as_the_expectations_hold(tmp_path: Path) -> None:
    lab = Lab(tmp_path, capture="output", load="settle_timeout = 9")
    lab.guest.loader = Loader(output=f"ready\nhit from {lab.guest.step_pid}\n")

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert lab.guest.clock.now < 9
    assert outcome.capture.endswith(f"hit from {lab.guest.step_pid}\n")


def test_an_output_capture_that_never_meets_them_is_judged_at_the_settle_deadline(
        tmp_path: Path) -> None:
    lab = Lab(tmp_path, capture="output", load="settle_timeout = 9")

    outcome = lab.run()

    assert outcome.stage == Stage.EXPECT and not outcome.passed
    assert lab.guest.clock.now >= 9


# --- a stuck step, a lost console, a dead guest ----------------------------------------

STUCK = GuestError("timed out after 60 s waiting for `writer` to finish", "console tail")


def test_a_stuck_step_is_interrupted_and_a_shell_that_answers_keeps_the_guest(
        lab: Lab) -> None:
    lab.guest.on(r"writer", Answer(error=STUCK))

    outcome = lab.run()

    assert outcome.stage == Stage.WORKLOAD
    assert outcome.message.startswith("timed out after 60 s waiting for `writer`")
    assert outcome.console_tail == "console tail"
    assert lab.guest.interrupts == 1
    assert not lab.runner.needs_reboot
    assert lab.ran("dmesg"), "the failure's dmesg is kept"
    assert (outcome.evidence / "console-tail.log").read_text() == "console tail"  # type: ignore[operator]


def test_a_loader_that_does_not_stop_when_told_says_where_it_waits(lab: Lab) -> None:
    pid = lab.guest.loader_pid
    lab.guest.on(rf"^if kill -0 {pid} ", Answer(error=GuestError(
        f"timed out after 120 s waiting for `kill -TERM {pid}` to finish", "console tail")))
    lab.guest.on(rf"^cd /proc/{pid} ", Answer(writes={"out/demo/loader-state.log": (
        "Name:\tbpftrace\nState:\tD (disk sleep)\nwchan: uprobe_unregister\n"
        "[<0>] uprobe_unregister+0x2a/0x60\n")}))

    outcome = lab.run()

    assert outcome.stage == Stage.CAPTURE
    assert outcome.message.splitlines()[0] == (
        f"timed out after 120 s waiting for `kill -TERM {pid}` to finish (the loader, pid "
        f"{pid}, was still there: D (disk sleep), wchan uprobe_unregister)")
    assert "uprobe_unregister+0x2a" in (
        outcome.evidence / "loader-state.log").read_text()  # type: ignore[operator]


def test_a_stuck_step_whose_shell_does_not_answer_gets_the_next_cell_a_new_guest(
        lab: Lab) -> None:
    lab.guest.on(r"writer", Answer(error=STUCK))
    lab.guest.answering = False

    outcome = lab.run()

    assert outcome.stage == Stage.WORKLOAD
    assert lab.runner.needs_reboot and not lab.runner.usable
    assert not lab.ran("dmesg") and not lab.ran("bpftool prog show | grep -c '^[0-9]'; ")


def test_a_guest_that_dies_mid_scenario_is_replaced_and_nothing_more_is_typed(
        lab: Lab) -> None:
    lab.guest.on(r"writer", Answer(kills=True, error=GuestError(
        "the guest went away while waiting for `writer` to finish (QEMU exited)", "tail")))

    outcome = lab.run()

    assert outcome.stage == Stage.WORKLOAD
    assert "went away" in outcome.message
    assert lab.runner.needs_reboot
    assert lab.guest.commands[-1].startswith("writer"), "nothing typed into a dead guest"


def test_a_panic_fails_the_cell_at_kernel_whatever_stage_it_came_in(lab: Lab) -> None:
    lab.guest.on(r"writer", Answer(kills=True, error=GuestError(
        "the guest went away (kernel panic: Fatal exception)", "tail", "Fatal exception")))

    outcome = lab.run()

    assert outcome.stage == Stage.KERNEL
    assert lab.runner.needs_reboot


def test_a_guest_lost_while_evidence_is_kept_is_replaced(lab: Lab) -> None:
    lab.guest.trace = "nothing\n"
    lab.guest.on(r"^dmesg", Answer(error=GuestError("timed out waiting for the prompt")))

    outcome = lab.run()

    assert outcome.stage == Stage.EXPECT
    assert lab.runner.needs_reboot


# --- kernel health --------------------------------------------------------------------

def splat_during_workload(lab: Lab, message: str) -> None:
    def splats(command: str) -> Answer:
        lab.guest.log_kernel(message)
        return lab.guest.lab_answer(command)

    lab.guest.on(r"^writer", splats)


def test_a_splat_during_the_scenario_fails_it_at_kernel_and_gets_a_new_guest(
        lab: Lab) -> None:
    splat_during_workload(lab, "WARNING: CPU: 0 PID: 9 at kernel/bpf/core.c:1 bpf_prog")

    outcome = lab.run()

    assert outcome.stage == Stage.KERNEL
    assert outcome.message.startswith("the kernel logged: WARNING: CPU: 0 PID: 9")
    assert lab.runner.needs_reboot


def test_a_splat_after_a_failure_is_the_verdict_and_keeps_the_earlier_failure(
        lab: Lab) -> None:
    splat_during_workload(lab, "BUG: unable to handle page fault")
    lab.guest.trace = "nothing\n"

    outcome = lab.run()

    assert outcome.stage == Stage.KERNEL
    assert "(also failed at expect: expectations not met)" in outcome.message


def test_an_accepted_splat_keeps_the_verdict_but_still_gets_a_new_guest(
        tmp_path: Path) -> None:
    lab = Lab(tmp_path, top='[[accepted_kernel_messages]]\npattern = "WARNING: .*bpf_probe"\n'
                            'why = "measured: the probe warns once"\n')
    splat_during_workload(lab, "WARNING: CPU: 0 PID: 9 at bpf_probe_read")

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert lab.runner.needs_reboot, "a spent WARN_ON_ONCE must not quiet the next cell"


def test_a_new_taint_alone_gets_a_new_guest(lab: Lab) -> None:
    def taints(command: str) -> Answer:
        lab.guest.taint = 1 << 12  # O: an out-of-tree module
        return lab.guest.lab_answer(command)

    lab.guest.on(r"^writer", taints)

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert lab.runner.needs_reboot


def test_a_damage_taint_no_splat_explains_fails_at_kernel(lab: Lab) -> None:
    def warns_silently(command: str) -> Answer:
        lab.guest.taint = 1 << 9  # W
        return lab.guest.lab_answer(command)

    lab.guest.on(r"^writer", warns_silently)

    outcome = lab.run()

    assert outcome.stage == Stage.KERNEL
    assert "became tainted (W: warning)" in outcome.message


# --- clean-up ---------------------------------------------------------------------------

def test_programs_still_loaded_after_the_scenario_fail_it_at_cleanup(lab: Lab) -> None:
    lab.guest.loader.ignores_stop = True
    lab.guest.on(r"^writer", lambda command: _loads_a_program(lab, command))

    outcome = lab.run()

    assert outcome.stage == Stage.CLEANUP
    assert outcome.message == ("1 BPF program(s) still loaded 10 s after the scenario "
                               "stopped its loader")
    assert lab.runner.needs_reboot
    assert lab.guest.clock.now >= 10


def _loads_a_program(lab: Lab, command: str) -> Answer:
    lab.guest.programs = 1
    return lab.guest.lab_answer(command)


def test_leftovers_of_a_failed_scenario_add_to_its_own_failure(lab: Lab) -> None:
    lab.guest.trace = "nothing\n"
    lab.guest.on(r"^writer", lambda command: _loads_a_program(lab, command))

    outcome = lab.run()

    assert outcome.stage == Stage.EXPECT
    assert outcome.message.startswith("expectations not met\n1 BPF program(s) still loaded")


def test_programs_that_go_soon_after_the_loader_leave_the_guest_clean(lab: Lab) -> None:
    counts = iter(["1\n", "1\n", "0\n"])
    lab.guest.on(r"^writer", lambda command: _loads_a_program(lab, command))
    lab.guest.on(r"^bpftool prog show", lambda command: Answer(output=next(counts)))

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert not lab.runner.needs_reboot


def test_a_clean_up_the_guest_does_not_answer_gets_a_new_guest(lab: Lab) -> None:
    lab.guest.on(r"rm -rf /tmp/lab/demo; echo", Answer(error=GuestError("timed out")))

    outcome = lab.run()

    assert outcome.passed
    assert lab.runner.needs_reboot


# --- the build cache --------------------------------------------------------------------

def test_a_stored_build_of_the_same_inputs_is_reused(tmp_path: Path) -> None:
    builds = BuildCache(tmp_path / "cache")
    lab = Lab(tmp_path, builds)
    key = lab.runner.build_key(lab.scenario)
    builds.store(key, b"a tar", {"scenario": "demo"})

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert outcome.build_reused == key
    assert not lab.ran("cc -c prog.c")
    assert lab.ran("tar -xf /lab/ro/builds/demo.tar")
    assert (lab.run_dir / RO_DIR / "builds" / "demo.tar").read_bytes() == b"a tar"


def test_a_fresh_build_is_stored_only_when_its_seal_matches(tmp_path: Path) -> None:
    builds = BuildCache(tmp_path / "cache")
    lab = Lab(tmp_path, builds)

    outcome = lab.run()

    assert outcome.passed, outcome.message
    assert outcome.build_reused is None
    assert lab.ran("/lab/ro/seals/"), "the build was sealed in the guest"
    assert builds.lookup(lab.runner.build_key(lab.scenario)) is None
    assert lab.ran("lab: the build was not stored"), "the build log says why"


def test_a_seal_that_fails_in_the_guest_stores_nothing_and_says_nothing(
        tmp_path: Path) -> None:
    builds = BuildCache(tmp_path / "cache")
    lab = Lab(tmp_path, builds)
    lab.guest.on(r"/lab/ro/seals/", Answer(status=1))

    assert lab.run().passed
    assert not lab.ran("lab: the build was not stored")


def test_a_build_wanting_vmlinux_h_fails_at_build_when_bpftool_cannot_dump_it(
        tmp_path: Path) -> None:
    lab = Lab(tmp_path)
    lab.scenario = dataclasses.replace(lab.scenario, vmlinux_h="vmlinux.h")
    lab.guest.on(r"bpftool btf dump", Answer(status=1, output="Error: no BTF"))

    outcome = lab.run()

    assert outcome.stage == Stage.BUILD
    assert outcome.message.startswith("bpftool could not dump the kernel's BTF")
    assert "Error: no BTF" in outcome.message

"""Tests for lab.guestvm.console.GuestConsole driving a real local bash through pexpect
(not a VM): command status and output, deadlines, and a shell that goes away."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from local_shell import local_bash

from lab.errors import GuestError
from lab.guestvm.console import PROMPT, GuestConsole, clean_output, new_marker
from lab.guestvm.workload import in_background_with_pid, pid_pattern

TAIL = "[    3.141592] fake console tail"


@pytest.fixture(scope="module")
def quiet_dmesg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A no-op `dmesg` first on PATH: SETUP's `dmesg -n 1` must not change the
    console log level of the host kernel when the tests run as root."""
    bin_dir = tmp_path_factory.mktemp("bin")
    stub = bin_dir / "dmesg"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    return bin_dir


@pytest.fixture
def child(quiet_dmesg: Path) -> Iterator[pexpect.spawn]:
    shell = local_bash(quiet_dmesg)
    try:
        yield shell
    finally:
        shell.close(force=True)


@pytest.fixture
def console(child: pexpect.spawn) -> GuestConsole:
    guest = GuestConsole(child, lambda: TAIL)
    guest.setup(timeout=10)
    return guest


def test_run_returns_status_and_output_only(console: GuestConsole) -> None:
    result = console.run("echo hi; false", 10)
    assert result.status == 1
    assert result.output == "hi\n"


@pytest.mark.parametrize(("command", "status", "output"), [
    ("true", 0, ""),
    ("printf 'a\\nb\\n'", 0, "a\nb\n"),
    ("(exit 42)", 42, ""),
    ("echo '[lab]# not a prompt'", 0, "not a prompt\n"),
])
def test_run_reports_each_commands_status_and_output(
        console: GuestConsole, command: str, status: int, output: str) -> None:
    result = console.run(command, 10)
    assert (result.status, result.output) == (status, output)


def test_consecutive_runs_do_not_mix_their_outputs(console: GuestConsole) -> None:
    assert console.run("echo one", 10).output == "one\n"
    assert console.run("echo two; (exit 3)", 10).status == 3
    assert console.run("echo three", 10).output == "three\n"


# Every status marker a counter could give: the old console numbered them 1, 2, ...
GUESSED_MARKERS = " ".join(f"__LAB_RC_{n}__=0" for n in range(1, 6))


def test_a_command_that_prints_the_next_status_marker_still_gets_its_own_status(
        console: GuestConsole) -> None:
    console.run("true", 10)  # a marker has been used: the next one is what a counter gives
    result = console.run(f"echo '{GUESSED_MARKERS}' | tr ' ' '\\n'; (exit 7)", 10)
    assert result.status == 7
    assert result.output == GUESSED_MARKERS.replace(" ", "\n") + "\n"
    after = console.run("echo after", 10)
    assert (after.status, after.output) == (0, "after\n")


def test_a_command_that_reads_the_console_input_does_not_see_the_status_marker(
        console: GuestConsole) -> None:
    """The command and its status line are one group, read before it runs: a
    program reading its input waits for a line of its own."""
    console.sendline("")
    result = console.run("read -r -t 1 line; echo \"read [$line]\"; (exit 7)", 10)
    assert (result.status, result.output) == (7, "read []\n")


def test_markers_are_fresh_and_random_for_each_use() -> None:
    markers = {new_marker("RC") for _ in range(100)}
    assert len(markers) == 100
    assert all(re.fullmatch(r"__LAB_RC_[0-9a-f]{16}__", m) for m in markers)


def test_check_returns_the_output_of_a_successful_command(console: GuestConsole) -> None:
    assert console.check("echo fine", 10) == "fine\n"


def test_check_raises_with_the_output_and_the_console_tail(console: GuestConsole) -> None:
    with pytest.raises(GuestError) as info:
        console.check("echo boom; (exit 3)", 10)
    assert str(info.value) == "`echo boom; (exit 3)` exited 3: boom\n"
    assert info.value.console_tail == TAIL


def test_expect_timeout_names_what_was_awaited_and_the_pattern(console: GuestConsole) -> None:
    console.sendline("echo partial-output")
    with pytest.raises(GuestError) as info:
        console.expect("never-printed", 0.2, "the moon to rise")
    message = str(info.value)
    assert message.startswith("timed out after 0 s waiting for the moon to rise "
                              "(pattern 'never-printed'); last output: ")
    assert "partial-output" in message
    assert info.value.console_tail == TAIL


def test_expect_returns_the_match(console: GuestConsole) -> None:
    console.sendline("echo value=17")
    match = console.expect(r"value=(\d+)", 5, "the value")
    assert match.group(1) == "17"
    assert console.last_output().endswith("value=17")


def test_shell_exit_while_waiting_says_the_guest_went_away(console: GuestConsole) -> None:
    console.sendline("exit")
    with pytest.raises(GuestError) as info:
        console.expect("anything", 5, "the moon to rise")
    assert str(info.value).startswith(
        "the guest went away while waiting for the moon to rise (QEMU exited; its last output: ")
    assert info.value.console_tail == TAIL


def test_run_of_a_command_that_ends_the_shell_says_the_guest_went_away(
        console: GuestConsole) -> None:
    with pytest.raises(GuestError, match="went away while waiting for `exit 0` to finish"):
        console.run("exit 0", 5)


def test_clean_output_folds_crlf_and_drops_prompts() -> None:
    assert clean_output(f"a\r\nb\r\r\n{PROMPT}c\n") == "a\nb\nc\n"


def test_a_recorded_run_step_reports_the_commands_own_pid_and_status(
        console: GuestConsole) -> None:
    """The runner's wrapper for `run` steps: the pid printed is the command's own
    (here a shell that prints $$ itself), and the status is the command's."""
    mark = new_marker("PID")
    result = console.run(in_background_with_pid("sh -c 'echo self=$$; exit 3'", mark), 10)

    assert result.status == 3
    printed = re.search(pid_pattern(mark), result.output)
    assert printed is not None
    assert f"self={printed.group(1)}\n" in result.output


def test_a_guest_that_panics_is_reported_as_a_panic_with_its_message(
        child: pexpect.spawn) -> None:
    panicked = "[   12.3] Kernel panic - not syncing: sysrq triggered crash\r\n"
    console = GuestConsole(child, lambda: panicked)
    console.setup(timeout=10)
    console.sendline("exit")
    with pytest.raises(GuestError) as info:
        console.expect("anything", 5, "the workload")
    assert str(info.value).endswith("(kernel panic: sysrq triggered crash)")
    assert info.value.panic == "sysrq triggered crash"


def test_a_console_that_answers_after_an_interrupt_is_usable(console: GuestConsole) -> None:
    # the child prints, so the foreground job exists when "started" shows: a
    # Ctrl-C that reached bash itself between a builtin echo and the fork
    # would test another thing
    console.sendline("sh -c 'echo started; exec sleep 30'")
    console.expect("started", 5, "sleep to start")
    console.interrupt()
    assert console.answers(5)


def test_a_console_held_by_a_program_that_ignores_interrupts_does_not_answer(
        console: GuestConsole) -> None:
    console.sendline("trap '' INT; echo started; read line; read line")
    console.expect("started", 5, "read to start")
    console.interrupt()
    assert not console.answers(1)


def test_a_missed_deadline_leaves_the_console_in_doubt_until_a_command_runs(
        console: GuestConsole) -> None:
    assert not console.in_doubt
    with pytest.raises(GuestError):
        console.run("sleep 2", 0.5)
    assert console.in_doubt
    assert console.answers(5)
    assert not console.in_doubt

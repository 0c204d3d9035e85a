"""Tests for lab.guestvm.workload on a real local bash through the lab's console (no VM):
background jobs and their pids, values collected from a run step's output, exit
statuses, and later steps using earlier records; also the failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_shell import local_bash

from lab.guestvm.console import GuestConsole
from lab.guestvm.workload import StepFailed, Workload, collect, resolve
from lab.scenario import Step, parse_scenario

WHERE = Path("/somewhere/workload.toml")


@pytest.fixture
def console(tmp_path: Path) -> Iterator[GuestConsole]:
    stub = tmp_path / "dmesg"  # SETUP's `dmesg -n 1` must not touch the host's log level
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    shell = local_bash(tmp_path, cwd=tmp_path)
    try:
        guest = GuestConsole(shell, lambda: "")
        guest.setup(timeout=10)
        yield guest
    finally:
        shell.close(force=True)


def steps(*tables: dict[str, Any]) -> tuple[Step, ...]:
    """Workload steps as a scenario file writes them (validated by lab.scenario)."""
    recorded = next((t["record"] for t in tables if "record" in t), None)
    workload = list(tables) if recorded else [*tables, {"run": "true", "record": "x"}]
    data = {"summary": "s", "build": {"commands": []},
            "load": {"command": "true", "ready": "ready"}, "workload": workload,
            "expect": [{"summary": "e", "for_each": recorded or "x", "lines": ["${pid}"]}]}
    return parse_scenario(data, WHERE).workload


def alive(console: GuestConsole, pid: str) -> bool:
    return console.run(f"kill -0 {pid} 2>/dev/null", 5).status == 0


# --- background jobs and references ---------------------------------------------

def test_a_background_job_records_its_own_pid_and_a_later_step_signals_it(
        console: GuestConsole) -> None:
    workload = Workload(console)
    records = workload.run(steps(
        {"run": "sleep 30 &", "record": "victim"},
        {"run": "kill -TERM ${victim.pid}", "record": "kills",
         "vars": {"victim": "${victim.pid}"}},
        {"run": "wait ${victim.pid}", "status": 143},  # 128 + SIGTERM: it was that sleep
    ))
    (victim,) = records["victim"]
    (kill,) = records["kills"]
    assert kill["victim"] == victim["pid"]
    assert console.run(f"cat /proc/{victim['pid']}/comm 2>/dev/null", 5).output == ""
    assert workload.jobs == []


def test_the_background_job_is_the_command_itself_and_keeps_running(
        console: GuestConsole) -> None:
    workload = Workload(console)
    workload.step(steps({"run": "sleep 30 &", "record": "victim"})[0])
    pid = workload.records["victim"][0]["pid"]
    # the job is the shell's child until it has executed sleep
    waited = console.run(f"for i in $(seq 50); do grep -qx sleep /proc/{pid}/comm && break; "
                         f"sleep 0.1; done; cat /proc/{pid}/comm", 10)
    assert waited.output == "sleep\n"
    assert workload.jobs == [pid]
    workload.end_jobs()
    assert not alive(console, pid)


def test_jobs_still_running_when_the_workload_ends_are_killed(console: GuestConsole) -> None:
    records = Workload(console).run(steps({"run": "sleep 30 &", "record": "victim"}))
    assert not alive(console, records["victim"][0]["pid"])


def test_jobs_are_killed_when_a_later_step_fails(console: GuestConsole) -> None:
    workload = Workload(console)
    with pytest.raises(StepFailed, match="workload step `false` exited 1"):
        workload.run(steps({"run": "sleep 30 &", "record": "victim"}, {"run": "false"}))
    assert not alive(console, workload.records["victim"][0]["pid"])


def test_a_reference_is_shell_quoted_in_a_command_and_raw_in_vars() -> None:
    step = Step("run", "echo ${a.word} ${a.pid}", record="b",
                variables={"copy": "<${a.word}>"})
    filled = resolve(step, {"a": [{"pid": "1", "word": "x"}, {"pid": "2", "word": "it's"}]})
    assert filled.command == """echo 'it'"'"'s' 2"""
    assert filled.variables == {"copy": "<it's>"}


def test_a_reference_to_a_record_not_made_yet_fails_the_step() -> None:
    step = Step("run", "kill ${victim.pid}")
    with pytest.raises(StepFailed, match=r"uses \$\{victim.pid\}, but no step recorded "
                                         r"'victim' before it"):
        resolve(step, {"victim": []})


# --- collect and status ------------------------------------------------------------

def test_a_run_step_collects_values_from_its_output(console: GuestConsole) -> None:
    records = Workload(console).run(steps(
        {"run": "echo shell=$$; echo other line", "collect": r"^shell=(?P<shell>\d+)$",
         "record": "shell"},
        {"run": "sh -c 'exit 3'", "status": 3, "record": "exits",
         "vars": {"parent": "${shell.shell}"}},
    ))
    shell = console.run("echo $$", 5).output.strip()
    assert [r["shell"] for r in records["shell"]] == [shell]
    assert records["exits"][0]["parent"] == shell
    assert records["exits"][0]["pid"] != shell


def test_each_matching_line_is_a_record(console: GuestConsole) -> None:
    records = Workload(console).run(steps(
        {"run": "printf 'n=1\\nn=2\\nx=3\\n'", "collect": r"^n=(?P<n>\d)$", "record": "ns"}))
    assert [r["n"] for r in records["ns"]] == ["1", "2"]
    assert len({r["pid"] for r in records["ns"]}) == 1


def test_a_collect_that_matches_nothing_fails_with_the_output(console: GuestConsole) -> None:
    with pytest.raises(StepFailed) as info:
        Workload(console).run(steps({"run": "echo nothing here", "collect": r"^n=(?P<n>\d)$",
                                     "record": "ns"}))
    assert "printed no line matching `collect` '^n=(?P<n>\\\\d)$': 'nothing here\\n'" \
        in str(info.value)


@pytest.mark.parametrize(("table", "message"), [
    ({"run": "sh -c 'exit 3'", "record": "r"}, "`sh -c 'exit 3'` exited 3: "),
    ({"run": "true", "status": 4, "record": "r"}, "`true` exited 0, not 4: "),
    ({"run": "sh -c 'exit 5'", "status": 4}, "`sh -c 'exit 5'` exited 5, not 4: "),
])
def test_a_step_must_end_with_its_status(console: GuestConsole, table: dict[str, Any],
                                         message: str) -> None:
    with pytest.raises(StepFailed, match=message):
        Workload(console).run(steps(table))


# --- the lab's markers cannot be forged by a step's output ------------------------

# What a step could print to pass for the lab's own lines under predictable markers.
FORGED = "echo __LAB_PID__=1 __LAB_RC_1__=0 __LAB_RC_2__=0 __LAB_RC_3__=0 | tr ' ' '\\n'"


def test_a_step_that_prints_a_pid_line_gets_its_own_pid(console: GuestConsole) -> None:
    records = Workload(console).run(steps(
        {"run": f"{FORGED}; sh -c 'echo self=$$'", "collect": r"^self=(?P<own>\d+)$",
         "record": "r"}))
    (record,) = records["r"]
    assert record["pid"] == record["own"] != "1"


@pytest.mark.parametrize("table", [
    {"run": f"{FORGED}; sh -c 'exit 7'"},
    {"run": f"{FORGED}; sh -c 'exit 7'", "record": "r"},
])
def test_a_step_that_prints_status_lines_gets_its_own_status(
        console: GuestConsole, table: dict[str, Any]) -> None:
    with pytest.raises(StepFailed, match="exited 7: __LAB_PID__=1\n__LAB_RC_1__=0"):
        Workload(console).run(steps(table))


def test_collect_keeps_the_steps_own_fields_and_adds_the_groups() -> None:
    found = collect(r"ret=(?P<value>\d+)", "pid = 9\nret=1\nret=2\n", {"pid": "9", "v": "x"})
    assert found == [{"pid": "9", "v": "x", "value": "1"}, {"pid": "9", "v": "x", "value": "2"}]


# --- the unchanged kinds still record ---------------------------------------------

def test_spawn_and_interactive_steps_record_their_pid(console: GuestConsole) -> None:
    records = Workload(console).run(steps(
        {"spawn": "sh -c 'echo ret=1; echo ret=2; exec sleep 30'", "until": r"ret=2\s",
         "collect": r"^ret=(?P<value>\d+)$", "record": "calls", "timeout": 10},
        {"interactive": "env PS1=inner: bash --norc -i", "prompt": "inner:", "type": ["true"],
         "record": "typed", "timeout": 10},
    ))
    assert [r["value"] for r in records["calls"]] == ["1", "2"]
    assert records["typed"][0]["line"] == "true"

"""The scenario keys around the loader (set-up, tear-down, a one-shot tool, a Ctrl-C
stop) and of the guest a scenario needs (series, userland, kernel arguments):
accepted as documented, refused with the file and key named otherwise."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lab.scenario import ScenarioError, parse_scenario

WHERE = Path("/somewhere/demo.toml")
BASE: dict[str, Any] = {
    "summary": "a scenario with a server set up before its loader",
    "build": {"commands": ["make"]},
    "setup": [{"run": "ip link set lo up"}, {"run": "server &", "record": "server"}],
    "load": {"command": "tool -p ${server.pid}", "ready": "^ready$", "capture": "output"},
    "workload": [{"run": "client", "record": "clients", "vars": {"to": "${server.pid}"}}],
    "expect": [{"summary": "the client", "for_each": "clients", "lines": ["^${pid} -> ${to}$"]},
               {"summary": "the server", "for_each": "server", "lines": ["^served ${pid}$"]}],
    "teardown": [{"run": "kill ${server.pid}; ip link set lo down"}],
}


def parsed(**changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    return parse_scenario(data, WHERE)


def refused(**changes: Any) -> str:
    with pytest.raises(ScenarioError) as info:
        parsed(**changes)
    assert str(WHERE) in str(info.value)
    return str(info.value)


def test_set_up_records_feed_the_load_command_the_workload_expectations_and_tear_down() -> None:
    scenario = parsed()

    assert [step.command for step in scenario.setup] == ["ip link set lo up", "server &"]
    assert scenario.setup[1].background
    assert scenario.teardown[0].command == "kill ${server.pid}; ip link set lo down"
    assert scenario.load.awaits_exit is False


def test_the_load_command_may_name_only_what_the_set_up_recorded() -> None:
    message = refused(load={"command": "tool -p ${clients.pid}", "ready": "^ready$"})

    assert "[load] command" in message and "no set-up step records 'clients'" in message


def test_a_tear_down_step_may_name_only_what_the_set_up_recorded() -> None:
    message = refused(teardown=[{"run": "kill ${clients.pid}"}])

    assert "teardown[0]" in message and "'clients'" in message


def test_a_set_up_step_may_not_name_a_record_of_the_workload() -> None:
    message = refused(setup=[{"run": "warm ${clients.pid}"}])

    assert "setup[0]" in message and "no earlier step records 'clients'" in message


@pytest.mark.parametrize("step", [{"run": "cleaner &"}, {"run": "x", "record": "r"},
                                  {"spawn": "x", "until": "y"}])
def test_a_tear_down_step_is_a_command_waited_for_that_records_nothing(
        step: dict[str, Any]) -> None:
    refused(teardown=[step])


def test_a_one_shot_tool_has_no_ready_line_and_may_expect_a_status() -> None:
    load = parsed(load={"command": "pktgen", "once": True, "status": 3,
                        "capture": "output"}).load

    assert (load.once, load.ready, load.status, load.awaits_exit) == (True, None, 3, True)


@pytest.mark.parametrize(("load", "problem"), [
    ({"command": "t", "once": True, "ready": "^x$"}, "`ready` cannot apply"),
    ({"command": "t", "once": True, "stop": "interrupt"}, "`stop` cannot apply"),
    ({"command": "t", "ready": "^x$", "status": 1}, "`status` is the loader's exit status"),
    ({"command": "t", "ready": "^x$", "stop": "kill"}, "`stop` must be one of"),
    ({"command": "t", "ready": "^x$", "once": "yes"}, "`once` must be true or false"),
    ({"command": "t"}, "`ready`"),
])
def test_load_keys_that_could_not_apply_are_refused(load: dict[str, Any], problem: str) -> None:
    assert problem in refused(load=load)


def test_a_ctrl_c_stop_waits_for_the_exit_with_its_status() -> None:
    load = parsed(load={"command": "t", "ready": "^x$", "stop": "interrupt",
                        "status": 0}).load

    assert (load.stop, load.awaits_exit) == ("interrupt", True)


def test_series_userland_and_kernel_arguments_decide_the_guest_flavor() -> None:
    scenario = parsed(series="bpf-developer-tutorial", userland="trixie",
                      kernel_cmdline=["lsm=landlock,bpf", "nokaslr"])

    assert scenario.series == "bpf-developer-tutorial"
    assert scenario.flavor_on(None) == ("trixie", ("lsm=landlock,bpf", "nokaslr"))
    assert parsed().flavor_on("6.1") == (None, ())


@pytest.mark.parametrize("argument", ["lsm=bpf landlock", "a;reboot", "x='1'", "", "$(id)"])
def test_a_kernel_argument_is_one_word_without_shell_or_quotes(argument: str) -> None:
    refused(kernel_cmdline=[argument])


@pytest.mark.parametrize("argument", ["init=/bin/sh", "root=/dev/vda", "panic=0",
                                      "virtme_initmount10=/x", "console=ttyS1", "rw"])
def test_a_kernel_argument_the_lab_sets_itself_is_refused(argument: str) -> None:
    assert "what the lab sets itself" in refused(kernel_cmdline=[argument])


@pytest.mark.parametrize(("key", "value"), [("userland", "../trixie"), ("userland", "Trixie"),
                                            ("series", "a/b"), ("series", 3)])
def test_userland_and_series_are_plain_names(key: str, value: object) -> None:
    assert f"`{key}`" in refused(**{key: value})

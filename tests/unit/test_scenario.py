"""Tests for lab.scenario: the shipped scenarios load, and malformed ones are refused
with a message that names the file and the offending field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from lab.errors import LabError
from lab.scenario import ScenarioError, load_scenario, load_scenarios, parse_scenario

SCENARIOS_DIR = Path(__file__).resolve().parents[2] / "scenarios"
WHERE = Path("/somewhere/broken.toml")

BASE: dict[str, Any] = {
    "summary": "a minimal valid scenario",
    "build": {"commands": ["make"]},
    "load": {"command": "ecli run x.bpf.o", "ready": r"^Running eBPF program\.\.\.$",
             "capture": "trace_pipe"},
    "workload": [{"run": "rm f", "record": "unlinks", "vars": {"file": "f"}}],
    "expect": [{"summary": "an ENTRY per rm", "for_each": "unlinks",
                "lines": ["ENTRY pid = ${pid}, filename = ${file}$"]}],
}


def scenario_dict(**changes: Any) -> dict[str, Any]:
    """BASE with top-level keys replaced (a value of None deletes the key)."""
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, WHERE)
    message = str(info.value)
    assert str(WHERE) in message, "every scenario error names the file"
    return message


# --- the shipped scenarios ---------------------------------------------------

def test_all_shipped_scenarios_load_sorted_by_file_name() -> None:
    scenarios = load_scenarios(SCENARIOS_DIR)
    assert [s.name for s in scenarios] == [
        "bashreadline", "kprobe-link", "minimal", "strlen-snoop", "uprobe-simple"]


@pytest.mark.parametrize(("name", "capture", "kinds", "records", "config"), [
    ("bashreadline", "trace_pipe", ["interactive"], {"typed"}, "CONFIG_UPROBE_EVENTS"),
    ("kprobe-link", "trace_pipe", ["run", "run", "run", "run"], {"unlinks"},
     "CONFIG_KPROBE_EVENTS"),
    ("minimal", "trace_pipe", ["run", "run"], {"writers"}, "CONFIG_FTRACE_SYSCALLS"),
    ("strlen-snoop", "output", ["run"], {"ls"}, "CONFIG_UPROBES"),
    ("uprobe-simple", "output", ["spawn"], {"calls"}, "CONFIG_UPROBES"),
])
def test_shipped_scenario_has_its_capture_workload_kinds_records_and_config(
        name: str, capture: str, kinds: list[str], records: set[str], config: str) -> None:
    scenario = load_scenario(SCENARIOS_DIR / f"{name}.toml")
    assert scenario.name == name
    assert scenario.program == f"bpf/{name}"
    assert scenario.load.capture == capture
    assert [step.kind for step in scenario.workload] == kinds
    assert {step.record for step in scenario.workload if step.record} == records
    assert {e.for_each for e in scenario.expect} == records
    assert "CONFIG_BPF_EVENTS" in scenario.kernel_config
    assert config in scenario.kernel_config


def test_kprobe_link_rm_steps_carry_their_file_names() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "kprobe-link.toml")
    recorded = [(s.command, s.variables) for s in scenario.workload if s.record]
    assert recorded == [("rm test1", {"file": "test1"}), ("rm test2", {"file": "test2"})]
    assert scenario.expect[0].in_order is True
    assert len(scenario.expect[0].lines) == 2


def test_bashreadline_interactive_step_types_five_lines_at_its_prompt() -> None:
    step = load_scenario(SCENARIOS_DIR / "bashreadline.toml").workload[0]
    assert step.lines == ("hi", "test1", "test2", "command1", "command2")
    assert step.prompt == "bash-[0-9.]+# "


def test_uprobe_simple_spawn_step_collects_named_values() -> None:
    step = load_scenario(SCENARIOS_DIR / "uprobe-simple.toml").workload[0]
    assert step.command == "./target-sample"
    assert step.until == r"ret=4\s"
    assert step.collect == r"^ret=(?P<value>\d+)$"


def test_load_scenarios_of_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no scenarios in"):
        load_scenarios(tmp_path)


def test_load_scenario_with_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("summary = \n")
    with pytest.raises(ScenarioError, match="bad.toml"):
        load_scenario(path)


# --- the minimal base is valid ----------------------------------------------

def test_base_dict_parses_and_takes_its_name_from_the_file() -> None:
    scenario = parse_scenario(scenario_dict(), WHERE)
    assert scenario.name == "broken"
    assert scenario.build == ("make",)
    assert scenario.load.ready_timeout == 180.0
    assert scenario.workload[0].variables == {"file": "f"}
    assert scenario.kernel_config == ()


# --- parse errors -------------------------------------------------------------

def test_unknown_top_level_field_is_named() -> None:
    message = refused(scenario_dict(colour="blue"))
    assert "unknown field(s) ['colour']" in message


def test_unknown_field_in_load_table_is_named_with_its_table() -> None:
    data = scenario_dict()
    data["load"]["timeout"] = 3
    message = refused(data)
    assert "[load]" in message
    assert "unknown field(s) ['timeout']" in message


def test_unknown_field_in_expectation_is_named_with_its_index() -> None:
    data = scenario_dict()
    data["expect"][0]["ordered"] = False
    message = refused(data)
    assert "expect[0]" in message
    assert "['ordered']" in message


def test_missing_load_table_is_refused() -> None:
    assert "needs a [load] table" in refused(scenario_dict(load=None))


@pytest.mark.parametrize("capture", ["dmesg", "stdout", ""])
def test_capture_must_be_trace_pipe_or_output(capture: str) -> None:
    data = scenario_dict()
    data["load"]["capture"] = capture
    message = refused(data)
    assert "capture must be one of ('trace_pipe', 'output')" in message
    assert repr(capture) in message


def test_output_capture_is_accepted() -> None:
    data = scenario_dict()
    data["load"]["capture"] = "output"
    assert parse_scenario(data, WHERE).load.capture == "output"


def test_bad_regex_in_ready_is_refused() -> None:
    data = scenario_dict()
    data["load"]["ready"] = "^Running (eBPF"
    message = refused(data)
    assert "`ready` is not a valid regex" in message


def test_bad_regex_in_expectation_line_is_refused() -> None:
    data = scenario_dict()
    data["expect"][0]["lines"] = ["pid = ${pid} [unclosed"]
    assert "bad pattern 'pid = ${pid} [unclosed'" in refused(data)


@pytest.mark.parametrize("step", [
    {"run": "rm f", "spawn": "./t", "until": "x", "record": "unlinks"},
    {"record": "unlinks"},
], ids=["two-kinds", "no-kind"])
def test_a_step_needs_exactly_one_kind(step: dict[str, Any]) -> None:
    message = refused(scenario_dict(workload=[step]))
    assert "workload[0]" in message
    assert "needs exactly one of run, interactive, spawn" in message


@pytest.mark.parametrize("step", [
    {"interactive": "bash -i", "type": ["hi"], "record": "unlinks"},
    {"interactive": "bash -i", "prompt": "# ", "record": "unlinks"},
    {"interactive": "bash -i", "prompt": "# ", "type": [], "record": "unlinks"},
], ids=["no-prompt", "no-type", "empty-type"])
def test_interactive_step_needs_prompt_and_typed_lines(step: dict[str, Any]) -> None:
    message = refused(scenario_dict(workload=[step]))
    assert "an interactive step needs `type` lines and its `prompt`" in message


def test_spawn_step_needs_until() -> None:
    step = {"spawn": "./target-sample", "record": "unlinks"}
    assert "a spawn step needs `until`" in refused(scenario_dict(workload=[step]))


def test_expectation_over_a_record_no_step_makes_is_refused() -> None:
    data = scenario_dict()
    data["expect"][0]["for_each"] = "deletions"
    message = refused(data)
    assert "iterates over 'deletions', which no workload step records" in message


def test_template_field_the_record_does_not_carry_is_refused() -> None:
    data = scenario_dict()
    data["expect"][0]["lines"] = ["ENTRY pid = ${pid}, inode = ${x}$"]
    message = refused(data)
    assert "uses ['x'], not recorded by 'unlinks'" in message


@pytest.mark.parametrize(("step", "field_name"), [
    ({"interactive": "bash -i", "prompt": "# ", "type": ["hi"], "record": "unlinks"}, "line"),
    ({"spawn": "./t", "until": "done", "collect": r"^ret=(?P<value>\d+)$",
      "record": "unlinks"}, "value"),
    ({"run": "rm f", "record": "unlinks", "vars": {"file": "f"}}, "file"),
])
def test_fields_a_step_does_carry_are_accepted(step: dict[str, Any], field_name: str) -> None:
    expect = [{"summary": "s", "for_each": "unlinks", "lines": [f"${{pid}} ${{{field_name}}}"]}]
    scenario = parse_scenario(scenario_dict(workload=[step], expect=expect), WHERE)
    assert scenario.expect[0].lines == (f"${{pid}} ${{{field_name}}}",)


@pytest.mark.parametrize("expect", [[], None], ids=["empty-list", "absent"])
def test_scenario_without_expectations_is_refused(expect: list[Any] | None) -> None:
    message = refused(scenario_dict(expect=expect))
    assert "a scenario needs at least one [[expect]]" in message


def test_expected_incompatibilities_are_kept_by_kernel_line() -> None:
    reason = "bpf_printk format has two %s; 5.10 allows one"
    scenario = parse_scenario(scenario_dict(expected_incompatible={"5.10": reason}), WHERE)
    assert scenario.incompatible == {"5.10": reason}
    assert parse_scenario(scenario_dict(), WHERE).incompatible == {}

"""Tests for lab.scenario: the shipped scenarios load, and malformed ones are refused
with a message that names the file and the offending field."""

from __future__ import annotations

import copy
import hashlib
import math
import re
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lab.cache.catalog import load_catalog
from lab.errors import LabError
from lab.scenario import (
    Incompatibility,
    ScenarioError,
    load_scenario,
    load_scenarios,
    parse_scenario,
)
from lab.verdicts.matcher import evaluate
from lab.verdicts.outcome import STAGES

pytest_plugins = ["pytester"]

PROJECT = Path(__file__).resolve().parents[2]
SCENARIOS_DIR = PROJECT / "scenarios"
CATALOG_LINES = list(load_catalog(PROJECT / "vm" / "kernels.toml"))
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
    scenarios = load_scenarios(SCENARIOS_DIR, CATALOG_LINES)
    assert [s.name for s in scenarios] == sorted(p.stem for p in SCENARIOS_DIR.glob("*.toml"))
    assert len(scenarios) >= 5


@pytest.mark.parametrize(("name", "capture", "kinds", "records", "config"), [
    ("bashreadline", "trace_pipe", ["interactive"], {"typed"}, "CONFIG_UPROBE_EVENTS"),
    ("kprobe-link", "trace_pipe", ["run", "run", "run", "run"], {"unlinks"},
     "CONFIG_KPROBE_EVENTS"),
    ("minimal", "trace_pipe", ["run", "run"], {"writers"}, "CONFIG_FTRACE_SYSCALLS"),
    ("strlen-snoop", "output", ["run"], {"ls"}, "CONFIG_UPROBES"),
    ("uprobe-simple", "output", ["spawn"], {"calls"}, "CONFIG_UPROBES"),
    ("bcc-bashreadline", "output", ["interactive"], {"typed"}, "CONFIG_UPROBE_EVENTS"),
    ("ptrace-snoop", "trace_pipe", ["spawn"], {"straced"}, "CONFIG_FTRACE_SYSCALLS"),
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


def test_ptrace_snoop_brings_strace_which_the_base_recipe_lacks() -> None:
    """strace is outside the base recipe: the tutorial declares it itself."""
    assert load_scenario(SCENARIOS_DIR / "ptrace-snoop.toml").guest_packages == ("strace",)
    recipe = tomllib.loads((PROJECT / "vm" / "rootfs.toml").read_text())
    assert "strace" not in recipe["packages"]


def test_ptrace_snoop_expects_strace_seizing_the_child_it_started() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "ptrace-snoop.toml")
    (step,) = scenario.workload
    assert step.command.startswith("strace ")
    assert step.variables == {"seize": "16902"}  # PTRACE_SEIZE
    assert scenario.expect[0].lines == (
        r"bpf_trace_printk: ptrace request ${seize} on PID ${child} by PID ${pid}\.$",)


def test_bcc_bashreadline_is_bccs_tool_unchanged() -> None:
    """The file a reader downloads from bcc (tools/bashreadline.py, git blob
    7e8324a2, iovisor/bcc 706ec4f), byte for byte: its git blob id is the upstream one."""
    data = (PROJECT / "bpf" / "bcc-bashreadline" / "bashreadline.py").read_bytes()
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    assert blob == "7e8324a2c0ea511800711ff6767d184929601d88"
    scenario = load_scenario(SCENARIOS_DIR / "bcc-bashreadline.toml")
    assert scenario.load.command == "python3 bashreadline.py"
    assert scenario.build == ()
    assert scenario.workload[0].kind == "interactive"


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


BASE_TOML = """summary = "a minimal valid scenario"
[build]
commands = ["make"]
[load]
command = "ecli run x.bpf.o"
ready = '^Running'
[[workload]]
run = "rm f"
record = "unlinks"
[[expect]]
summary = "an ENTRY per rm"
for_each = "unlinks"
lines = ['ENTRY pid = ${pid}']
"""


def test_two_files_of_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(BASE_TOML)
    (tmp_path / "b.toml").write_text('name = "a"\n' + BASE_TOML)
    with pytest.raises(ScenarioError) as info:
        load_scenarios(tmp_path)
    assert str(info.value) == (f"{tmp_path / 'b.toml'}: `name` 'a' is also the name of "
                               f"{tmp_path / 'a.toml'}; each scenario needs its own name")


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


# --- item 2: an incompatibility says which failure is expected ------------------

RECORD = {"stage": "expect", "evidence": "no line matches .*; no captured line has that shape",
          "reason": "bpf_printk format has two %s; 5.10 allows one"}


def with_record(line: str = "5.10", **changes: Any) -> dict[str, Any]:
    """BASE with one [expected_incompatible] record (a value of None deletes the key)."""
    record = {k: v for k, v in {**RECORD, **changes}.items() if v is not None}
    return scenario_dict(expected_incompatible={line: record})


def test_expected_incompatibilities_are_kept_by_kernel_line() -> None:
    scenario = parse_scenario(with_record(), WHERE)
    assert scenario.incompatible == {"5.10": Incompatibility(**RECORD)}
    assert parse_scenario(scenario_dict(), WHERE).incompatible == {}


def test_old_string_form_of_an_incompatibility_is_refused_with_the_new_form() -> None:
    data = scenario_dict(expected_incompatible={"5.10": "bpf_printk format has two %s"})
    message = refused(data)
    assert '[expected_incompatible."5.10"]' in message
    assert "must be a table with `stage` (one of preflight, boot, build," in message
    assert "`evidence` (a regex the observed failure must match) and `reason`" in message
    assert "not a string 'bpf_printk format has two %s'" in message


@pytest.mark.parametrize("stage", ["compile", "", "Build", 3, None])
def test_incompatibility_stage_must_be_one_of_the_outcome_stages(stage: object) -> None:
    message = refused(with_record(stage=stage))
    assert f"`stage` must be one of {', '.join(STAGES)}, not " in message


@pytest.mark.parametrize("stage", STAGES)
def test_every_outcome_stage_is_accepted(stage: str) -> None:
    assert parse_scenario(with_record(stage=stage), WHERE).incompatible["5.10"].stage == stage


@pytest.mark.parametrize(("evidence", "problem"), [
    ("no member named (name", "`evidence` is not a valid regex: missing ), unterminated"),
    ("", "`evidence` must be a non-empty string, not a blank string ''"),
    (None, "`evidence` is missing; it must be a non-empty string"),
    (".*", "`evidence` must be a regex that needs some text, not a string '.*'"),
    (["build"], "`evidence` must be a non-empty string, not a list ['build']"),
])
def test_incompatibility_evidence_must_be_a_regex_that_needs_some_text(
        evidence: object, problem: str) -> None:
    assert problem in refused(with_record(evidence=evidence))


@pytest.mark.parametrize("reason", ["", None, 7])
def test_incompatibility_needs_its_reason(reason: object) -> None:
    assert "`reason` " in refused(with_record(reason=reason))


def test_unknown_key_in_an_incompatibility_is_refused() -> None:
    assert "unknown field(s) ['kernel']" in refused(with_record(kernel="5.10.0-32"))


def test_incompatibility_of_a_line_the_catalog_lacks_is_refused_naming_the_known_lines() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(with_record(line="5.9"), WHERE, known_lines=["5.10", "6.1"])
    assert str(info.value) == (f"{WHERE}: [expected_incompatible] `5.9` is not a kernel line "
                               "of the catalog (known: 5.10, 6.1)")
    assert parse_scenario(with_record(line="5.9"), WHERE).incompatible.keys() == {"5.9"}


def test_load_scenarios_checks_incompatibilities_against_the_known_lines(tmp_path: Path) -> None:
    shutil.copy(SCENARIOS_DIR / "kprobe-link.toml", tmp_path)
    recorded = list(load_scenario(SCENARIOS_DIR / "kprobe-link.toml").incompatible)
    assert {"7.2", "6.1-arm64"} <= set(recorded)
    assert load_scenarios(tmp_path, recorded)[0].incompatible["7.2"].stage == "build"
    for unknown in ("7.2", "6.1-arm64"):
        with pytest.raises(ScenarioError,
                           match=rf"kprobe-link.toml: .*`{unknown}` is not a kernel line"):
            load_scenarios(tmp_path, [key for key in recorded if key != unknown])


def test_kprobe_link_on_72_is_expected_to_fail_to_build_for_want_of_filename_name() -> None:
    record = load_scenario(SCENARIOS_DIR / "kprobe-link.toml").incompatible["7.2"]
    assert record.stage == "build"
    clang = "kprobe-link.bpf.c:21:5: error: no member named 'name' in 'struct filename'"
    assert re.search(record.evidence, clang)
    assert not re.search(record.evidence, "error: use of undeclared identifier 'filename'")


def test_bashreadline_on_510_is_expected_to_print_nothing_at_all() -> None:
    """The evidence is the matcher's own words for a capture with no typed line."""
    scenario = load_scenario(SCENARIOS_DIR / "bashreadline.toml")
    record = scenario.incompatible["5.10"]
    assert record.stage == "expect"
    typed = [{"pid": "301", "line": "hi"}]
    (nothing,) = evaluate(scenario.expect[0], typed, ["bash-301 [000] 1.0: other: x"]).problems
    assert re.search(record.evidence, nothing)
    other_pid = ["bash-399 [000] 1.0: bpf_trace_printk: PID 399 (bash) read: hi"]
    (wrong,) = evaluate(scenario.expect[0], typed, other_pid).problems
    assert not re.search(record.evidence, wrong), "a wrong pid is not the expected failure"


# --- item 7: every value is type-checked; errors name file, key, expectation ---

def test_an_error_names_the_file_the_place_the_key_what_was_expected_and_the_value() -> None:
    data = scenario_dict()
    data["workload"][0]["timeout"] = "soon"
    assert refused(data) == (f"{WHERE} workload[0]: `timeout` must be a positive number of "
                             "seconds, at most 3600 (an hour), not a string 'soon'")


@pytest.mark.parametrize(("place", "key"), [
    ("build", "commands"), ("workload", "type"), ("expect", "lines"), ("", "kernel_config"),
    ("", "guest_packages"),
])
def test_a_string_where_a_list_belongs_is_refused_not_split_into_letters(
        place: str, key: str) -> None:
    data = scenario_dict()
    if place == "workload":
        data["workload"] = [{"interactive": "bash -i", "prompt": "# ", "record": "unlinks"}]
    table = data if not place else data[place] if place == "build" else data[place][0]
    table[key] = "make all"
    message = refused(data)
    assert f"`{key}` must be a list of strings, not a string 'make all'" in message


@pytest.mark.parametrize("item", ["", "   ", 3, ["make"], True])
def test_every_item_of_a_list_of_strings_is_a_non_empty_string(item: object) -> None:
    data = scenario_dict()
    data["build"]["commands"] = ["make", item]
    assert "[build]: `commands[1]` must be a non-empty string, not " in refused(data)


@pytest.mark.parametrize("value", ["soon", 0, -1, True, math.inf, math.nan, [5], 10**400,
                                   1e300, 3600.5, 10**18])
@pytest.mark.parametrize(("table", "key"), [
    ("load", "ready_timeout"), ("load", "settle_timeout"), ("workload", "timeout"),
])
def test_timeouts_are_positive_numbers_of_seconds_up_to_an_hour(table: str, key: str,
                                                                value: object) -> None:
    data = scenario_dict()
    (data[table][0] if table == "workload" else data[table])[key] = value
    assert f"`{key}` must be a positive number of seconds, at most 3600 (an hour), not " \
        in refused(data)


def test_a_timeout_of_an_hour_is_accepted() -> None:
    data = scenario_dict()
    data["load"]["settle_timeout"] = 3600
    assert parse_scenario(data, WHERE).load.settle_timeout == 3600.0


def test_integer_and_fractional_timeouts_are_seconds() -> None:
    data = scenario_dict()
    data["load"]["ready_timeout"] = 30
    data["workload"][0]["timeout"] = 2.5
    scenario = parse_scenario(data, WHERE)
    assert (scenario.load.ready_timeout, scenario.workload[0].timeout) == (30.0, 2.5)


@pytest.mark.parametrize(("variables", "problem"), [
    ("x", "`vars` must be a table of strings or numbers, not a string 'x'"),
    ({"file": True}, "`vars.file` must be a string or a number, not a boolean True"),
    ({"file": ["f"]}, "`vars.file` must be a string or a number, not a list ['f']"),
    ({"file": math.nan}, "`vars.file` must be a string or a number, not nan"),
    ({"a-b": "x"}, "`vars` names must be letters, digits or '_' (what ${...} can name)"),
    ({"pid": "1"}, "`vars` must not set ['pid']: the lab records them"),
])
def test_vars_is_a_table_of_strings_or_numbers_that_leaves_pid_alone(
        variables: object, problem: str) -> None:
    data = scenario_dict()
    data["workload"][0]["vars"] = variables
    message = refused(data)
    assert f"{WHERE} workload[0]: " in message
    assert problem in message


def test_numeric_vars_are_kept_as_text() -> None:
    data = scenario_dict()
    data["workload"][0]["vars"] = {"file": "f", "size": 8, "ratio": 0.5}
    assert parse_scenario(data, WHERE).workload[0].variables == {
        "file": "f", "size": "8", "ratio": "0.5"}


def test_interactive_vars_must_not_set_the_typed_line() -> None:
    step = {"interactive": "bash -i", "prompt": "# ", "type": ["hi"], "record": "unlinks",
            "vars": {"line": "hi", "file": "f"}}
    assert "`vars` must not set ['line']" in refused(scenario_dict(workload=[step]))


@pytest.mark.parametrize("collect", [r"^pid=(?P<pid>\d+)$", r"^file=(?P<file>\w+)$"])
def test_collect_groups_must_not_replace_the_pid_or_a_var(collect: str) -> None:
    step = {"spawn": "./t", "until": "done", "collect": collect, "record": "unlinks",
            "vars": {"file": "f"}}
    assert "`collect` groups must not be named" in refused(scenario_dict(workload=[step]))


@pytest.mark.parametrize(("step", "key"), [
    ({"interactive": "bash -i", "prompt": "bash-[0-9.]+(# ", "type": ["hi"]}, "prompt"),
    ({"spawn": "./t", "until": "ret=4[\\s"}, "until"),
    ({"spawn": "./t", "until": "x", "collect": "(?P<1>x)"}, "collect"),
    ({"spawn": "./t", "until": "x{4294967296}"}, "until"),
])
def test_bad_regexes_in_steps_are_refused_naming_the_key(step: dict[str, Any], key: str) -> None:
    step["record"] = "unlinks"
    message = refused(scenario_dict(workload=[step]))
    assert f"workload[0]: `{key}` is not a valid regex: " in message


@pytest.mark.parametrize(("table", "key", "pattern"), [
    ("load", "ready", ".*"), ("load", "ready", "^"), ("workload", "prompt", "x*"),
    ("workload", "until", "(?:)"), ("expect", "lines", "${file}?"),
])
def test_a_regex_that_matches_an_empty_line_is_refused(table: str, key: str,
                                                       pattern: str) -> None:
    data = scenario_dict()
    if table == "workload":
        data["workload"] = [{"interactive": "bash -i", "prompt": "# ", "type": ["hi"],
                             "record": "unlinks", "vars": {"file": "f"}}
                            if key == "prompt" else {"spawn": "./t", "until": "x",
                                                     "record": "unlinks", "vars": {"file": "f"}}]
    target = data[table][0] if table in ("workload", "expect") else data[table]
    target[key] = [pattern] if key == "lines" else pattern
    message = refused(data)
    assert "must be a regex that needs some text" in message
    assert "matches an empty line and so any line" in message


@pytest.mark.parametrize("line", [r"(?P<${pid}>x)", r"ENTRY \${pid}"])
def test_an_expectation_line_must_compile_with_its_fields_filled_in(line: str) -> None:
    data = scenario_dict()
    data["expect"][0]["lines"] = [line]
    assert "expect[0]: `lines[0]` is a bad pattern" in refused(data)


def test_build_keys_are_checked() -> None:
    data = scenario_dict()
    data["build"] = {"command": ["make"]}
    message = refused(data)
    allowed = "['commands', 'vmlinux_h']"
    assert f"{WHERE} [build]: unknown field(s) ['command']; allowed: {allowed}" == message


@pytest.mark.parametrize(("key", "value", "problem"), [
    ("build", "make", "`build` must be a table ([build]), not a string 'make'"),
    ("load", ["x"], "`load` must be a table ([load]), not a list ['x']"),
    ("workload", {"run": "x"}, "[[workload]] must be an array of tables, not a table"),
    ("expect", ["x"], "[[expect]] must be an array of tables, not a list ['x']"),
    ("expected_incompatible", "5.10",
     "`expected_incompatible` must be a table of kernel lines, not a string '5.10'"),
    ("summary", 3, "`summary` must be a non-empty string, not 3"),
    ("source", "", "`source` must be a non-empty string, not a blank string ''"),
])
def test_each_top_level_key_has_its_type(key: str, value: object, problem: str) -> None:
    assert f"{WHERE}: {problem}" in refused(scenario_dict(**{key: value}))


@pytest.mark.parametrize("value", ["yes", 1, "false"])
def test_in_order_is_true_or_false(value: object) -> None:
    data = scenario_dict()
    data["expect"][0]["in_order"] = value
    assert "expect[0]: `in_order` must be true or false, not " in refused(data)


@pytest.mark.parametrize("option", ["KPROBES", "CONFIG_kprobes", "", 3])
def test_kernel_config_lists_config_option_names(option: object) -> None:
    message = refused(scenario_dict(kernel_config=["CONFIG_BPF_EVENTS", option]))
    assert "`kernel_config[1]` must be " in message


def test_guest_packages_are_kept_as_declared_and_default_to_none() -> None:
    data = scenario_dict(guest_packages=["iproute2", "libstdc++6", "python3.11", "g++-12"])
    assert parse_scenario(data, WHERE).guest_packages == (
        "iproute2", "libstdc++6", "python3.11", "g++-12")
    assert parse_scenario(scenario_dict(), WHERE).guest_packages == ()
    assert parse_scenario(scenario_dict(guest_packages=[]), WHERE).guest_packages == ()


@pytest.mark.parametrize("package", [
    "IProute2", "strace:amd64", "strace=6.1-0.1", "strace/bookworm", "s", "-strace", ".x",
    "ip route", "strace,make", "stráce", 3, True, ["strace"],
])
def test_guest_packages_are_debian_package_names(package: object) -> None:
    message = refused(scenario_dict(guest_packages=["make", package]))
    if isinstance(package, str) and package.strip():
        assert "`guest_packages[1]` must be a Debian package name (lowercase letters, " \
               "digits, '+', '-' or '.', at least two characters, starting with a letter " \
               "or digit; no ':arch', '=version' or '/suite')" in message
    else:
        assert "`guest_packages[1]` must be a non-empty string" in message


@pytest.mark.parametrize("name", ["../../../x", "a/b", "..", ".hidden", "-x", "", "a b", 3,
                                  "a" * 65, "a\nb", "/abs"])
def test_name_is_a_plain_directory_name(name: object) -> None:
    message = refused(scenario_dict(name=name))
    assert "`name` must be letters, digits, '.', '_' or '-', starting with a letter or digit" \
        in message


def test_a_name_taken_from_the_file_name_is_checked_too() -> None:
    with pytest.raises(ScenarioError, match=r"`name` \(from the file name\) must be"):
        parse_scenario(scenario_dict(), Path("/somewhere/-rf.toml"))


@pytest.mark.parametrize("program", ["/etc", "../x", "bpf/../../x", ".", "", "./", 3])
def test_program_is_a_relative_path_inside_the_project(program: object) -> None:
    message = refused(scenario_dict(program=program))
    assert "`program` must be a relative path inside the project (no leading '/', no '..')" \
        in message


def test_a_relative_program_path_is_kept() -> None:
    assert parse_scenario(scenario_dict(program="bpf/other"), WHERE).program == "bpf/other"


@pytest.mark.parametrize(("step", "key"), [
    ({"run": "rm f", "prompt": "# "}, "prompt"),
    ({"run": "rm f", "until": "x"}, "until"),
    ({"spawn": "./t", "until": "x", "status": 3}, "status"),
    ({"spawn": "./t", "until": "x", "type": ["hi"]}, "type"),
    ({"interactive": "bash -i", "prompt": "# ", "type": ["hi"], "until": "x"}, "until"),
])
def test_a_key_of_another_step_kind_is_refused(step: dict[str, Any], key: str) -> None:
    step["record"] = "unlinks"
    assert f"unknown field(s) ['{key}']" in refused(scenario_dict(workload=[step]))


def test_a_field_must_be_carried_by_every_step_recording_into_the_name() -> None:
    steps = [{"run": "rm f", "record": "unlinks", "vars": {"file": "f"}},
             {"run": "rm g", "record": "unlinks"}]
    message = refused(scenario_dict(workload=steps))
    assert "uses ['file'], not recorded by 'unlinks' (by every step recording it)" in message


def test_load_scenario_of_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'summary = "caf\xe9"\n')
    with pytest.raises(ScenarioError, match="latin1.toml"):
        load_scenario(path)


# --- the loader's errors reach the user before any guest boots ------------------

def broken_project(root: Path, scenario_text: str) -> Path:
    """A project with the real catalog and one scenario file, broken.toml."""
    (root / "vm").mkdir(parents=True)
    for name in ("kernels.toml", "kernels.lock"):  # the kernel line is checked against both
        shutil.copy(PROJECT / "vm" / name, root / "vm")
    (root / "scenarios").mkdir()
    shutil.copy(SCENARIOS_DIR / "minimal.toml", root / "scenarios")
    (root / "scenarios" / "broken.toml").write_text(scenario_text)
    return root


BAD_TIMEOUT = (SCENARIOS_DIR / "minimal.toml").read_text().replace(
    'record = "writers"', 'record = "writers"\ntimeout = "soon"', 1)
UNKNOWN_LINE = (SCENARIOS_DIR / "minimal.toml").read_text() + (
    '\n[expected_incompatible."4.19"]\nstage = "load"\nevidence = "x"\nreason = "r"\n')


@pytest.mark.parametrize(("text", "problem"), [
    (BAD_TIMEOUT, "broken.toml workload[0]: `timeout` must be a positive number of seconds, "
                  "at most 3600 (an hour), not a string 'soon'"),
    (UNKNOWN_LINE, "broken.toml: [expected_incompatible] `4.19` is not a kernel line of the "
                   f"catalog (known: {', '.join(sorted(CATALOG_LINES))})"),
], ids=["bad-timeout", "unknown-line"])
def test_a_broken_scenario_is_a_one_line_pytest_usage_error(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, text: str,
        problem: str) -> None:
    project = broken_project(pytester.path / "project", text)
    monkeypatch.setenv("LAB_PROJECT_DIR", str(project))
    monkeypatch.setenv("LAB_CACHE_DIR", str(pytester.path / "cache"))
    pytester.makepyfile(test_x="def test_x(lab_kernel, lab_scenario):\n    raise AssertionError\n")
    result = pytester.runpytest_subprocess("--rootdir", str(pytester.path), "-p",
                                           "no:cacheprovider", "--kernel", "6.1",
                                           "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert result.stderr.str().strip() == f"ERROR: {project / 'scenarios'}/{problem}"
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("command", [["run", "--kernel", "6.1"], ["matrix", "6.1"]])
def test_lab_run_and_matrix_refuse_a_broken_scenario_before_preparing_a_kernel(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        command: list[str]) -> None:
    import lab.cli

    def no_guest(*args: object, **kwargs: object) -> None:
        raise AssertionError("a guest would be prepared or booted")

    monkeypatch.setattr(lab.cli, "KernelLab", no_guest)
    monkeypatch.setattr(lab.cli, "run_matrix", no_guest)
    monkeypatch.setenv("LAB_PROJECT_DIR", str(broken_project(tmp_path, UNKNOWN_LINE)))
    assert lab.cli.main(command) == 1
    assert "broken.toml: [expected_incompatible] `4.19` is not a kernel line" in \
        capsys.readouterr().err


# --- issue 8: background jobs, collected values, references, rows, absent ------

def with_workload(*steps: dict[str, Any], expect: list[dict[str, Any]] | None = None
                  ) -> dict[str, Any]:
    """BASE with these steps; the expectation iterates over the last step's record."""
    recorded = [s["record"] for s in steps if "record" in s]
    default = [{"summary": "s", "for_each": recorded[-1], "lines": ["${pid}"]}]
    return scenario_dict(workload=list(steps), expect=expect or default)


@pytest.mark.parametrize(("name", "kinds", "records"), [
    ("exitsnoop", ["run", "run", "run"], {"shell", "exits"}),
    ("execsnoop", ["run", "run", "run"], {"shell", "execs"}),
    ("opensnoop", ["run", "run", "run"], {"shell", "others"}),
    ("sigsnoop", ["run", "run"], {"victim", "kills"}),
    ("bootstrap", ["run", "run"], {"shell", "exits"}),
])
def test_the_issue_8_tutorials_load(name: str, kinds: list[str], records: set[str]) -> None:
    scenario = load_scenario(SCENARIOS_DIR / f"{name}.toml")
    assert [s.kind for s in scenario.workload] == kinds
    assert {s.record for s in scenario.workload if s.record} == records


def test_sigsnoop_starts_its_victim_in_the_background_and_kills_it_by_its_recorded_pid() -> None:
    victim, kill = load_scenario(SCENARIOS_DIR / "sigsnoop.toml").workload
    assert (victim.background, kill.background) == (True, False)
    assert kill.command == "/bin/kill -TERM ${victim.pid}"
    assert kill.variables == {"victim": "${victim.pid}", "signal": "15"}


def test_exitsnoop_expects_rows_by_column_and_its_steps_their_exit_status() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "exitsnoop.toml")
    assert [s.status for s in scenario.workload] == [0, 3, 7]
    assert scenario.expect[0].rows == ((("PID", "${pid}"), ("PPID", "${parent}"),
                                        ("EXIT_CODE", "${code}"), ("COMM", "sh")),)
    assert scenario.expect[0].lines == ()


def test_opensnoop_filters_by_an_option_and_expects_the_other_pid_absent() -> None:
    scenario = load_scenario(SCENARIOS_DIR / "opensnoop.toml")
    assert scenario.load.command.endswith("--pid_target $$")
    assert [e.absent for e in scenario.expect] == [False, True]


@pytest.mark.parametrize(("command", "background"), [
    ("sleep 30 &", True), ("sleep 30&", True), ("sleep 30 &  ", True), ("a | b &", True),
    ("true && false", False), ("cmd >&2", False), ("echo '&'", False), ("sleep 30", False),
])
def test_a_run_command_ending_in_a_lone_ampersand_is_a_background_job(
        command: str, background: bool) -> None:
    (step,) = parse_scenario(with_workload({"run": command, "record": "r"}), WHERE).workload
    assert step.background is background


@pytest.mark.parametrize("key", [{"status": 0}, {"collect": "(?P<x>y)"}])
def test_a_background_job_has_no_status_or_output_to_collect(key: dict[str, Any]) -> None:
    message = refused(with_workload({"run": "sleep 30 &", "record": "r", **key}))
    assert f"{sorted(key)} cannot apply to a background job (`sleep 30 &` ends in `&`)" \
        in message


@pytest.mark.parametrize("status", [-1, 256, "3", True, 1.0])
def test_status_is_an_exit_status(status: object) -> None:
    message = refused(with_workload({"run": "x", "record": "r", "status": status}))
    assert "workload[0]: `status` must be the exit status the command ends with, an integer " \
           "0..255, not " in message


def test_status_is_kept() -> None:
    data = with_workload({"run": "sh -c 'exit 3'", "record": "r", "status": 3})
    assert parse_scenario(data, WHERE).workload[0].status == 3


def test_a_run_step_collecting_values_must_record_them() -> None:
    data = with_workload({"run": "echo x=1", "collect": "x=(?P<x>1)"},
                         {"run": "true", "record": "r"})
    assert "workload[0]: `collect` needs `record`" in refused(data)


def test_collected_groups_are_fields_of_the_record() -> None:
    data = with_workload({"run": "echo shell=$$", "collect": r"shell=(?P<shell>\d+)",
                          "record": "r"},
                         expect=[{"summary": "s", "for_each": "r", "lines": ["${shell}"]}])
    assert parse_scenario(data, WHERE).workload[0].collect == r"shell=(?P<shell>\d+)"


def test_a_step_may_use_an_earlier_records_fields_in_its_command_and_vars() -> None:
    data = with_workload({"run": "sleep 30 &", "record": "victim"},
                         {"run": "kill ${victim.pid}", "record": "kills",
                          "vars": {"victim": "${victim.pid}"}})
    assert parse_scenario(data, WHERE).workload[1].variables == {"victim": "${victim.pid}"}


@pytest.mark.parametrize(("steps", "problem"), [
    ([{"run": "kill ${victim.pid}", "record": "kills"}, {"run": "sleep 9 &", "record": "victim"}],
     "workload[0]: `${victim.pid}` in 'kill ${victim.pid}' cannot be filled in: no earlier step "
     "records 'victim'"),
    ([{"run": "sleep 9 &", "record": "victim"}, {"run": "kill ${victim.uid}", "record": "kills"}],
     "workload[1]: `${victim.uid}` in 'kill ${victim.uid}' cannot be filled in: 'victim' records "
     "['pid']"),
    ([{"run": "sleep 9 &", "record": "victim"},
      {"run": "true", "record": "kills", "vars": {"v": "${victims.pid}"}}],
     "workload[1]: `${victims.pid}` in '${victims.pid}' cannot be filled in: no earlier step "
     "records 'victims'"),
    ([{"run": "echo ${self.pid}", "record": "self"}],
     "workload[0]: `${self.pid}` in 'echo ${self.pid}' cannot be filled in: no earlier step "
     "records 'self'"),
])
def test_a_reference_must_name_an_earlier_record_and_a_field_it_carries(
        steps: list[dict[str, Any]], problem: str) -> None:
    assert problem in refused(with_workload(*steps))


def test_an_expectation_sees_its_own_records_fields_not_another_records() -> None:
    data = with_workload({"run": "sleep 9 &", "record": "victim"},
                         {"run": "kill ${victim.pid}", "record": "kills"},
                         expect=[{"summary": "s", "for_each": "kills",
                                  "lines": ["to PID ${victim.pid}"]}])
    message = refused(data)
    assert "'to PID ${victim.pid}' names another record's field" in message
    assert "carry the value in `vars` of the step recording 'kills'" in message


def rows_expect(rows: object, **more: Any) -> dict[str, Any]:
    return with_workload({"run": "rm f", "record": "unlinks", "vars": {"file": "f"}},
                         expect=[{"summary": "s", "for_each": "unlinks", "rows": rows, **more}])


def test_rows_are_column_value_pairs_in_order_with_integers_as_text() -> None:
    data = rows_expect([{"PID": "${pid}", "EXIT_CODE": 3, "FILENAME/EXIT": "[3]"}])
    (row,) = parse_scenario(data, WHERE).expect[0].rows
    assert row == (("PID", "${pid}"), ("EXIT_CODE", "3"), ("FILENAME/EXIT", "[3]"))


@pytest.mark.parametrize(("rows", "problem"), [
    ("PID", "`rows` must be a list of tables (column = value), not a string 'PID'"),
    (["PID"], "`rows[0]` must be a non-empty table of column = value, not a string 'PID'"),
    ([{}], "`rows[0]` must be a non-empty table of column = value, not a table {}"),
    ([{"EXIT CODE": "0"}], "`rows[0]` column names are header words, without spaces, "
                           "not a string 'EXIT CODE'"),
    ([{"PID": 1.5}], "`rows[0].PID` must be the cell's text, a non-empty string or an integer"),
    ([{"PID": ""}], "`rows[0].PID` must be the cell's text"),
    ([{"PID": True}], "`rows[0].PID` must be the cell's text"),
    ([{"PID": ["1"]}], "`rows[0].PID` must be the cell's text"),
    ([{"PID": "${inode}"}], "uses ['inode'], not recorded by 'unlinks'"),
])
def test_bad_rows_are_refused(rows: object, problem: str) -> None:
    assert problem in refused(rows_expect(rows))


def test_an_expectation_has_lines_or_rows_not_both_nor_neither() -> None:
    both = rows_expect([{"PID": "${pid}"}], lines=["${pid}"])
    assert "needs either `lines` (regexes over the capture's lines) or `rows`" in refused(both)
    neither = rows_expect([])
    assert "needs either `lines`" in refused(neither)


@pytest.mark.parametrize("value", ["yes", 1])
def test_absent_is_true_or_false(value: object) -> None:
    assert "`absent` must be true or false" in refused(rows_expect([{"PID": "1"}], absent=value))


def test_chosen_scenarios_keep_the_directory_order_and_refuse_unknown_names() -> None:
    from lab.scenario import chosen_scenarios, load_scenarios
    shipped = load_scenarios(PROJECT / "scenarios")
    first, middle, last = shipped[0].name, shipped[len(shipped) // 2].name, shipped[-1].name
    chosen = chosen_scenarios(shipped, [f"{last},{first}", middle])
    assert [s.name for s in chosen] == [first, middle, last]
    assert chosen_scenarios(shipped, []) == shipped
    with pytest.raises(ScenarioError, match="no scenario named nope"):
        chosen_scenarios(shipped, [f"{first},nope"])

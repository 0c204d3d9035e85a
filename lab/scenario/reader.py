"""Scenarios: one declarative TOML file per tutorial, loaded and validated here.

A scenario says how to build the tutorial in the guest, how to load it and how
to know the probes are attached, which workload to drive, what to capture and
what the capture must show. Adding a tutorial is adding bpf/<name>/ and
scenarios/<name>.toml; nothing here knows any tutorial by name.

Every value is checked here, before any guest boots: a typo must not fake a
result (a string where a list belongs would be iterated character by character)
nor reach the host (a name or program path that climbs out of its directory).
Every error is a ScenarioError naming the file, the key and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from lab.errors import LabError
from lab.scenario.checks import (
    check_own_fields,
    check_references,
    check_run_step,
    check_template,
    check_unique_names,
)
from lab.scenario.model import (
    CAPTURES,
    NAME,
    STEP_KINDS,
    STOPS,
    Expectation,
    Incompatibility,
    Load,
    Row,
    Scenario,
    ScenarioError,
    Step,
)
from lab.scenario.values import (
    flag_of,
    is_text_or_number,
    only_keys,
    optional_regex,
    optional_text,
    regex_of,
    seconds_of,
    shown,
    strings_of,
    table_of,
    tables_of,
    text_of,
)
from lab.verdicts.expectation import KnownDrift
from lab.verdicts.findings import ERROR, KINDS
from lab.verdicts.kernel_health import Accepted
from lab.verdicts.stage import STAGES

COLUMN = re.compile(r"\S+")  # a header's column name: what splitting the line on spaces gives
CONFIG_OPTION = re.compile(r"CONFIG_[A-Z0-9_]+")
# Debian Policy 5.6.1: lowercase letters, digits, '+', '-', '.'; at least two
# characters, the first alphanumeric. No ':arch', '=version' or '/suite': the
# lab installs the recipe suite's own package of that name.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
VARIABLE = re.compile(r"\w+")  # what ${...} can name

TOP_KEYS = {"name", "summary", "source", "program", "build", "load", "workload", "expect",
            "expected_incompatible", "kernel_config", "accepted_kernel_messages", "document",
            "guest_packages", "setup", "teardown", "series", "userland", "kernel_cmdline",
            "not_runnable", "known_drift"}
BUILD_KEYS = {"commands", "vmlinux_h"}
LOAD_KEYS = {"command", "ready", "capture", "ready_timeout", "settle_timeout", "stop", "once",
             "status"}
# A Debian suite's name (bookworm, trixie): the guest root the scenario needs.
USERLAND = re.compile(r"[a-z][a-z0-9-]{1,31}")
# One kernel argument, key or key=value: no spaces or quotes (QEMU's -append is one
# string the kernel splits on spaces), no shell characters.
KERNEL_ARGUMENT = re.compile(r"[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:/+=-]+)?")
# Arguments the lab sets itself (its shares, the root, panic handling, the console):
# a scenario replacing one would boot a guest the lab cannot drive or trust.
LAB_KERNEL_ARGUMENTS = re.compile(r"(virtme|init=|rdinit=|root=|rootfstype=|rootflags=|panic=|"
                                  r"console=|ro$|rw$|oops=)")
EXPECT_KEYS = {"summary", "for_each", "lines", "rows", "in_order", "absent"}
INCOMPATIBLE_KEYS = {"stage", "evidence", "reason"}
# A key the runner ignores for a kind would be a silent no-op, so each kind has its own.
STEP_KEYS = {
    "run": {"run", "record", "vars", "collect", "status", "timeout"},
    "interactive": {"interactive", "record", "vars", "type", "prompt", "timeout"},
    "spawn": {"spawn", "record", "vars", "until", "collect", "timeout"},
}
# A name is one directory on the host and in the guest, well under NAME_MAX.
NAME_CHARS = 64


def load_scenarios(directory: Path, known_lines: Collection[str] | None = None) -> list[Scenario]:
    """Every scenario of the directory, sorted by file name. known_lines, the
    catalog's kernel lines, lets [expected_incompatible] keys be checked."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise LabError(f"no scenarios in {directory}")
    scenarios = [load_scenario(path, known_lines) for path in files]
    check_unique_names(scenarios)
    return scenarios


def chosen_scenarios(scenarios: list[Scenario], requested: Sequence[str]) -> list[Scenario]:
    """--scenario a,b: those, in the directory's order; an unknown name is an error."""
    names = [name.strip() for value in requested for name in value.split(",") if name.strip()]
    if not names:
        return scenarios
    unknown = sorted(set(names) - {s.name for s in scenarios})
    if unknown:
        raise ScenarioError(f"--scenario: no scenario named {', '.join(unknown)} "
                       f"(known: {', '.join(s.name for s in scenarios)})")
    return [s for s in scenarios if s.name in names]


def load_scenario(path: Path, known_lines: Collection[str] | None = None) -> Scenario:
    """One scenario file; an unreadable or malformed one is a ScenarioError naming it."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: {error}") from error
    return parse_scenario(data, path, known_lines)


def parse_scenario(data: dict[str, Any], path: Path,
                   known_lines: Collection[str] | None = None) -> Scenario:
    """The Scenario a TOML document describes, or a ScenarioError: never another
    exception, whatever the document holds (the property tests hold it to that)."""
    where = str(path)
    only_keys(data, TOP_KEYS, where)
    name = _name(data, path, where)
    steps = enumerate(tables_of(data, "workload", where))
    workload = tuple(_step(s, f"{where} workload[{i}]") for i, s in steps)
    setup = tuple(_step(s, f"{where} setup[{i}]")
                  for i, s in enumerate(tables_of(data, "setup", where)))
    teardown = tuple(_teardown_step(s, f"{where} teardown[{i}]")
                     for i, s in enumerate(tables_of(data, "teardown", where)))
    expectations = enumerate(tables_of(data, "expect", where))
    expect = tuple(_expectation(e, f"{where} expect[{i}]") for i, e in expectations)
    userland, userland_by_line = _userland(data, where, known_lines)
    scenario = Scenario(
        name=name,
        path=path,
        summary=text_of(data, "summary", where),
        program=_program(data, name, where),
        build=_build(table_of(data, "build", where), f"{where} [build]"),
        vmlinux_h=_vmlinux_h(table_of(data, "build", where), f"{where} [build]"),
        load=_load(table_of(data, "load", where), f"{where} [load]"),
        workload=workload,
        expect=expect,
        incompatible=_incompatibilities(data, where, known_lines),
        kernel_config=_kernel_config(data, where),
        accepted_kernel_messages=_accepted(data, where),
        document=_inside_project(data, "document", where) if "document" in data else None,
        guest_packages=_guest_packages(data, where),
        setup=setup,
        teardown=teardown,
        series=_series(data, where),
        userland=userland,
        userland_by_line=userland_by_line,
        kernel_cmdline=_kernel_cmdline(data, where),
        not_runnable=_not_runnable(data, where),
        known_drift=_known_drift(data, where),
        source=optional_text(data, "source", where),
    )
    check_references(scenario, where)
    return scenario


def _name(data: dict[str, Any], path: Path, where: str) -> str:
    """The name is a directory on the host and in the guest: it must stay one."""
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > NAME_CHARS:
        source = "" if "name" in data else " (from the file name)"
        raise ScenarioError(f"{where}: `name`{source} must be letters, digits, '.', '_' or '-', "
                            f"starting with a letter or digit, at most {NAME_CHARS} characters, "
                            f"not {shown(name)}")
    return name


def _program(data: dict[str, Any], name: str, where: str) -> str:
    """The program directory is copied from the project: it must lie inside it."""
    return _inside_project({"program": f"bpf/{name}", **data}, "program", where)


def _inside_project(data: dict[str, Any], key: str, where: str) -> str:
    """A path the lab reads or copies from the project: it must lie inside it."""
    value = data.get(key)
    parts = PurePosixPath(value).parts if isinstance(value, str) else ()
    if not parts or PurePosixPath(str(value)).is_absolute() or ".." in parts:
        raise ScenarioError(f"{where}: `{key}` must be a relative path inside the project "
                            f"(no leading '/', no '..'), not {shown(value)}")
    return str(value)


def _build(table: dict[str, Any], where: str) -> tuple[str, ...]:
    only_keys(table, BUILD_KEYS, where)
    return strings_of(table, "commands", where)


def _vmlinux_h(table: dict[str, Any], where: str) -> str | None:
    """`vmlinux_h = "vmlinux.h"`: the path, in the build directory, where the lab
    puts the running kernel's vmlinux.h before the build commands run."""
    if "vmlinux_h" not in table:
        return None
    return _inside_project(table, "vmlinux_h", where)


def _load(table: dict[str, Any], where: str) -> Load:
    only_keys(table, LOAD_KEYS, where)
    capture = table.get("capture", "trace_pipe")
    if capture not in CAPTURES:
        raise ScenarioError(f"{where}: capture must be one of {CAPTURES}, not {shown(capture)}")
    stop = table.get("stop", "terminate")
    if stop not in STOPS:
        raise ScenarioError(f"{where}: `stop` must be one of {STOPS}, not {shown(stop)}")
    once = flag_of(table, "once", where, False)
    if once and "stop" in table:
        raise ScenarioError(f"{where}: a one-shot loader (`once`) is not stopped: it runs to "
                            "completion, so `stop` cannot apply")
    if "status" in table and not (once or stop == "interrupt"):
        raise ScenarioError(f"{where}: `status` is the loader's exit status, which the lab "
                            "waits for only with `once = true` or `stop = \"interrupt\"`")
    if once and "ready" in table:
        raise ScenarioError(f"{where}: a one-shot loader (`once`) is waited for until it "
                            "exits, so `ready` cannot apply")
    ready = None if once else regex_of(table, "ready", where)
    return Load(text_of(table, "command", where), ready, capture,
                seconds_of(table, "ready_timeout", where, 180.0),
                seconds_of(table, "settle_timeout", where, 60.0), stop, once,
                _status(table, where))


def _teardown_step(table: dict[str, Any], where: str) -> Step:
    """A tear-down step undoes the set-up: a command, waited for, recording nothing."""
    only_keys(table, {"run", "status", "timeout"}, where)
    step = _step(table, where)
    if step.background:
        raise ScenarioError(f"{where}: a tear-down step is waited for; `{step.command}` ends "
                            "in `&`")
    return step


def _series(data: dict[str, Any], where: str) -> str | None:
    """The series is a selection (`--series`) and a report's heading: a plain name."""
    return _optional_name(data, "series", NAME, "letters, digits, '.', '_' or '-'", where)


USERLAND_WHAT = "a Debian suite's name (bookworm, trixie, forky)"


def _userland(data: dict[str, Any], where: str, known_lines: Collection[str] | None
              ) -> tuple[str | None, tuple[tuple[str, str], ...]]:
    """`userland = "trixie"` on every line, or a table: `default` for the lines it
    does not name and a userland per kernel line (`"7.2"`, every architecture of the
    line; `"7.2-arm64"`, one), e.g. a kernel's own suite for building its modules."""
    value = data.get("userland")
    if not isinstance(value, dict):
        return _optional_name(data, "userland", USERLAND, USERLAND_WHAT, where), ()
    if not value:
        raise ScenarioError(f"{where}: [userland] names no line; leave it out for the "
                            "default userland")
    for key, name in value.items():
        if not isinstance(name, str) or not USERLAND.fullmatch(name):
            raise ScenarioError(f"{where}: [userland] `{key}` must be {USERLAND_WHAT}, "
                                f"not {shown(name)}")
        if key != "default" and known_lines is not None and key not in known_lines:
            raise ScenarioError(f"{where}: [userland] `{key}` is neither `default` nor a "
                                f"kernel line of the catalog (known: "
                                f"{', '.join(sorted(known_lines))})")
    return value.get("default"), tuple((key, name) for key, name in value.items()
                                       if key != "default")


def _optional_name(data: dict[str, Any], key: str, pattern: re.Pattern[str], what: str,
                   where: str) -> str | None:
    value = optional_text(data, key, where)
    if value is not None and not pattern.fullmatch(value):
        raise ScenarioError(f"{where}: `{key}` must be {what}, not {shown(value)}")
    return value


def _known_drift(data: dict[str, Any], where: str) -> tuple[KnownDrift, ...]:
    """`[[known_drift]]`: a drift of the published document, measured: the kind and
    document line of the finding `lab docs verify` reports, and why."""
    kinds = sorted(kind for kind, severity in KINDS.items() if severity == ERROR)
    records = []
    for index, table in enumerate(tables_of(data, "known_drift", where)):
        inner = f"{where} known_drift[{index}]"
        only_keys(table, {"kind", "line", "reason", "varies"}, inner)
        kind, line = table.get("kind"), table.get("line")
        if kind not in kinds:
            raise ScenarioError(f"{inner}: `kind` must be a drift's kind, one of "
                                f"{', '.join(kinds)}, not {shown(kind)}")
        if isinstance(line, bool) or not isinstance(line, int) or line < 1:
            raise ScenarioError(f"{inner}: `line` must be the finding's line in the document, "
                                f"a positive integer, not {shown(line)}")
        varies = table.get("varies", False)
        if not isinstance(varies, bool):
            raise ScenarioError(f"{inner}: `varies` must be true or false, not {shown(varies)}")
        if varies and kind != "output-drift":
            raise ScenarioError(f"{inner}: only an output-drift can vary from run to run (what "
                                f"the run printed); a {kind} is the document's own")
        records.append(KnownDrift(str(kind), line, text_of(table, "reason", inner), varies))
    return tuple(records)


def _not_runnable(data: dict[str, Any], where: str) -> str | None:
    """`not_runnable = "reason"`: the cell's verdict on every line, so the reason is
    what a reader of the report sees: it must say something."""
    reason = data.get("not_runnable")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise ScenarioError(f"{where}: `not_runnable` must be the measured reason it cannot "
                            f"run in a VM or be built offline, a non-empty string, "
                            f"not {shown(reason)}")
    return reason




def _kernel_cmdline(data: dict[str, Any], where: str) -> tuple[str, ...]:
    arguments = strings_of(data, "kernel_cmdline", where)
    for index, argument in enumerate(arguments):
        if not KERNEL_ARGUMENT.fullmatch(argument):
            raise ScenarioError(f"{where}: `kernel_cmdline[{index}]` must be one kernel "
                                "argument, key or key=value without spaces, quotes or shell "
                                f"characters, not {shown(argument)}")
        if LAB_KERNEL_ARGUMENTS.match(argument):
            raise ScenarioError(f"{where}: `kernel_cmdline[{index}]` {shown(argument)} sets "
                                "what the lab sets itself to boot and drive the guest")
    return arguments


def _step(table: dict[str, Any], where: str) -> Step:
    kinds = [k for k in STEP_KINDS if k in table]
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: needs exactly one of {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    only_keys(table, STEP_KEYS[kind], where)
    step = Step(
        kind=kind,
        command=text_of(table, kind, where),
        record=optional_text(table, "record", where),
        variables=_variables(table, where),
        lines=strings_of(table, "type", where),
        prompt=optional_regex(table, "prompt", where),
        until=optional_regex(table, "until", where),
        collect=optional_regex(table, "collect", where),
        timeout=seconds_of(table, "timeout", where, 120.0),
        status=_status(table, where),
    )
    if kind == "interactive" and not (step.lines and step.prompt):
        raise ScenarioError(f"{where}: an interactive step needs `type` lines and its `prompt`")
    if kind == "spawn" and not step.until:
        raise ScenarioError(f"{where}: a spawn step needs `until`, the output that ends it")
    if kind == "run":
        check_run_step(step, table, where)
    check_own_fields(step, where)
    return step


def _status(table: dict[str, Any], where: str) -> int:
    value = table.get("status", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise ScenarioError(f"{where}: `status` must be the exit status the command ends "
                            f"with, an integer 0..255, not {shown(value)}")
    return value


def _variables(table: dict[str, Any], where: str) -> dict[str, str]:
    """`vars`: names ${...} can use, each a string or a number (kept as text)."""
    variables = table.get("vars", {})
    if not isinstance(variables, dict):
        raise ScenarioError(f"{where}: `vars` must be a table of strings or numbers, "
                            f"not {shown(variables)}")
    for key, value in variables.items():
        if not VARIABLE.fullmatch(key):
            raise ScenarioError(f"{where}: `vars` names must be letters, digits or '_' "
                                f"(what ${{...}} can name), not {shown(key)}")
        if not is_text_or_number(value):
            raise ScenarioError(f"{where}: `vars.{key}` must be a string or a number, "
                                f"not {shown(value)}")
    return {key: str(value) for key, value in variables.items()}


def _expectation(table: dict[str, Any], where: str) -> Expectation:
    only_keys(table, EXPECT_KEYS, where)
    lines = strings_of(table, "lines", where)
    rows = _rows(table, where)
    if bool(lines) == bool(rows):
        raise ScenarioError(f"{where}: needs either `lines` (regexes over the capture's lines) "
                            "or `rows` (columns of a table, by header name), not both")
    for index, line in enumerate(lines):
        check_template(line, f"lines[{index}]", where)
    return Expectation(text_of(table, "summary", where), text_of(table, "for_each", where), lines,
                       flag_of(table, "in_order", where, True), rows,
                       flag_of(table, "absent", where, False))


def _rows(table: dict[str, Any], where: str) -> tuple[Row, ...]:
    """`rows`: each a table of column name -> the exact text of that cell."""
    rows = table.get("rows", [])
    if not isinstance(rows, list):
        raise ScenarioError(f"{where}: `rows` must be a list of tables (column = value), "
                            f"not {shown(rows)}")
    return tuple(_row(row, f"rows[{index}]", where) for index, row in enumerate(rows))


def _row(row: object, key: str, where: str) -> Row:
    if not isinstance(row, dict) or not row:
        raise ScenarioError(f"{where}: `{key}` must be a non-empty table of column = value, "
                            f"not {shown(row)}")
    for column, value in row.items():
        if not COLUMN.fullmatch(column):
            raise ScenarioError(f"{where}: `{key}` column names are header words, without "
                                f"spaces, not {shown(column)}")
        if not is_text_or_number(value) or isinstance(value, float) or not str(value).strip():
            raise ScenarioError(f"{where}: `{key}.{column}` must be the cell's text, a "
                                f"non-empty string or an integer, not {shown(value)}")
    return tuple((column, str(value)) for column, value in row.items())


def _incompatibilities(data: dict[str, Any], where: str,
                       known_lines: Collection[str] | None) -> dict[str, Incompatibility]:
    records = data.get("expected_incompatible", {})
    if not isinstance(records, dict):
        raise ScenarioError(f"{where}: `expected_incompatible` must be a table of kernel lines, "
                            f"not {shown(records)}")
    for line in records:
        if known_lines is not None and line not in known_lines:
            raise ScenarioError(f"{where}: [expected_incompatible] `{line}` is not a kernel line "
                                f"of the catalog (known: {', '.join(sorted(known_lines))})")
    return {line: _incompatibility(value, f'{where} [expected_incompatible."{line}"]')
            for line, value in records.items()}


def _incompatibility(value: object, where: str) -> Incompatibility:
    """A record says which failure is expected, so that no other one passes for it."""
    if not isinstance(value, dict):
        raise ScenarioError(
            f"{where}: must be a table with `stage` (one of {', '.join(_stages())}), "
            "`evidence` (a regex the observed failure must match) and `reason` (what was "
            f"measured), not {shown(value)}; a bare reason no longer says which failure "
            "is expected")
    only_keys(value, INCOMPATIBLE_KEYS, where)
    stage = value.get("stage")
    if stage not in _stages():
        raise ScenarioError(f"{where}: `stage` must be one of {', '.join(_stages())}, "
                            f"not {shown(stage)}")
    return Incompatibility(str(stage), regex_of(value, "evidence", where),
                           text_of(value, "reason", where))


def _stages() -> tuple[str, ...]:
    """The stages a recorded failure can name: the outcome's."""
    return STAGES


def _accepted(data: dict[str, Any], where: str) -> tuple[Accepted, ...]:
    """Kernel messages the tutorial is known to cause, each with its explanation:
    only these splats do not fail the cell at 'kernel'."""
    accepted = []
    for index, table in enumerate(tables_of(data, "accepted_kernel_messages", where)):
        inner = f"{where} accepted_kernel_messages[{index}]"
        only_keys(table, {"pattern", "why"}, inner)
        accepted.append(Accepted(regex_of(table, "pattern", inner), text_of(table, "why", inner)))
    return tuple(accepted)


def _kernel_config(data: dict[str, Any], where: str) -> tuple[str, ...]:
    options = strings_of(data, "kernel_config", where)
    for index, option in enumerate(options):
        if not CONFIG_OPTION.fullmatch(option):
            raise ScenarioError(f"{where}: `kernel_config[{index}]` must be a CONFIG_ option "
                                f"name, not {shown(option)}")
    return options


def _guest_packages(data: dict[str, Any], where: str) -> tuple[str, ...]:
    """Debian packages the tutorial needs in the guest root, on top of the recipe's
    (whether each exists in the recipe's suite is checked before the root is built)."""
    packages = strings_of(data, "guest_packages", where)
    for index, package in enumerate(packages):
        if not DEBIAN_PACKAGE.fullmatch(package):
            raise ScenarioError(
                f"{where}: `guest_packages[{index}]` must be a Debian package name (lowercase "
                "letters, digits, '+', '-' or '.', at least two characters, starting with a "
                f"letter or digit; no ':arch', '=version' or '/suite'), not {shown(package)}")
    return packages

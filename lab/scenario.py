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

import math
import re
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lab.errors import LabError
from lab.verdicts.kernel_health import Accepted

CAPTURES = ("trace_pipe", "output")
STEP_KINDS = ("run", "interactive", "spawn")
TEMPLATE_FIELD = re.compile(r"\$\{(\w+)\}")
# ${record.field}: a value an earlier workload step recorded (its last record of that name)
REFERENCE = re.compile(r"\$\{(\w+)\.(\w+)\}")
# A run step whose command ends in a lone `&` starts a background job and records its pid.
BACKGROUND = re.compile(r"(?<![&|>])&\s*$")
COLUMN = re.compile(r"\S+")  # a header's column name: what splitting the line on spaces gives

# The name becomes a directory on the host and in the guest: no separators, no "..".
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
CONFIG_OPTION = re.compile(r"CONFIG_[A-Z0-9_]+")
# Debian Policy 5.6.1: lowercase letters, digits, '+', '-', '.'; at least two
# characters, the first alphanumeric. No ':arch', '=version' or '/suite': the
# lab installs the recipe suite's own package of that name.
DEBIAN_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
VARIABLE = re.compile(r"\w+")  # what ${...} can name

TOP_KEYS = {"name", "summary", "source", "program", "build", "load", "workload", "expect",
            "expected_incompatible", "kernel_config", "accepted_kernel_messages", "document",
            "guest_packages"}
BUILD_KEYS = {"commands", "vmlinux_h"}
LOAD_KEYS = {"command", "ready", "capture", "ready_timeout", "settle_timeout"}
EXPECT_KEYS = {"summary", "for_each", "lines", "rows", "in_order", "absent"}
INCOMPATIBLE_KEYS = {"stage", "evidence", "reason"}
# A key the runner ignores for a kind would be a silent no-op, so each kind has its own.
STEP_KEYS = {
    "run": {"run", "record", "vars", "collect", "status", "timeout"},
    "interactive": {"interactive", "record", "vars", "type", "prompt", "timeout"},
    "spawn": {"spawn", "record", "vars", "until", "collect", "timeout"},
}
# ${field} stand-ins when checking a line: a recorded value (the matcher escapes
# it) and the wildcard the matcher puts there to find near misses.
FIELD_STAND_INS = ("0", "(?:.*?)")
SHOWN_CHARS = 80
TOML_INTEGER = 2**63
# Every wait is a deadline the guest's console and the host's clock must hold: a
# huge finite one (1e300) overflows select() in a running guest, and no step of a
# tutorial waits an hour.
MAX_SECONDS = 3600
# A name is one directory on the host and in the guest, well under NAME_MAX.
NAME_CHARS = 64


class ScenarioError(LabError):
    """A scenario file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Load:
    command: str
    ready: str
    capture: str
    ready_timeout: float = 180.0
    settle_timeout: float = 60.0


@dataclass(frozen=True)
class Step:
    """One workload step. kind: run (a command), interactive (type lines into a
    program with a prompt), spawn (start a program, read it until a pattern)."""

    kind: str
    command: str
    record: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    lines: tuple[str, ...] = ()
    prompt: str | None = None
    until: str | None = None
    collect: str | None = None
    timeout: float = 120.0
    status: int = 0  # the exit status a run step must end with

    @property
    def background(self) -> bool:
        """A run step ending in `&`: it starts a job, records the job's pid, goes on."""
        return self.kind == "run" and bool(BACKGROUND.search(self.command))


Row = tuple[tuple[str, str], ...]  # (column, value template) pairs, in the file's order


@dataclass(frozen=True)
class Expectation:
    """For each record of a workload step, these lines (regexes) or rows (columns of
    a table, by header name) must be in the capture; with `absent`, none of them."""

    summary: str
    for_each: str
    lines: tuple[str, ...]
    in_order: bool = True
    rows: tuple[Row, ...] = ()
    absent: bool = False


@dataclass(frozen=True)
class Incompatibility:
    """A measured failure on one kernel line: the stage it happens at and a regex
    the observed failure must match, so that any other failure still fails."""

    stage: str
    evidence: str
    reason: str


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    summary: str
    program: str
    build: tuple[str, ...]
    load: Load
    workload: tuple[Step, ...]
    expect: tuple[Expectation, ...]
    incompatible: dict[str, Incompatibility] = field(default_factory=dict)
    kernel_config: tuple[str, ...] = ()
    accepted_kernel_messages: tuple[Accepted, ...] = ()
    document: str | None = None  # the published tutorial; default bpf/<name>/README.md
    guest_packages: tuple[str, ...] = ()
    # where the build wants the running kernel's vmlinux.h (bpftool btf dump),
    # which the lab makes once per boot instead of once per tutorial
    vmlinux_h: str | None = None


def load_scenarios(directory: Path, known_lines: Collection[str] | None = None) -> list[Scenario]:
    """Every scenario of the directory, sorted by file name. known_lines, the
    catalog's kernel lines, lets [expected_incompatible] keys be checked."""
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise LabError(f"no scenarios in {directory}")
    scenarios = [load_scenario(path, known_lines) for path in files]
    _check_unique_names(scenarios)
    return scenarios


def _check_unique_names(scenarios: Sequence[Scenario]) -> None:
    """A name is a cell of the report and a directory of evidence: two files of one
    name would overwrite each other's, so both are named and neither is run."""
    first: dict[str, Path] = {}
    for scenario in scenarios:
        earlier = first.setdefault(scenario.name, scenario.path)
        if earlier != scenario.path:
            raise ScenarioError(f"{scenario.path}: `name` {scenario.name!r} is also the name "
                                f"of {earlier}; each scenario needs its own name")


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
    _only(data, TOP_KEYS, where)
    name = _name(data, path, where)
    _optional_text(data, "source", where)
    steps = enumerate(_tables(data, "workload", where))
    workload = tuple(_step(s, f"{where} workload[{i}]") for i, s in steps)
    expectations = enumerate(_tables(data, "expect", where))
    expect = tuple(_expectation(e, f"{where} expect[{i}]") for i, e in expectations)
    scenario = Scenario(
        name=name,
        path=path,
        summary=_text(data, "summary", where),
        program=_program(data, name, where),
        build=_build(_table(data, "build", where), f"{where} [build]"),
        vmlinux_h=_vmlinux_h(_table(data, "build", where), f"{where} [build]"),
        load=_load(_table(data, "load", where), f"{where} [load]"),
        workload=workload,
        expect=expect,
        incompatible=_incompatibilities(data, where, known_lines),
        kernel_config=_kernel_config(data, where),
        accepted_kernel_messages=_accepted(data, where),
        document=_inside_project(data, "document", where) if "document" in data else None,
        guest_packages=_guest_packages(data, where),
    )
    _check_references(scenario, where)
    return scenario


def _name(data: dict[str, Any], path: Path, where: str) -> str:
    """The name is a directory on the host and in the guest: it must stay one."""
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not NAME.fullmatch(name) or len(name) > NAME_CHARS:
        source = "" if "name" in data else " (from the file name)"
        raise ScenarioError(f"{where}: `name`{source} must be letters, digits, '.', '_' or '-', "
                            f"starting with a letter or digit, at most {NAME_CHARS} characters, "
                            f"not {_shown(name)}")
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
                            f"(no leading '/', no '..'), not {_shown(value)}")
    return str(value)


def _build(table: dict[str, Any], where: str) -> tuple[str, ...]:
    _only(table, BUILD_KEYS, where)
    return _strings(table, "commands", where)


def _vmlinux_h(table: dict[str, Any], where: str) -> str | None:
    """`vmlinux_h = "vmlinux.h"`: the path, in the build directory, where the lab
    puts the running kernel's vmlinux.h before the build commands run."""
    if "vmlinux_h" not in table:
        return None
    return _inside_project(table, "vmlinux_h", where)


def _load(table: dict[str, Any], where: str) -> Load:
    _only(table, LOAD_KEYS, where)
    capture = table.get("capture", "trace_pipe")
    if capture not in CAPTURES:
        raise ScenarioError(f"{where}: capture must be one of {CAPTURES}, not {_shown(capture)}")
    return Load(_text(table, "command", where), _regex(table, "ready", where), capture,
                _seconds(table, "ready_timeout", where, 180.0),
                _seconds(table, "settle_timeout", where, 60.0))


def _step(table: dict[str, Any], where: str) -> Step:
    kinds = [k for k in STEP_KINDS if k in table]
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: needs exactly one of {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    _only(table, STEP_KEYS[kind], where)
    step = Step(
        kind=kind,
        command=_text(table, kind, where),
        record=_optional_text(table, "record", where),
        variables=_variables(table, where),
        lines=_strings(table, "type", where),
        prompt=_optional_regex(table, "prompt", where),
        until=_optional_regex(table, "until", where),
        collect=_optional_regex(table, "collect", where),
        timeout=_seconds(table, "timeout", where, 120.0),
        status=_status(table, where),
    )
    if kind == "interactive" and not (step.lines and step.prompt):
        raise ScenarioError(f"{where}: an interactive step needs `type` lines and its `prompt`")
    if kind == "spawn" and not step.until:
        raise ScenarioError(f"{where}: a spawn step needs `until`, the output that ends it")
    if kind == "run":
        _check_run_step(step, table, where)
    _check_own_fields(step, where)
    return step


def _status(table: dict[str, Any], where: str) -> int:
    value = table.get("status", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise ScenarioError(f"{where}: `status` must be the exit status the command ends "
                            f"with, an integer 0..255, not {_shown(value)}")
    return value


def _check_run_step(step: Step, table: dict[str, Any], where: str) -> None:
    """A background job is not waited for: it has no status and no output to collect.
    Collected values become records, so `collect` needs `record`."""
    if step.background:
        given = sorted({"status", "collect"} & set(table))
        if given:
            raise ScenarioError(f"{where}: {given} cannot apply to a background job "
                                f"(`{step.command}` ends in `&`): it is not waited for")
    if step.collect and not step.record:
        raise ScenarioError(f"{where}: `collect` needs `record`, the name its values go under")


def _variables(table: dict[str, Any], where: str) -> dict[str, str]:
    """`vars`: names ${...} can use, each a string or a number (kept as text)."""
    variables = table.get("vars", {})
    if not isinstance(variables, dict):
        raise ScenarioError(f"{where}: `vars` must be a table of strings or numbers, "
                            f"not {_shown(variables)}")
    for key, value in variables.items():
        if not VARIABLE.fullmatch(key):
            raise ScenarioError(f"{where}: `vars` names must be letters, digits or '_' "
                                f"(what ${{...}} can name), not {_shown(key)}")
        if not _is_text_or_number(value):
            raise ScenarioError(f"{where}: `vars.{key}` must be a string or a number, "
                                f"not {_shown(value)}")
    return {key: str(value) for key, value in variables.items()}


def _check_own_fields(step: Step, where: str) -> None:
    """The lab records pid (and line, and collect's groups) itself: a variable or
    group of the same name would replace the measured value with a written one."""
    measured = {"pid", "line"} if step.kind == "interactive" else {"pid"}
    overridden = sorted(measured & set(step.variables))
    if overridden:
        raise ScenarioError(f"{where}: `vars` must not set {overridden}: the lab records them")
    groups = set(re.compile(step.collect).groupindex) if step.collect else set()
    clashing = sorted(groups & (measured | set(step.variables)))
    if clashing:
        raise ScenarioError(f"{where}: `collect` groups must not be named {clashing}: "
                            "the lab records pid and `vars` sets the others")


def _expectation(table: dict[str, Any], where: str) -> Expectation:
    _only(table, EXPECT_KEYS, where)
    lines = _strings(table, "lines", where)
    rows = _rows(table, where)
    if bool(lines) == bool(rows):
        raise ScenarioError(f"{where}: needs either `lines` (regexes over the capture's lines) "
                            "or `rows` (columns of a table, by header name), not both")
    for index, line in enumerate(lines):
        _check_template(line, f"lines[{index}]", where)
    return Expectation(_text(table, "summary", where), _text(table, "for_each", where), lines,
                       _flag(table, "in_order", where, True), rows,
                       _flag(table, "absent", where, False))


def _rows(table: dict[str, Any], where: str) -> tuple[Row, ...]:
    """`rows`: each a table of column name -> the exact text of that cell."""
    rows = table.get("rows", [])
    if not isinstance(rows, list):
        raise ScenarioError(f"{where}: `rows` must be a list of tables (column = value), "
                            f"not {_shown(rows)}")
    return tuple(_row(row, f"rows[{index}]", where) for index, row in enumerate(rows))


def _row(row: object, key: str, where: str) -> Row:
    if not isinstance(row, dict) or not row:
        raise ScenarioError(f"{where}: `{key}` must be a non-empty table of column = value, "
                            f"not {_shown(row)}")
    for column, value in row.items():
        if not COLUMN.fullmatch(column):
            raise ScenarioError(f"{where}: `{key}` column names are header words, without "
                                f"spaces, not {_shown(column)}")
        if not _is_text_or_number(value) or isinstance(value, float) or not str(value).strip():
            raise ScenarioError(f"{where}: `{key}.{column}` must be the cell's text, a "
                                f"non-empty string or an integer, not {_shown(value)}")
    return tuple((column, str(value)) for column, value in row.items())


def _check_template(line: str, key: str, where: str) -> None:
    """A line must compile whatever the matcher puts in place of its ${field}s,
    and, filled in with a value, still need some text to match."""
    problem = f"is a bad pattern {line!r} once ${{...}} is filled in"
    value, wildcard = FIELD_STAND_INS
    _check_pattern(TEMPLATE_FIELD.sub(value, line), key, where, problem)
    _check_pattern(TEMPLATE_FIELD.sub(wildcard, line), key, where, problem, needs_text=False)


def _incompatibilities(data: dict[str, Any], where: str,
                       known_lines: Collection[str] | None) -> dict[str, Incompatibility]:
    records = data.get("expected_incompatible", {})
    if not isinstance(records, dict):
        raise ScenarioError(f"{where}: `expected_incompatible` must be a table of kernel lines, "
                            f"not {_shown(records)}")
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
            f"measured), not {_shown(value)}; a bare reason no longer says which failure "
            "is expected")
    _only(value, INCOMPATIBLE_KEYS, where)
    stage = value.get("stage")
    if stage not in _stages():
        raise ScenarioError(f"{where}: `stage` must be one of {', '.join(_stages())}, "
                            f"not {_shown(stage)}")
    return Incompatibility(str(stage), _regex(value, "evidence", where),
                           _text(value, "reason", where))


def _stages() -> tuple[str, ...]:
    """The outcome's stages; imported here because lab.verdicts.outcome imports
    lab.verdicts.matcher, which imports this module."""
    from lab.verdicts.outcome import STAGES

    return STAGES


def _accepted(data: dict[str, Any], where: str) -> tuple[Accepted, ...]:
    """Kernel messages the tutorial is known to cause, each with its explanation:
    only these splats do not fail the cell at 'kernel'."""
    accepted = []
    for index, table in enumerate(_tables(data, "accepted_kernel_messages", where)):
        inner = f"{where} accepted_kernel_messages[{index}]"
        _only(table, {"pattern", "why"}, inner)
        accepted.append(Accepted(_regex(table, "pattern", inner), _text(table, "why", inner)))
    return tuple(accepted)


def _kernel_config(data: dict[str, Any], where: str) -> tuple[str, ...]:
    options = _strings(data, "kernel_config", where)
    for index, option in enumerate(options):
        if not CONFIG_OPTION.fullmatch(option):
            raise ScenarioError(f"{where}: `kernel_config[{index}]` must be a CONFIG_ option "
                                f"name, not {_shown(option)}")
    return options


def _guest_packages(data: dict[str, Any], where: str) -> tuple[str, ...]:
    """Debian packages the tutorial needs in the guest root, on top of the recipe's
    (whether each exists in the recipe's suite is checked before the root is built)."""
    packages = _strings(data, "guest_packages", where)
    for index, package in enumerate(packages):
        if not DEBIAN_PACKAGE.fullmatch(package):
            raise ScenarioError(
                f"{where}: `guest_packages[{index}]` must be a Debian package name (lowercase "
                "letters, digits, '+', '-' or '.', at least two characters, starting with a "
                f"letter or digit; no ':arch', '=version' or '/suite'), not {_shown(package)}")
    return packages


def record_fields(step: Step) -> set[str]:
    """The names a record of this step carries, for ${...} in expectations."""
    fields = {"pid", *step.variables}
    if step.kind == "interactive":
        fields.add("line")
    if step.collect:
        fields |= set(re.compile(step.collect).groupindex)
    return fields


def _check_references(scenario: Scenario, where: str) -> None:
    """An expectation may use a field only if every step recording it carries it:
    the matcher fills each line from each record."""
    fields_by_record = _check_step_references(scenario.workload, where)
    for expectation in scenario.expect:
        if expectation.for_each not in fields_by_record:
            raise ScenarioError(f"{where}: expectation {expectation.summary!r} iterates over "
                                f"{expectation.for_each!r}, which no workload step records")
        templates = [*expectation.lines, *(value for row in expectation.rows for _, value in row)]
        for line in templates:
            if REFERENCE.search(line):
                raise ScenarioError(
                    f"{where}: {line!r} names another record's field; an expectation sees "
                    f"its own record's: carry the value in `vars` of the step recording "
                    f"{expectation.for_each!r} (vars = {{ name = \"${{record.field}}\" }})")
            unknown = set(TEMPLATE_FIELD.findall(line)) - fields_by_record[expectation.for_each]
            if unknown:
                raise ScenarioError(f"{where}: {line!r} uses {sorted(unknown)}, not recorded "
                                    f"by {expectation.for_each!r} (by every step recording it)")
    if not scenario.expect:
        raise ScenarioError(f"{where}: a scenario needs at least one [[expect]]")


def _check_step_references(workload: tuple[Step, ...], where: str) -> dict[str, set[str]]:
    """A step's command and vars may use ${record.field} of a record an earlier step
    made, with a field every step recording it carries; the fields of each record."""
    fields_by_record: dict[str, set[str]] = {}
    for index, step in enumerate(workload):
        for text in (step.command, *step.variables.values()):
            for name, field_name in REFERENCE.findall(text):
                known = fields_by_record.get(name)
                if known is None or field_name not in known:
                    problem = (f"no earlier step records {name!r}" if known is None else
                               f"{name!r} records {sorted(known)}")
                    raise ScenarioError(f"{where} workload[{index}]: `${{{name}.{field_name}}}` "
                                        f"in {text!r} cannot be filled in: {problem}")
        if step.record:
            fields = record_fields(step)
            fields_by_record[step.record] = fields_by_record.get(step.record, fields) & fields
    return fields_by_record


# --- typed reads: each names the file, the key and what was expected ---------

def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ScenarioError(
            f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in data:
        raise ScenarioError(f"{where}: needs a [{key}] table")
    value = data[key]
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: `{key}` must be a table ([{key}]), not {_shown(value)}")
    return value


def _tables(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{where}: [[{key}]] must be an array of tables, "
                            f"not {_shown(value)}")
    return value


def _text(data: dict[str, Any], key: str, where: str) -> str:
    if key not in data:
        raise ScenarioError(f"{where}: `{key}` is missing; it must be a non-empty string")
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: `{key}` must be a non-empty string, not {_shown(value)}")
    return value


def _optional_text(data: dict[str, Any], key: str, where: str) -> str | None:
    return _text(data, key, where) if key in data else None


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of non-empty strings; a lone string is refused, not split into letters."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: `{key}` must be a list of strings, not {_shown(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ScenarioError(f"{where}: `{key}[{index}]` must be a non-empty string, "
                                f"not {_shown(item)}")
    return tuple(value)


def _seconds(data: dict[str, Any], key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    seconds = _positive(value)
    if seconds is None or seconds > MAX_SECONDS:
        raise ScenarioError(f"{where}: `{key}` must be a positive number of seconds, at most "
                            f"{MAX_SECONDS} (an hour), not {_shown(value)}")
    return seconds


def _positive(value: object) -> float | None:
    """value as a finite positive float, or None; a bool is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and number > 0 else None


def _is_text_or_number(value: object) -> bool:
    """A string, a TOML integer (64 bits) or a finite float; a bool is not a number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -TOML_INTEGER <= value < TOML_INTEGER
    return isinstance(value, str) or (isinstance(value, float) and math.isfinite(value))


def _flag(data: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: `{key}` must be true or false, not {_shown(value)}")
    return value


def _regex(data: dict[str, Any], key: str, where: str) -> str:
    pattern = _text(data, key, where)
    _check_pattern(pattern, key, where, "is not a valid regex")
    return pattern


def _optional_regex(data: dict[str, Any], key: str, where: str) -> str | None:
    return _regex(data, key, where) if key in data else None


def _check_pattern(pattern: str, key: str, where: str, problem: str, *,
                   needs_text: bool = True) -> None:
    """The pattern compiles, and does not match an empty string: one that does
    matches every line, so it proves nothing (and a ready one fires at once)."""
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        raise ScenarioError(f"{where}: `{key}` {problem}: {error}") from error
    if needs_text and compiled.search(""):
        raise ScenarioError(f"{where}: `{key}` must be a regex that needs some text, not "
                            f"{_shown(pattern)}, which matches an empty line and so any line")


def _shown(value: object) -> str:
    """A value as the error shows it: its TOML kind, then its (clipped) repr."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an integer too long to print, a deep nesting
        text = f"<{type(value).__name__} too large to show>"
    if len(text) > SHOWN_CHARS:
        text = text[:SHOWN_CHARS - 1] + "…"
    if isinstance(value, str) and not value.strip():
        return f"a blank string {text}"
    for kind, noun in ((bool, "a boolean"), (str, "a string"), (dict, "a table"),
                       (list, "a list")):
        if isinstance(value, kind):
            return f"{noun} {text}"
    if isinstance(value, int | float):
        return text
    return f"a {type(value).__name__} {text}"

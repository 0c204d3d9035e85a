"""Scenarios: one declarative TOML file per tutorial, loaded and validated here.

A scenario says how to build the tutorial in the guest, how to load it and how
to know the probes are attached, which workload to drive, what to capture and
what the capture must show. Adding a tutorial is adding bpf/<name>/ and
scenarios/<name>.toml; nothing here knows any tutorial by name.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError

CAPTURES = ("trace_pipe", "output")
STEP_KINDS = ("run", "interactive", "spawn")
TEMPLATE_FIELD = re.compile(r"\$\{(\w+)\}")


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


@dataclass(frozen=True)
class Expectation:
    """For each record of a workload step, these lines must be in the capture."""

    summary: str
    for_each: str
    lines: tuple[str, ...]
    in_order: bool = True


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
    incompatible: dict[str, str] = field(default_factory=dict)
    kernel_config: tuple[str, ...] = ()


def load_scenarios(directory: Path) -> list[Scenario]:
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise LabError(f"no scenarios in {directory}")
    return [load_scenario(path) for path in files]


def load_scenario(path: Path) -> Scenario:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ScenarioError(f"{path}: {error}") from error
    return parse_scenario(data, path)


def parse_scenario(data: dict[str, Any], path: Path) -> Scenario:
    where = str(path)
    _only(data, {"name", "summary", "source", "program", "build", "load", "workload",
                 "expect", "expected_incompatible", "kernel_config"}, where)
    name = data.get("name", path.stem)
    steps = enumerate(_list(data, "workload", where))
    workload = tuple(_step(s, f"{where} workload[{i}]") for i, s in steps)
    expectations = enumerate(_list(data, "expect", where))
    expect = tuple(_expectation(e, f"{where} expect[{i}]") for i, e in expectations)
    scenario = Scenario(
        name=name,
        path=path,
        summary=_text(data, "summary", where),
        program=data.get("program", f"bpf/{name}"),
        build=tuple(_table(data, "build", where).get("commands", ())),
        load=_load(_table(data, "load", where), f"{where} [load]"),
        workload=workload,
        expect=expect,
        incompatible=dict(data.get("expected_incompatible", {})),
        kernel_config=tuple(data.get("kernel_config", ())),
    )
    _check_references(scenario, where)
    return scenario


def _load(table: dict[str, Any], where: str) -> Load:
    _only(table, {"command", "ready", "capture", "ready_timeout", "settle_timeout"}, where)
    capture = table.get("capture", "trace_pipe")
    if capture not in CAPTURES:
        raise ScenarioError(f"{where}: capture must be one of {CAPTURES}, not {capture!r}")
    load = Load(_text(table, "command", where), _regex(table, "ready", where), capture,
                float(table.get("ready_timeout", 180)), float(table.get("settle_timeout", 60)))
    return load


def _step(table: dict[str, Any], where: str) -> Step:
    kinds = [k for k in STEP_KINDS if k in table]
    if len(kinds) != 1:
        raise ScenarioError(f"{where}: needs exactly one of {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    _only(table, {kind, "record", "vars", "type", "prompt", "until", "collect", "timeout"}, where)
    step = Step(
        kind=kind,
        command=_text(table, kind, where),
        record=table.get("record"),
        variables={k: str(v) for k, v in table.get("vars", {}).items()},
        lines=tuple(table.get("type", ())),
        prompt=table.get("prompt"),
        until=_regex(table, "until", where) if "until" in table else None,
        collect=_regex(table, "collect", where) if "collect" in table else None,
        timeout=float(table.get("timeout", 120)),
    )
    if kind == "interactive" and not (step.lines and step.prompt):
        raise ScenarioError(f"{where}: an interactive step needs `type` lines and its `prompt`")
    if kind == "spawn" and not step.until:
        raise ScenarioError(f"{where}: a spawn step needs `until`, the output that ends it")
    return step


def _expectation(table: dict[str, Any], where: str) -> Expectation:
    _only(table, {"summary", "for_each", "lines", "in_order"}, where)
    lines = tuple(table.get("lines", ()))
    if not lines:
        raise ScenarioError(f"{where}: needs `lines`, the patterns the capture must show")
    for line in lines:
        try:
            re.compile(TEMPLATE_FIELD.sub("x", line))
        except re.error as error:
            raise ScenarioError(f"{where}: bad pattern {line!r}: {error}") from error
    return Expectation(_text(table, "summary", where), _text(table, "for_each", where), lines,
                       bool(table.get("in_order", True)))


def record_fields(step: Step) -> set[str]:
    """The names a record of this step carries, for ${...} in expectations."""
    fields = {"pid", *step.variables}
    if step.kind == "interactive":
        fields.add("line")
    if step.collect:
        fields |= set(re.compile(step.collect).groupindex)
    return fields


def _check_references(scenario: Scenario, where: str) -> None:
    fields_by_record: dict[str, set[str]] = {}
    for step in scenario.workload:
        if step.record:
            fields_by_record.setdefault(step.record, set()).update(record_fields(step))
    for expectation in scenario.expect:
        if expectation.for_each not in fields_by_record:
            raise ScenarioError(f"{where}: expectation {expectation.summary!r} iterates over "
                                f"{expectation.for_each!r}, which no workload step records")
        for line in expectation.lines:
            unknown = set(TEMPLATE_FIELD.findall(line)) - fields_by_record[expectation.for_each]
            if unknown:
                raise ScenarioError(f"{where}: {line!r} uses {sorted(unknown)}, not recorded "
                                    f"by {expectation.for_each!r}")
    if not scenario.expect:
        raise ScenarioError(f"{where}: a scenario needs at least one [[expect]]")


def _only(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ScenarioError(
            f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: needs a [{key}] table")
    return value


def _list(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{where}: [[{key}]] must be an array of tables")
    return value


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: `{key}` must be a non-empty string")
    return value


def _regex(data: dict[str, Any], key: str, where: str) -> str:
    pattern = _text(data, key, where)
    try:
        re.compile(pattern)
    except re.error as error:
        raise ScenarioError(f"{where}: `{key}` is not a valid regex: {error}") from error
    return pattern

"""Checks across the fields of a scenario: what one value's type cannot say
(a name used twice, a ${field} no step records, a key that cannot apply).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.scenario.model import (
    REFERENCE,
    TEMPLATE_FIELD,
    Scenario,
    ScenarioError,
    Step,
    record_fields,
)
from lab.scenario.values import check_pattern

# ${field} stand-ins when checking a line: a recorded value (the matcher escapes
# it) and the wildcard the matcher puts there to find near misses.
FIELD_STAND_INS = ("0", "(?:.*?)")


def check_unique_names(scenarios: Sequence[Scenario]) -> None:
    """A name is a cell of the report and a directory of evidence: two files of one
    name would overwrite each other's, so both are named and neither is run."""
    first: dict[str, Path] = {}
    for scenario in scenarios:
        earlier = first.setdefault(scenario.name, scenario.path)
        if earlier != scenario.path:
            raise ScenarioError(f"{scenario.path}: `name` {scenario.name!r} is also the name "
                                f"of {earlier}; each scenario needs its own name")


def check_run_step(step: Step, table: dict[str, Any], where: str) -> None:
    """A background job is not waited for: it has no status and no output to collect.
    Collected values become records, so `collect` needs `record`."""
    if step.background:
        given = sorted({"status", "collect"} & set(table))
        if given:
            raise ScenarioError(f"{where}: {given} cannot apply to a background job "
                                f"(`{step.command}` ends in `&`): it is not waited for")
    if step.collect and not step.record:
        raise ScenarioError(f"{where}: `collect` needs `record`, the name its values go under")


def check_own_fields(step: Step, where: str) -> None:
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


def check_template(line: str, key: str, where: str) -> None:
    """A line must compile whatever the matcher puts in place of its ${field}s,
    and, filled in with a value, still need some text to match."""
    problem = f"is a bad pattern {line!r} once ${{...}} is filled in"
    value, wildcard = FIELD_STAND_INS
    check_pattern(TEMPLATE_FIELD.sub(value, line), key, where, problem)
    check_pattern(TEMPLATE_FIELD.sub(wildcard, line), key, where, problem, needs_text=False)


def check_references(scenario: Scenario, where: str) -> None:
    """An expectation may use a field only if every step recording it carries it:
    the matcher fills each line from each record."""
    labelled = [*(("setup", i, s) for i, s in enumerate(scenario.setup)),
                *(("workload", i, s) for i, s in enumerate(scenario.workload))]
    fields_by_record = check_step_references(labelled, where)
    prepared = check_step_references(labelled[:len(scenario.setup)], where)
    check_texts_use(prepared, [scenario.load.command], f"{where} [load] command",
                    "no set-up step records")
    for index, step in enumerate(scenario.teardown):
        check_texts_use(prepared, [step.command], f"{where} teardown[{index}]",
                        "no set-up step records")
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


def check_step_references(steps: Sequence[tuple[str, int, Step]],
                          where: str) -> dict[str, set[str]]:
    """A step's command and vars may use ${record.field} of a record an earlier step
    made (set-up steps come before the workload's), with a field every step
    recording it carries; the fields of each record."""
    fields_by_record: dict[str, set[str]] = {}
    for part, index, step in steps:
        check_texts_use(fields_by_record, [step.command, *step.variables.values()],
                        f"{where} {part}[{index}]", "no earlier step records")
        if step.record:
            fields = record_fields(step)
            fields_by_record[step.record] = fields_by_record.get(step.record, fields) & fields
    return fields_by_record


def check_texts_use(fields_by_record: dict[str, set[str]], texts: Sequence[str], where: str,
                    missing: str) -> None:
    """Every ${record.field} of the texts names a field the records carry."""
    for text in texts:
        for name, field_name in REFERENCE.findall(text):
            known = fields_by_record.get(name)
            if known is None or field_name not in known:
                problem = (f"{missing} {name!r}" if known is None else
                           f"{name!r} records {sorted(known)}")
                raise ScenarioError(f"{where}: `${{{name}.{field_name}}}` in {text!r} cannot "
                                    f"be filled in: {problem}")

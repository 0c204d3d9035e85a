"""Scenarios: the model (model.py), the TOML reader (reader.py) and its checks
(values.py for one value, checks.py across fields). Callers import from here."""

from lab.scenario.model import (
    BACKGROUND,
    CAPTURES,
    NAME,
    REFERENCE,
    STEP_KINDS,
    TEMPLATE_FIELD,
    Expectation,
    Incompatibility,
    Load,
    Row,
    Scenario,
    ScenarioError,
    Step,
    record_fields,
)
from lab.scenario.reader import (
    BUILD_KEYS,
    EXPECT_KEYS,
    INCOMPATIBLE_KEYS,
    LOAD_KEYS,
    NAME_CHARS,
    STEP_KEYS,
    TOP_KEYS,
    chosen_scenarios,
    load_scenario,
    load_scenarios,
    parse_scenario,
)
from lab.scenario.values import MAX_SECONDS

__all__ = ["BACKGROUND", "BUILD_KEYS", "CAPTURES", "EXPECT_KEYS", "INCOMPATIBLE_KEYS",
           "LOAD_KEYS", "MAX_SECONDS", "NAME", "NAME_CHARS", "REFERENCE", "STEP_KEYS",
           "STEP_KINDS", "TEMPLATE_FIELD", "TOP_KEYS", "Expectation", "Incompatibility", "Load",
           "Row", "Scenario", "ScenarioError", "Step", "chosen_scenarios", "load_scenario",
           "load_scenarios", "parse_scenario", "record_fields"]

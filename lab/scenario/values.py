"""Typed reads of one TOML value for the scenario reader: each names the file,
the key and what was expected, and raises a ScenarioError, never another error.
"""

from __future__ import annotations

import math
import re
from typing import Any

from lab.scenario.model import ScenarioError

SHOWN_CHARS = 80
TOML_INTEGER = 2**63
# Every wait is a deadline the guest's console and the host's clock must hold: a
# huge finite one (1e300) overflows select() in a running guest, and no step of a
# tutorial waits an hour.
MAX_SECONDS = 3600


def only_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ScenarioError(
            f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}"
        )


def table_of(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    if key not in data:
        raise ScenarioError(f"{where}: needs a [{key}] table")
    value = data[key]
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: `{key}` must be a table ([{key}]), not {shown(value)}")
    return value


def tables_of(data: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScenarioError(f"{where}: [[{key}]] must be an array of tables, "
                            f"not {shown(value)}")
    return value


def text_of(data: dict[str, Any], key: str, where: str) -> str:
    if key not in data:
        raise ScenarioError(f"{where}: `{key}` is missing; it must be a non-empty string")
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise ScenarioError(f"{where}: `{key}` must be a non-empty string, not {shown(value)}")
    return value


def optional_text(data: dict[str, Any], key: str, where: str) -> str | None:
    return text_of(data, key, where) if key in data else None


def strings_of(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of non-empty strings; a lone string is refused, not split into letters."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ScenarioError(f"{where}: `{key}` must be a list of strings, not {shown(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ScenarioError(f"{where}: `{key}[{index}]` must be a non-empty string, "
                                f"not {shown(item)}")
    return tuple(value)


def seconds_of(data: dict[str, Any], key: str, where: str, default: float) -> float:
    value = data.get(key, default)
    seconds = _positive(value)
    if seconds is None or seconds > MAX_SECONDS:
        raise ScenarioError(f"{where}: `{key}` must be a positive number of seconds, at most "
                            f"{MAX_SECONDS} (an hour), not {shown(value)}")
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


def is_text_or_number(value: object) -> bool:
    """A string, a TOML integer (64 bits) or a finite float; a bool is not a number."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -TOML_INTEGER <= value < TOML_INTEGER
    return isinstance(value, str) or (isinstance(value, float) and math.isfinite(value))


def flag_of(data: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}: `{key}` must be true or false, not {shown(value)}")
    return value


def regex_of(data: dict[str, Any], key: str, where: str) -> str:
    pattern = text_of(data, key, where)
    check_pattern(pattern, key, where, "is not a valid regex")
    return pattern


def optional_regex(data: dict[str, Any], key: str, where: str) -> str | None:
    return regex_of(data, key, where) if key in data else None


def check_pattern(pattern: str, key: str, where: str, problem: str, *,
                   needs_text: bool = True) -> None:
    """The pattern compiles, and does not match an empty string: one that does
    matches every line, so it proves nothing (and a ready one fires at once)."""
    try:
        compiled = re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as error:
        raise ScenarioError(f"{where}: `{key}` {problem}: {error}") from error
    if needs_text and compiled.search(""):
        raise ScenarioError(f"{where}: `{key}` must be a regex that needs some text, not "
                            f"{shown(pattern)}, which matches an empty line and so any line")


def shown(value: object) -> str:
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

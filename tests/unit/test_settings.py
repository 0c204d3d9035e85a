"""Settings read from the environment: LAB_GUEST_APPEND (kernel arguments for every guest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.settings import Settings, parse_guest_append

PROJECT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "args"),
    [("", ()), ("   ", ()), ("rdinit=/nonexistent", ("rdinit=/nonexistent",)),
     ("console=ttyS0  rdinit=/nonexistent", ("console=ttyS0", "rdinit=/nonexistent")),
     ("'a b=c d'", ("a b=c d",))],
)
def test_guest_append_is_split_as_a_shell_would(value: str, args: tuple[str, ...]) -> None:
    assert parse_guest_append(value) == args


def test_unbalanced_quotes_in_guest_append_name_the_variable() -> None:
    with pytest.raises(LabError, match="LAB_GUEST_APPEND='\"oops': No closing quotation"):
        parse_guest_append('"oops')


def test_settings_carry_the_guest_append_and_default_to_none() -> None:
    environ = {"LAB_PROJECT_DIR": str(PROJECT), "LAB_CACHE_DIR": "/nonexistent-cache"}

    assert Settings.from_env(environ).guest_append == ()
    environ["LAB_GUEST_APPEND"] = "rdinit=/nonexistent"
    assert Settings.from_env(environ).guest_append == ("rdinit=/nonexistent",)

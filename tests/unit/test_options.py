"""Tests for the plugin's --kernel parsing."""

from __future__ import annotations

import pytest

from lab.pytest_plugin.options import parse_kernels

KNOWN = ["6.1", "6.6", "6.12"]


@pytest.mark.parametrize(("values", "expected"), [
    (["6.1"], ["6.1"]),
    (["6.1", "6.12"], ["6.1", "6.12"]),
    (["6.12,6.1"], ["6.12", "6.1"]),
    ([" 6.1 , 6.6 "], ["6.1", "6.6"]),
    (["6.1,,", ""], ["6.1"]),
    (["all"], KNOWN),
    (["6.12", "all"], ["6.12", "6.1", "6.6"]),
    (["6.1,6.1", "6.1"], ["6.1"]),
    (["all,6.6", "all"], KNOWN),
    ([], []),
], ids=["one", "repeat", "comma-list", "spaces", "empty-parts", "all", "all-after-one",
        "dedupe", "all-twice", "none"])
def test_parse_kernels(values: list[str], expected: list[str]) -> None:
    assert parse_kernels(values, KNOWN) == expected


@pytest.mark.parametrize(("values", "named"), [
    (["9.99"], "9.99"),
    (["6.1,5.10", "4.19"], "5.10, 4.19"),
])
def test_unknown_kernel_line_is_a_value_error_naming_it(values: list[str], named: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_kernels(values, KNOWN)
    assert str(info.value) == f"--kernel {named}: not in the catalog (known: 6.1, 6.6, 6.12)"


def test_known_lines_may_be_any_iterable() -> None:
    assert parse_kernels(["all"], iter(KNOWN)) == KNOWN

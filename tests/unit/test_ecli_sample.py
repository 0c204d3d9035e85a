"""Tests for lab.in_guest.ecli_sample: a map annotated @sample printed as ecli prints
it, a log2 histogram per key or a key/value row, and the annotation's reading."""

from __future__ import annotations

import struct
import time

import pytest
from btf_builder import BtfBuilder

from lab.in_guest import ecli_format as fmt
from lab.in_guest import ecli_sample as sampling

AT = time.struct_time((2026, 12, 3, 9, 5, 7, 3, 337, 0))
LOG2 = sampling.SampleConfig(1000, "log2_hist")


def histogram_map(slots: int = 4) -> tuple[BtfBuilder, int, int]:
    """A hash map keyed by a name, whose value is a count and u32 slots."""
    b = BtfBuilder()
    char = b.int("char", 1, signed=True)
    name = b.array(char, 8)
    key = b.composite("name_key", 8, [("name", name, 0)])
    u64 = b.int("unsigned long long", 8)
    u32 = b.int("unsigned int", 4)
    value = b.composite("histogram", 8 + 4 * slots, [("count", u64, 0),
                                                     ("slots", b.array(u32, slots), 8)])
    return b, key, value


def histogram_value(count: int, slots: list[int]) -> bytes:
    return struct.pack(f"<Q{len(slots)}I", count, *slots)


# --- the histogram ----------------------------------------------------------------

def test_log2_hist_rows_up_to_the_last_slot_in_use_with_stars_scaled_to_the_largest() -> None:
    drawn = sampling.log2_hist([1, 8, 138, 512, 1029, 16, 0, 0], "usecs")
    assert drawn.splitlines() == [
        "     usecs               : count    distribution",
        "         0 -> 1          : 1        |                                        |",
        "         2 -> 3          : 8        |                                        |",
        "         4 -> 7          : 138      |*****                                   |",
        "         8 -> 15         : 512      |*******************                     |",
        "        16 -> 31         : 1029     |****************************************|",
        "        32 -> 63         : 16       |                                        |",
    ]
    assert drawn.endswith("|\n")


def test_a_histogram_of_zeros_is_not_drawn_at_all() -> None:
    assert sampling.log2_hist([0, 0, 0], "(unit)") == ""
    assert sampling.log2_hist([], "(unit)") == ""


def test_a_slot_past_32_widens_the_columns_and_halves_the_bar() -> None:
    drawn = sampling.log2_hist([0] * 33 + [2], "ns").splitlines()
    assert drawn[0] == " " * 15 + "ns".ljust(29) + " : count    distribution"
    assert drawn[-1] == f"{1 << 33:>20} -> {(1 << 34) - 1:<20} : 2        |{'*' * 20}|"
    assert len(drawn) == 35


# --- the annotation -----------------------------------------------------------------

def test_the_annotation_with_ecli_defaults() -> None:
    assert sampling.sample_config({"interval": 1000}) == sampling.SampleConfig(
        1000, "default_kv", "(unit)", False)
    assert sampling.sample_config({"interval": 250, "type": "log2_hist", "unit": "usecs",
                                   "clear_map": True, "other": 1}) == sampling.SampleConfig(
        250, "log2_hist", "usecs", True)


@pytest.mark.parametrize(("annotation", "problem"), [
    ("every second", r"wants a JSON object"),
    ({}, r"interval .* is required, not null"),
    ({"interval": "1000"}, r"interval .* is required, not \"1000\""),
    ({"interval": True}, r"interval .* is required, not true"),
    ({"interval": 10, "type": "histogram"}, r"type \"histogram\" is not one of log2_hist"),
    ({"interval": 10, "unit": 3}, r"unit is a string"),
])
def test_an_annotation_ecli_would_refuse(annotation: object, problem: str) -> None:
    with pytest.raises(sampling.SampleError, match=problem):
        sampling.sample_config(annotation)


# --- one entry as ecli prints it ------------------------------------------------

def test_a_log2_entry_is_key_then_other_members_then_the_histogram_each_println_ed() -> None:
    b, key, value = histogram_map()
    sample = sampling.SampleFormat(b.btf(), key, value, LOG2)
    text = sample.entry(b"timer\0\0\0", histogram_value(7, [3, 0, 1, 0]))
    assert text.split("\n") == [
        "key =  timer",
        "count = 7",
        "",
        "     (unit)              : count    distribution",
        "         0 -> 1          : 3        |****************************************|",
        "         2 -> 3          : 0        |                                        |",
        "         4 -> 7          : 1        |*************                           |",
        "",
        ""]


def test_a_log2_entry_whose_slots_are_all_zero_is_two_blank_lines_after_the_members() -> None:
    b, key, value = histogram_map()
    sample = sampling.SampleFormat(b.btf(), key, value,
                                   sampling.SampleConfig(1000, "log2_hist", "usecs"))
    assert sample.entry(b"eth0\0\0\0\0", histogram_value(12345, [0, 0, 0, 0])) == \
        "key =  eth0\ncount = 12345\n\n\n"


def test_an_integer_key_is_one_unnamed_member_after_a_space() -> None:
    b = BtfBuilder()
    u32 = b.int("u32", 4)
    value = b.composite("hist", 8, [("slots", b.array(u32, 2), 0)])
    sample = sampling.SampleFormat(b.btf(), u32, value, LOG2)
    assert sample.entry(b"\xff\xff\xff\xff", struct.pack("<2I", 0, 5)).splitlines()[:2] == \
        ["key =  4294967295", ""]


def test_a_log2_map_without_slots_is_refused_as_ecli_refuses_it() -> None:
    b, key, _value = histogram_map()
    counter = b.int("unsigned long", 8)
    with pytest.raises(sampling.SampleError, match="needs a `slots` member"):
        sampling.SampleFormat(b.btf(), key, counter, LOG2)


def test_default_kv_is_a_header_of_both_types_members_and_a_row_of_two_json_objects() -> None:
    b, key, value = histogram_map(slots=2)
    sample = sampling.SampleFormat(b.btf(), key, value, sampling.SampleConfig(500))
    assert sample.header == "TIME     NAME   COUNT  SLOTS  "
    assert sample.entry(b"rx\0\0\0\0\0\0", histogram_value(2, [1, 4]), AT) == \
        '09:05:07 {"name":"rx"} {"count":2,"slots":[1,4]}\n'


def test_linear_hist_is_refused_in_plain_text() -> None:
    b, key, value = histogram_map()
    with pytest.raises(sampling.SampleError, match="linear_hist"):
        sampling.SampleFormat(b.btf(), key, value, sampling.SampleConfig(10, "linear_hist"))


def test_a_key_of_a_type_ecli_cannot_print_is_refused() -> None:
    b, _key, value = histogram_map()
    enum = b.enum("state", 4, [("ON", 1)])
    with pytest.raises(fmt.FormatError, match="ecli has no way to print it"):
        sampling.SampleFormat(b.btf(), enum, value, LOG2)


def test_an_entry_shorter_than_its_type_is_refused_naming_the_member() -> None:
    b, key, value = histogram_map()
    sample = sampling.SampleFormat(b.btf(), key, value, LOG2)
    with pytest.raises(fmt.FormatError, match=r"slots: bytes 8..24 are past the 12-byte entry"):
        sample.entry(b"x\0\0\0\0\0\0\0", histogram_value(1, [1])[:12])

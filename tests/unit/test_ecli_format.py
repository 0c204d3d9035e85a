"""Tests for lab.in_guest.ecli_format: the ecli stand-in's BTF reading, its rows as ecli
prints them, which struct it prints, and its program options. The BTF is built
byte by byte (tests/unit/btf_builder.py), as clang lays it out."""

from __future__ import annotations

import struct
import time

import pytest
from btf_builder import BtfBuilder

from lab.in_guest import ecli_format as fmt

AT = time.struct_time((2026, 11, 25, 21, 40, 9, 2, 329, 0))


def exitsnoop_btf() -> tuple[BtfBuilder, int]:
    """bpf-developer-tutorial's exitsnoop.h: 4 bytes of padding before duration_ns."""
    b = BtfBuilder()
    int_t = b.int("int", 4, signed=True)
    unsigned = b.int("unsigned int", 4)
    ull = b.int("unsigned long long", 8)
    char = b.int("char", 1, signed=True)
    comm = b.array(char, 16)
    event = b.composite("event", 40, [("pid", int_t, 0), ("ppid", int_t, 4),
                                      ("exit_code", unsigned, 8), ("duration_ns", ull, 16),
                                      ("comm", comm, 24)])
    return b, event


def exitsnoop_event(pid: int, ppid: int, code: int, duration: int, comm: bytes,
                    padding: bytes = b"\0" * 4) -> bytes:
    return struct.pack("<iiI4sQ16s", pid, ppid, code, padding, duration, comm)


# --- header and rows, as ecli lays them out -------------------------------------

def test_header_is_time_then_each_field_upper_cased_padded_to_six() -> None:
    b, event = exitsnoop_btf()
    table = fmt.EventFormat(b.btf(), event)
    assert table.header == "TIME     PID    PPID   EXIT_CODE DURATION_NS COMM   "
    assert [c.header_offset for c in table.columns] == [9, 16, 23, 33, 45]


def test_row_puts_each_value_under_its_header_and_skips_the_padding() -> None:
    b, event = exitsnoop_btf()
    table = fmt.EventFormat(b.btf(), event)
    data = exitsnoop_event(42050, 42049, 3, 1234567, b"sh", padding=b"\xff" * 4)
    assert table.row(data, AT) == "21:40:09  42050 42049  3         1234567     sh"


def test_a_value_longer_than_its_column_pushes_the_next_by_one_space() -> None:
    b, event = exitsnoop_btf()
    table = fmt.EventFormat(b.btf(), event)
    row = table.row(exitsnoop_event(-2147483648, 1, 255, 2**64 - 1, b"x" * 15), AT)
    assert row == "21:40:09  -2147483648 1 255      18446744073709551615 xxxxxxxxxxxxxxx"


def test_a_short_event_is_refused_naming_the_field() -> None:
    b, event = exitsnoop_btf()
    table = fmt.EventFormat(b.btf(), event)
    with pytest.raises(fmt.FormatError, match=r"comm: bytes 24..40 are past the 30-byte event"):
        table.row(exitsnoop_event(1, 1, 0, 0, b"sh")[:30], AT)


@pytest.mark.parametrize(("size", "signed", "data", "shown"), [
    (1, True, b"\xff", "-1"), (1, False, b"\xff", "255"),
    (2, True, b"\xfe\xff", "-2"), (2, False, b"\xff\xff", "65535"),
    (4, True, b"\xfd\xff\xff\xff", "-3"), (4, False, b"\xff\xff\xff\xff", "4294967295"),
    (8, True, b"\xfc" + b"\xff" * 7, "-4"), (8, False, b"\xff" * 8, "18446744073709551615"),
    (16, True, b"\xfb" + b"\xff" * 15, "-5"), (16, False, b"\xff" * 16, str(2**128 - 1)),
])
def test_integers_of_each_size_in_decimal_with_their_signedness(
        size: int, signed: bool, data: bytes, shown: str) -> None:
    b = BtfBuilder()
    number = b.int("n", size, signed=signed)
    event = b.composite("e", size, [("v", number, 0)])
    table = fmt.EventFormat(b.btf(), event)
    assert table.text(number, data) == shown
    assert table.row(data, AT) == f"21:40:09  {shown}"


def test_bool_pointer_and_typedef_chains() -> None:
    b = BtfBuilder()
    boolean = b.int("_Bool", 1, is_bool=True)
    pid_t = b.ref(fmt.TYPEDEF, b.int("int", 4, signed=True), "pid_t")
    const_pid = b.ref(fmt.CONST, b.ref(fmt.VOLATILE, pid_t))
    pointer = b.ref(fmt.PTR, pid_t)
    event = b.composite("e", 24, [("on", boolean, 0), ("pid", const_pid, 4),
                                  ("where", pointer, 8), ("off", boolean, 16)])
    table = fmt.EventFormat(b.btf(), event)
    data = struct.pack("<?3xiQ?7x", True, -7, 0xFFFF800012345678, False)
    assert table.row(data, AT) == "21:40:09  true  -7     18446603336526616184 false"


# --- strings and arrays ---------------------------------------------------------

@pytest.mark.parametrize(("data", "shown"), [
    (b"bash\0junk\0\0\0", "bash"),
    (b"\0" * 12, ""),
    (b"twelve_chars", "twelve_chars"),          # no NUL: the whole array
    (b"caf\xc3\xa9\0\0\0\0\0\0\0", "café"),
    (b"bad\xff\0\0\0\0\0\0\0\0", "bad\ufffd"),  # not UTF-8: replaced, not dropped
])
def test_char_arrays_are_strings_up_to_their_nul(data: bytes, shown: str) -> None:
    b = BtfBuilder()
    text = b.array(b.int("char", 1, signed=True), 12)
    event = b.composite("e", 12, [("name", text, 0)])
    table = fmt.EventFormat(b.btf(), event)
    assert table.text(text, data) == shown


def test_an_array_of_another_byte_type_is_a_json_list() -> None:
    b = BtfBuilder()
    u8 = b.ref(fmt.TYPEDEF, b.int("unsigned char", 1), "u8")
    octets = b.array(u8, 4)
    event = b.composite("e", 4, [("addr", octets, 0)])
    table = fmt.EventFormat(b.btf(), event)
    assert table.text(octets, b"\x7f\0\0\x01") == "[127,0,0,1]"


def test_nested_arrays_are_nested_json_lists_and_inner_strings_are_quoted() -> None:
    b = BtfBuilder()
    short = b.int("short", 2, signed=True)
    grid = b.array(b.array(short, 3), 2)
    names = b.array(b.array(b.int("char", 1, signed=True), 4), 2)
    event = b.composite("e", 20, [("grid", grid, 0), ("names", names, 12)])
    table = fmt.EventFormat(b.btf(), event)
    data = struct.pack("<6h4s4s", 1, -2, 3, 4, 5, -6, b"ab", b'c"d')
    assert table.header == "TIME     GRID   NAMES  "
    assert table.row(data, AT) == '21:40:09  [[1,-2,3],[4,5,-6]] ["ab","c\\"d"]'


def test_a_nested_struct_is_json_with_sorted_keys_and_ecli_type_tags() -> None:
    b = BtfBuilder()
    u32 = b.int("unsigned int", 4)
    char = b.int("char", 1, signed=True)
    inner = b.composite("inner", 12, [("zeta", u32, 0), ("alpha", b.array(char, 8), 4)])
    event = b.composite("outer", 16, [("n", u32, 0), ("in", inner, 4)])
    table = fmt.EventFormat(b.btf(), event)
    data = struct.pack("<II8s", 9, 5, b"hi")
    assert table.text(inner, data[4:]) == (
        '{"__EUNOMIA_TYPE":"struct","__EUNOMIA_TYPE_NAME":"inner","alpha":"hi","zeta":5}')


def test_enums_print_their_variant_and_value() -> None:
    b = BtfBuilder()
    state = b.enum("state", 4, [("TCP_ESTABLISHED", 1), ("TCP_CLOSE", 7)])
    event = b.composite("e", 4, [("state", state, 0)])
    table = fmt.EventFormat(b.btf(), event)
    assert table.text(state, struct.pack("<i", 7)) == "TCP_CLOSE(7)"
    assert table.text(state, struct.pack("<i", 3)) == "<UNKNOWN_VARIANT>(3)"


def test_a_bitfield_is_refused_as_ecli_refuses_it() -> None:
    b = BtfBuilder()
    u32 = b.int("unsigned int", 4)
    event = b.composite("flags", 4, [("low", u32, 0), ("high", u32, 0)],
                        bitfields={"low": 3, "high": 5})
    with pytest.raises(fmt.FormatError, match="member `low` of struct flags is a bitfield"):
        fmt.EventFormat(b.btf(), event)


def test_a_type_that_is_not_a_struct_has_no_table() -> None:
    b = BtfBuilder()
    number = b.int("int", 4)
    with pytest.raises(fmt.FormatError, match="is not a struct"):
        fmt.EventFormat(b.btf(), number)


# --- which struct ---------------------------------------------------------------

def test_ecc_marker_names_the_struct_before_anything_else() -> None:
    b, event = exitsnoop_btf()
    other = b.composite("sample", 4, [("x", b.int("int", 4), 0)])
    marker = b.var("__eunomia_dummy_sample_ptr", b.ref(fmt.PTR, b.ref(fmt.CONST, other)))
    b.datasec(".bss", [(marker, 0, 8)])
    struct_id, how = fmt.event_struct(b.btf(), map_value_type=event)
    assert struct_id == other
    assert how.startswith("__eunomia_dummy_sample_ptr")


def test_without_a_marker_the_maps_value_type_then_struct_event() -> None:
    b, event = exitsnoop_btf()
    value = b.composite("record", 4, [("x", b.int("int", 4), 0)])
    u32 = b.int("u32", 4)
    btf = b.btf()
    assert fmt.event_struct(btf, value) == (value, "the map's BTF value type")
    assert fmt.event_struct(btf, u32) == (event, "the tutorials' `struct event`")
    assert fmt.event_struct(btf) == (event, "the tutorials' `struct event`")


def test_an_object_that_kept_no_struct_says_how_to_keep_one() -> None:
    b = BtfBuilder()
    b.composite("task_struct", 8, [])
    with pytest.raises(fmt.BtfError, match=r"no __eunomia_dummy_\*_ptr marker \(build it with "
                                           r"`ecc prog.bpf.c prog.h`\)"):
        fmt.event_struct(b.btf())


# --- the BTF blob ---------------------------------------------------------------

def test_parse_btf_reads_names_kinds_and_members() -> None:
    b, event = exitsnoop_btf()
    btf = b.btf()
    assert btf[event].name == "event"
    assert [m.name for m in btf[event].members] == ["pid", "ppid", "exit_code", "duration_ns",
                                                    "comm"]
    assert btf.size_of(btf[event].members[4].type_id) == 16


@pytest.mark.parametrize(("raw", "problem"), [
    (b"\x9f\xeb\x01", "shorter than its header"),
    (b"\0\0" + b"\0" * 22, "not BTF: magic 0000"),
])
def test_malformed_btf_is_refused(raw: bytes, problem: str) -> None:
    with pytest.raises(fmt.BtfError, match=problem):
        fmt.parse_btf(raw)


def test_a_type_cut_short_is_refused() -> None:
    b, _ = exitsnoop_btf()
    raw = b.raw()
    cut = raw[:24] + struct.pack("<I", 0) + raw[28:]  # no string offsets change
    header = list(struct.unpack_from("<HBBIIIII", cut))
    header[5] -= 5  # the type section ends inside the last type
    with pytest.raises(fmt.BtfError, match="cut short"):
        fmt.parse_btf(struct.pack("<HBBIIIII", *header) + raw[24:])


# --- options ------------------------------------------------------------------------

def opensnoop_btf() -> BtfBuilder:
    """opensnoop's `const volatile int pid_target`, plus one of each other kind."""
    b = BtfBuilder()
    int_t = b.int("int", 4, signed=True)
    pid = b.var("pid_target", b.ref(fmt.VOLATILE, b.ref(fmt.CONST, int_t)))
    u16 = b.var("targ_dport", b.int("__u16", 2))
    flag = b.var("targ_failed", b.int("_Bool", 1, is_bool=True))
    name = b.var("comm_filter", b.array(b.int("char", 1, signed=True), 8))
    b.datasec(".rodata", [(pid, 0, 4), (u16, 4, 2), (flag, 6, 1), (name, 7, 8)])
    event = b.composite("event", 4, [("pid", int_t, 0)])
    marker = b.var("__eunomia_dummy_event_ptr", b.ref(fmt.PTR, event))
    pointer = b.var("cursor", b.ref(fmt.PTR, int_t))
    b.datasec(".bss", [(marker, 0, 8), (pointer, 8, 8)])
    return b


def variables() -> list[fmt.Variable]:
    return fmt.program_variables(opensnoop_btf().btf())


def test_the_globals_of_rodata_and_bss_are_options_but_ecc_markers_are_not() -> None:
    found = variables()
    assert [(v.name, v.section, v.offset, v.size, v.kind) for v in found] == [
        ("pid_target", ".rodata", 0, 4, "int"), ("targ_dport", ".rodata", 4, 2, "int"),
        ("targ_failed", ".rodata", 6, 1, "bool"), ("comm_filter", ".rodata", 7, 8, "string"),
        ("cursor", ".bss", 8, 8, "other")]


def test_pid_target_takes_a_decimal_int_written_little_endian() -> None:
    (setting,) = fmt.parse_options(["--pid_target", "1234"], variables())
    assert (setting[0].name, setting[1]) == ("pid_target", (1234).to_bytes(4, "little"))
    (negative,) = fmt.parse_options(["--pid_target=-1"], variables())
    assert negative[1] == b"\xff\xff\xff\xff"


def test_several_options_of_each_kind() -> None:
    settings = fmt.parse_options(["--targ_dport", "65535", "--enable-targ_failed",
                                  "--comm_filter", "bash"], variables())
    assert [(v.name, data) for v, data in settings] == [
        ("targ_dport", b"\xff\xff"), ("targ_failed", b"\1"), ("comm_filter", b"bash\0\0\0\0")]


@pytest.mark.parametrize(("args", "data"), [
    (["--targ_failed"], b"\1"), (["--enable-targ_failed"], b"\1"),
    (["--disable-targ_failed"], b"\0"), (["--targ_failed=false"], b"\0"),
])
def test_a_bool_is_a_switch(args: list[str], data: bytes) -> None:
    (setting,) = fmt.parse_options(args, variables())
    assert setting[1] == data


def test_an_unknown_option_is_named_with_the_known_ones() -> None:
    with pytest.raises(fmt.OptionError) as info:
        fmt.parse_options(["--pid", "1234"], variables())
    assert str(info.value) == (
        "unknown option '--pid'; known options: --pid_target <32-bit signed integer>, "
        "--targ_dport <16-bit unsigned integer>, --targ_failed, "
        "--comm_filter <string of at most 7 bytes>, --cursor <BTF kind 2>")


def test_a_program_without_globals_says_so() -> None:
    with pytest.raises(fmt.OptionError, match=r"unknown option '--pid_target'; known options: "
                                              r"none \(the program has no globals\)"):
        fmt.parse_options(["--pid_target", "1"], [])


@pytest.mark.parametrize(("args", "problem"), [
    (["--pid_target", "abc"], "--pid_target takes a 32-bit signed integer in decimal, not 'abc'"),
    (["--pid_target", "0x10"], "in decimal, not '0x10'"),
    (["--pid_target", " 5"], "in decimal, not ' 5'"),
    (["--pid_target", "2147483648"],
     "--pid_target takes a 32-bit signed integer, -2147483648..2147483647, not 2147483648"),
    (["--targ_dport", "-1"], "--targ_dport takes a 16-bit unsigned integer, 0..65535, not -1"),
    (["--pid_target"], "option --pid_target needs a value: a 32-bit signed integer"),
    (["--comm_filter", "too-long"], "--comm_filter takes a string of at most 7 bytes, "
                                    "not 'too-long' (8 bytes)"),
    (["--targ_failed=yes"], "--targ_failed is a switch (true or false), not 'yes'"),
    (["--cursor", "1"], "--cursor is a BTF kind 2, which ecli cannot set"),
    (["1234"], "unexpected argument '1234'; known options: --pid_target"),
])
def test_a_bad_value_is_refused_naming_the_option_and_what_it_takes(
        args: list[str], problem: str) -> None:
    with pytest.raises(fmt.OptionError) as info:
        fmt.parse_options(args, variables())
    assert problem in str(info.value)


def test_usage_lists_the_options() -> None:
    assert fmt.usage("opensnoop.bpf.o", variables()[:1]) == (
        "usage: ecli run opensnoop.bpf.o [OPTION]...\noptions (the program's globals):\n"
        "  --pid_target <32-bit signed integer>")

"""The pure parts of the lab's ecli stand-in: BTF, event rows, program options.

This module runs in the guest next to ecli.py (standard library only: the
guest root has python3 but not the lab package) and is what the unit tests
import. It knows nothing of libbpf: ecli.py hands it the object's BTF as raw
bytes (btf__raw_data after bpf_object__open, so libbpf has already filled in
the DATASEC sizes and offsets clang leaves at zero) and the event bytes.

What ecli prints, and from which public behaviour it is inferred
(eunomia-bpf, bpf-loader-rs/bpf-loader-lib/src/export_event/):

- The event struct (skeleton/mod.rs, checker.rs): ecli takes export_types[0]
  of its package, which ecc fills from the first `struct NAME {` of the header
  given to `ecc prog.bpf.c prog.h`; ecc keeps that struct in the object's BTF
  by appending `const volatile struct NAME * __eunomia_dummy_NAME_ptr`
  (compiler/cmd/src/export_types.rs). Here, without a package: the first such
  marker, else the export map's own BTF value type when it is a struct, else
  the struct the tutorials name `event`.
- The header (event_handlers/mod.rs, get_plain_text_checked_types_header):
  "TIME     ", then each member's name upper-cased, padded to 6, and a space.
- A row (event_handlers/buffer.rs, data_dumper/plain_text.rs): the local time
  as HH:MM:SS padded to 8 and a space; then for each member spaces up to the
  column its name starts at in the header, or one space if the row is already
  past it; then the value.
- A value (data_dumper/json.rs, dump_to_json): integers in decimal with their
  BTF size and signedness, bool as true/false, char[] (element type named
  "char") as the string up to its NUL, enums as NAME(value), pointers as
  integers, 128-bit integers as decimal text; other arrays and nested
  structs as compact JSON, a struct as an object whose keys are sorted
  (serde_json's map without preserve_order) and carry __EUNOMIA_TYPE and
  __EUNOMIA_TYPE_NAME. A top-level string is printed without quotes.
  Bitfields are refused, as ecli refuses them.
  Where the stand-in differs: a char[] without a NUL is printed whole (ecli
  would index past it), bytes that are not UTF-8 are replaced (ecli drops the
  event with an error), and floats (which BPF programs cannot compute) use
  Python's repr, not ryu's.
- Options (meta/arg_builder.rs, arg_parser.rs): each variable of the object's
  .rodata, .data and .bss (the const volatile globals; __eunomia_dummy_*
  markers excepted) is `--NAME VALUE`; a bool is a switch (`--NAME`, and
  ecli's `--enable-NAME`/`--disable-NAME`); integers are decimal and must fit
  the variable (Rust's parse::<i32> and friends), char[N] takes a string.
"""

from __future__ import annotations

import dataclasses
import json
import re
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

BTF_MAGIC = 0xEB9F
HEADER_FORMAT = "HBBIIIII"  # magic, version, flags, hdr_len, then offsets and lengths
(INT, PTR, ARRAY, STRUCT, UNION, ENUM, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC,
 FUNC_PROTO, VAR, DATASEC, FLOAT, DECL_TAG, TYPE_TAG, ENUM64) = range(1, 20)
MODIFIERS = (TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG)
INT_SIGNED, INT_BOOL = 1, 4
# Bytes after the common 12-byte header: fixed per kind, or per member (vlen).
EXTRA_FIXED = {INT: 4, ARRAY: 12, VAR: 4, DECL_TAG: 4}
EXTRA_PER_MEMBER = {STRUCT: 12, UNION: 12, ENUM: 8, FUNC_PROTO: 8, DATASEC: 12, ENUM64: 12}

TIME_HEADER = "TIME     "
MIN_HEADER_WIDTH = 6
DUMMY_PREFIX = "__eunomia_dummy_"
OPTION_SECTIONS = (".rodata", ".data", ".bss")
TUTORIAL_EVENT = "event"
DECIMAL = re.compile(r"[+-]?[0-9]+")


class BtfError(Exception):
    """The BTF is malformed, or lacks what the program needs."""


class FormatError(Exception):
    """An event struct ecli cannot print (a bitfield, a type it does not know)."""


class OptionError(Exception):
    """A bad command line for the program: unknown option, missing or bad value."""


# --- BTF ---------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """A struct or union member; bitfield_size is 0 for an ordinary member."""

    name: str
    type_id: int
    bit_offset: int
    bitfield_size: int = 0


@dataclass(frozen=True)
class BtfType:
    kind: int
    name: str = ""
    size: int = 0          # INT, STRUCT, UNION, ENUM, ENUM64, FLOAT, DATASEC
    ref: int = 0           # PTR, TYPEDEF and modifiers, VAR, FUNC; an ARRAY's element
    signed: bool = False   # INT, ENUM64
    is_bool: bool = False  # INT
    bits: int = 0          # INT
    nelems: int = 0        # ARRAY
    members: tuple[Member, ...] = ()
    values: tuple[tuple[str, int], ...] = ()          # ENUM, ENUM64
    entries: tuple[tuple[int, int, int], ...] = ()    # DATASEC: (var type id, offset, size)


class Btf:
    """The types of one BTF blob, by id (0 is void)."""

    def __init__(self, types: Sequence[BtfType]) -> None:
        self.types = [BtfType(0, "void"), *types]

    def __getitem__(self, type_id: int) -> BtfType:
        if not 0 <= type_id < len(self.types):
            raise BtfError(f"type id {type_id} is out of range (0..{len(self.types) - 1})")
        return self.types[type_id]

    def resolve(self, type_id: int) -> int:
        """The id behind typedefs and const/volatile/restrict/type tags."""
        for _ in range(len(self.types)):
            if self[type_id].kind not in MODIFIERS:
                return type_id
            type_id = self[type_id].ref
        raise BtfError(f"type id {type_id}: a loop of typedefs or modifiers")

    def size_of(self, type_id: int) -> int:
        kind = self[self.resolve(type_id)]
        if kind.kind == PTR:
            return 8
        if kind.kind == ARRAY:
            return kind.nelems * self.size_of(kind.ref)
        return kind.size

    def named(self, kind: int, name: str) -> int | None:
        for type_id, candidate in enumerate(self.types):
            if candidate.kind == kind and candidate.name == name:
                return type_id
        return None

    def datasec(self, name: str) -> BtfType | None:
        found = self.named(DATASEC, name)
        return None if found is None else self[found]


def parse_btf(raw: bytes) -> Btf:
    """A BTF blob (the .BTF section, or btf__raw_data) as its types."""
    if len(raw) < struct.calcsize("<" + HEADER_FORMAT):
        raise BtfError(f"BTF of {len(raw)} bytes is shorter than its header")
    order = "<" if struct.unpack_from("<H", raw)[0] == BTF_MAGIC else ">"
    fields = struct.unpack_from(order + HEADER_FORMAT, raw)
    if fields[0] != BTF_MAGIC:
        raise BtfError(f"not BTF: magic {raw[:2].hex()}")
    hdr_len, type_off, type_len, str_off, str_len = fields[3:]
    strings = raw[hdr_len + str_off:hdr_len + str_off + str_len]
    start = hdr_len + type_off
    return Btf(list(_types(raw[start:start + type_len], strings, order)))


def _types(data: bytes, strings: bytes, order: str) -> Iterator[BtfType]:
    offset = 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise BtfError(f"a type is cut short at byte {offset} of the type section")
        name_off, info, size_or_type = struct.unpack_from(order + "III", data, offset)
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        extra = EXTRA_FIXED.get(kind, 0) + EXTRA_PER_MEMBER.get(kind, 0) * vlen
        body = data[offset + 12:offset + 12 + extra]
        if len(body) < extra:
            raise BtfError(f"a type of kind {kind} is cut short at byte {offset}")
        yield _type(kind, _name(strings, name_off), size_or_type, vlen, kflag, body,
                    strings, order)
        offset += 12 + extra


def _type(kind: int, name: str, size_or_type: int, vlen: int, kflag: int, body: bytes,
          strings: bytes, order: str) -> BtfType:
    def words(count: int, fmt: str = "I") -> list[tuple[int, ...]]:
        step = struct.calcsize(order + fmt)
        return [struct.unpack_from(order + fmt, body, i * step) for i in range(count)]

    if kind == INT:
        (encoding,) = struct.unpack_from(order + "I", body)
        return BtfType(kind, name, size_or_type, signed=bool((encoding >> 24) & INT_SIGNED),
                       is_bool=bool((encoding >> 24) & INT_BOOL), bits=encoding & 0xFF)
    if kind == ARRAY:
        element, _index, nelems = struct.unpack_from(order + "III", body)
        return BtfType(kind, name, ref=element, nelems=nelems)
    if kind in (STRUCT, UNION):
        members = tuple(_member(strings, m, kflag) for m in words(vlen, "III"))
        return BtfType(kind, name, size_or_type, members=members)
    if kind == ENUM:
        values = tuple((_name(strings, n), v) for n, v in words(vlen, "Ii"))
        return BtfType(kind, name, size_or_type, signed=bool(kflag), values=values)
    if kind == ENUM64:
        values = tuple((_name(strings, n), lo | hi << 32) for n, lo, hi in words(vlen, "III"))
        return BtfType(kind, name, size_or_type, signed=bool(kflag), values=values)
    if kind == DATASEC:
        return BtfType(kind, name, size_or_type,
                       entries=tuple((t, o, s) for t, o, s in words(vlen, "III")))
    if kind == FLOAT:
        return BtfType(kind, name, size_or_type)
    return BtfType(kind, name, ref=size_or_type)  # PTR, FWD, TYPEDEF, modifiers, FUNC, VAR...


def _member(strings: bytes, words: tuple[int, ...], kflag: int) -> Member:
    name_off, type_id, offset = words
    if kflag:
        return Member(_name(strings, name_off), type_id, offset & 0xFFFFFF, offset >> 24)
    return Member(_name(strings, name_off), type_id, offset)


def _name(strings: bytes, offset: int) -> str:
    end = strings.find(b"\0", offset)
    return strings[offset:end if end >= 0 else len(strings)].decode("utf-8", "replace")


# --- which struct the buffer carries ---------------------------------------------

def event_struct(btf: Btf, map_value_type: int = 0) -> tuple[int, str]:
    """The id of the struct the events carry, and how it was found."""
    for candidate in btf.types:
        if candidate.kind == VAR and candidate.name.startswith(DUMMY_PREFIX):
            pointer = btf[btf.resolve(candidate.ref)]
            target = btf.resolve(pointer.ref) if pointer.kind == PTR else 0
            if btf[target].kind == STRUCT:
                return target, f"{candidate.name}, the marker ecc adds for the header's struct"
    if map_value_type and btf[btf.resolve(map_value_type)].kind == STRUCT:
        return btf.resolve(map_value_type), "the map's BTF value type"
    found = btf.named(STRUCT, TUTORIAL_EVENT)
    if found is not None:
        return found, f"the tutorials' `struct {TUTORIAL_EVENT}`"
    raise BtfError("cannot tell which struct the events carry: the object has no "
                   f"{DUMMY_PREFIX}*_ptr marker (build it with `ecc prog.bpf.c prog.h`), "
                   f"the map has no struct value type, and there is no struct {TUTORIAL_EVENT}")


# --- rows ------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    type_id: int
    offset: int         # bytes into the event
    size: int
    header_offset: int  # where the name starts in the header


class BtfValues:
    """Values of the object's BTF types as ecli dumps them (data_dumper/json.rs)."""

    def __init__(self, btf: Btf) -> None:
        self.btf = btf

    def text(self, type_id: int, data: bytes) -> str:
        """One value as ecli prints it: a string bare, anything else as JSON."""
        value = self.value(type_id, data)
        if isinstance(value, str):
            return value
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    def value(self, type_id: int, data: bytes) -> object:
        """The value as ecli's JSON holds it (str, int, bool, float, list or dict)."""
        resolved = self.btf.resolve(type_id)
        kind = self.btf[resolved]
        if kind.kind == INT:
            return _integer(kind, data)
        if kind.kind == PTR:
            return int.from_bytes(_slice(data, 0, 8, "pointer"), "little")
        if kind.kind == ARRAY:
            return self._array(kind, data)
        if kind.kind in (STRUCT, UNION):
            return self._composite(kind, data)
        if kind.kind in (ENUM, ENUM64):
            return _enum(kind, data)
        if kind.kind == FLOAT:
            return _float(kind, data)
        raise FormatError(f"ecli does not print values of BTF kind {kind.kind} "
                          f"(type id {type_id})")

    def _array(self, array: BtfType, data: bytes) -> object:
        if self.btf[array.ref].name == "char":  # ecli: elem_ty.name() == "char"
            end = data.find(b"\0")
            return data[:end if end >= 0 else len(data)].decode("utf-8", "replace")
        step = self.btf.size_of(array.ref)
        return [self.value(array.ref, _slice(data, i * step, step, "array element"))
                for i in range(array.nelems)]

    def _composite(self, composite: BtfType, data: bytes) -> dict[str, object]:
        result: dict[str, object] = {
            "__EUNOMIA_TYPE": "struct" if composite.kind == STRUCT else "union",
            "__EUNOMIA_TYPE_NAME": composite.name,
        }
        for member in composite.members:
            if member.bitfield_size or member.bit_offset % 8:
                raise FormatError(f"member `{member.name}` of {composite.name} is a bitfield")
            size = self.btf.size_of(member.type_id)
            result[member.name] = self.value(
                member.type_id, _slice(data, member.bit_offset // 8, size, member.name))
        return dict(sorted(result.items()))


class EventFormat(BtfValues):
    """ecli's plain-text table for one struct: its header, and a row per event."""

    def __init__(self, btf: Btf, struct_id: int) -> None:
        super().__init__(btf)
        layout = btf[btf.resolve(struct_id)]
        if layout.kind != STRUCT:
            raise FormatError(f"type id {struct_id} is not a struct")
        self.name = layout.name
        self.size = layout.size
        self.header, self.columns = header(members(btf, struct_id), TIME_HEADER)

    def row(self, data: bytes, now: time.struct_time | None = None) -> str:
        return self.cells(self.columns, data, time.strftime("%H:%M:%S", now or time.localtime())
                          .ljust(8) + " ")

    def cells(self, columns: Sequence[Column], data: bytes, out: str) -> str:
        """out, then each column's value: under its name in the header, or one
        space after the previous value when that is already past it."""
        for column in columns:
            out = out.ljust(column.header_offset) if column.header_offset > len(out) \
                else out + " "
            out += self.text(column.type_id, _slice(data, column.offset, column.size,
                                                    column.name))
        return out


def members(btf: Btf, type_id: int) -> list[Column]:
    """What ecli prints of a value of the type (type_descriptor.rs): each member of
    a struct, or the whole value, unnamed, for an integer, array, float or pointer.
    header_offset is 0 until header() places the names."""
    resolved = btf.resolve(type_id)
    layout = btf[resolved]
    if layout.kind == STRUCT:
        columns = []
        for member in layout.members:
            if member.bitfield_size or member.bit_offset % 8:
                raise FormatError(f"member `{member.name}` of struct {layout.name} is a "
                                  "bitfield, which ecli does not print")
            columns.append(Column(member.name, member.type_id, member.bit_offset // 8,
                                  btf.size_of(member.type_id), 0))
        return columns
    if layout.kind in (INT, ARRAY, FLOAT, PTR):
        return [Column("", type_id, 0, btf.size_of(type_id), 0)]
    raise FormatError(f"type id {type_id} is not a struct, an integer, an array, a float "
                      "or a pointer: ecli has no way to print it")


def header(columns: Sequence[Column], start: str) -> tuple[str, tuple[Column, ...]]:
    """start, then each name upper-cased and padded to 6, and a space; and the
    columns, each placed where its name starts (ecli's output_header_offset)."""
    out = start
    placed = []
    for column in columns:
        placed.append(dataclasses.replace(column, header_offset=len(out)))
        out += column.name.upper().ljust(MIN_HEADER_WIDTH) + " "
    return out, tuple(placed)


def _slice(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size > len(data):
        raise FormatError(f"{what}: bytes {offset}..{offset + size} are past the "
                          f"{len(data)}-byte event")
    return data[offset:offset + size]


def _integer(kind: BtfType, data: bytes) -> object:
    if kind.is_bool:
        return data[:1] != b"\0"
    if kind.bits not in (8, 16, 32, 64, 128):
        raise FormatError(f"an integer of {kind.bits} bits ({kind.name})")
    number = int.from_bytes(_slice(data, 0, kind.bits // 8, kind.name), "little",
                            signed=kind.signed)
    return str(number) if kind.bits == 128 else number


def _enum(kind: BtfType, data: bytes) -> str:
    number = int.from_bytes(_slice(data, 0, kind.size, kind.name), "little", signed=True)
    for name, value in kind.values:
        if value == number or value - (1 << 8 * kind.size) == number:
            return f"{name}({number})"
    return f"<UNKNOWN_VARIANT>({number})"


def _float(kind: BtfType, data: bytes) -> float:
    if kind.size not in (4, 8):
        raise FormatError(f"a float of {kind.size} bytes")
    fmt = "<f" if kind.size == 4 else "<d"
    (number,) = struct.unpack(fmt, _slice(data, 0, kind.size, kind.name))
    return float(number)


# --- options -----------------------------------------------------------------------

@dataclass(frozen=True)
class Variable:
    """A global the command line can set before the object is loaded."""

    name: str
    section: str
    offset: int
    size: int
    kind: str            # "int", "bool", "string" or "other"
    signed: bool = False
    type_name: str = ""

    @property
    def describe(self) -> str:
        if self.kind == "int":
            sign = "signed" if self.signed else "unsigned"
            return f"{self.size * 8}-bit {sign} integer"
        if self.kind == "string":
            return f"string of at most {self.size - 1} bytes"
        return self.type_name

    @property
    def usage(self) -> str:
        return f"--{self.name}" if self.kind == "bool" else f"--{self.name} <{self.describe}>"


def program_variables(btf: Btf) -> list[Variable]:
    """The globals of .rodata, .data and .bss, in section order."""
    found = []
    for section in OPTION_SECTIONS:
        datasec = btf.datasec(section)
        for type_id, offset, size in datasec.entries if datasec else ():
            var = btf[type_id]
            if var.kind == VAR and not var.name.startswith(DUMMY_PREFIX):
                found.append(_variable(btf, var, section, offset, size))
    return found


def _variable(btf: Btf, var: BtfType, section: str, offset: int, size: int) -> Variable:
    target = btf[btf.resolve(var.ref)]
    if target.kind == INT and target.is_bool:
        return Variable(var.name, section, offset, size, "bool", type_name="bool")
    if target.kind in (INT, ENUM, ENUM64):
        return Variable(var.name, section, offset, size, "int", target.signed or
                        target.kind == ENUM, target.name)
    if target.kind == ARRAY and btf[target.ref].name == "char":
        return Variable(var.name, section, offset, size, "string", type_name="char[]")
    return Variable(var.name, section, offset, size, "other",
                    type_name=target.name or f"BTF kind {target.kind}")


def parse_options(args: Sequence[str], variables: Sequence[Variable]
                  ) -> list[tuple[Variable, bytes]]:
    """Each option of the command line as (variable, bytes to write at its offset)."""
    by_name = {v.name: v for v in variables}
    settings = []
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        name, has_value, value = arg[2:].partition("=") if arg.startswith("--") else ("", "", "")
        switch = _switch(name, by_name) if not has_value else None
        if switch is not None:
            settings.append((switch[0], _encode(switch[0], switch[1])))
            continue
        variable = by_name.get(name)
        if variable is None:
            raise OptionError(_unknown(arg, variables))
        if not has_value:
            if position == len(args):
                raise OptionError(f"option --{name} needs a value: a {variable.describe}")
            value = args[position]
            position += 1
        settings.append((variable, _encode(variable, value)))
    return settings


def _switch(name: str, by_name: dict[str, Variable]) -> tuple[Variable, str] | None:
    """`--flag`, `--enable-flag` or `--disable-flag` for a bool variable."""
    for prefix, value in (("", "true"), ("enable-", "true"), ("disable-", "false")):
        if name.startswith(prefix):
            variable = by_name.get(name[len(prefix):])
            if variable is not None and variable.kind == "bool":
                return variable, value
    return None


def _unknown(arg: str, variables: Sequence[Variable]) -> str:
    what = "unknown option" if arg.startswith("-") else "unexpected argument"
    known = ", ".join(v.usage for v in variables) or "none (the program has no globals)"
    return f"{what} {arg!r}; known options: {known}"


def _encode(variable: Variable, value: str) -> bytes:
    """The bytes of value as the variable holds it, or OptionError naming both."""
    if variable.kind == "bool":
        if value not in ("true", "false"):
            raise OptionError(f"option --{variable.name} is a switch (true or false), "
                              f"not {value!r}")
        return b"\1" if value == "true" else b"\0"
    if variable.kind == "string":
        data = value.encode()
        if len(data) >= variable.size:
            raise OptionError(f"option --{variable.name} takes a {variable.describe}, "
                              f"not {value!r} ({len(data)} bytes)")
        return data.ljust(variable.size, b"\0")
    if variable.kind == "int":
        return _integer_bytes(variable, value)
    raise OptionError(f"option --{variable.name} is a {variable.describe}, which ecli "
                      "cannot set from the command line")


def _integer_bytes(variable: Variable, value: str) -> bytes:
    if not DECIMAL.fullmatch(value):
        raise OptionError(f"option --{variable.name} takes a {variable.describe} in "
                          f"decimal, not {value!r}")
    number = int(value)
    bits = variable.size * 8
    low, high = (-(1 << bits - 1), (1 << bits - 1) - 1) if variable.signed else (0, (1 << bits) - 1)
    if not low <= number <= high:
        raise OptionError(f"option --{variable.name} takes a {variable.describe}, "
                          f"{low}..{high}, not {value}")
    return number.to_bytes(variable.size, "little", signed=variable.signed)


def usage(program: str, variables: Sequence[Variable]) -> str:
    lines = [f"usage: ecli run {program} [OPTION]...", "options (the program's globals):"]
    lines += [f"  {v.usage}" for v in variables] or ["  none"]
    return "\n".join(lines)

"""Map sampling as ecli prints it: a map annotated `/// @sample {...}` in the
source is printed entry by entry at an interval (pure: the bytes of each key and
value come from ecli.py).

What ecli does, and from where (eunomia-bpf, bpf-loader-rs/bpf-loader-lib/src/):

- The annotation (meta/mod.rs, MapSampleMeta): `interval` in milliseconds
  (required), `type` one of log2_hist, linear_hist, default_kv (the default),
  `unit` (default "(unit)"), `clear_map` (default false: the entries stay and
  each interval prints them again, cumulated).
- The loop (skeleton/poller/mod.rs): every interval, each key of the map in
  the kernel's order, its value looked up and printed; then a sleep of the
  interval. clear_map deletes the entries when the poller is dropped.
- The key's and value's members (export_event/type_descriptor.rs, BtfType):
  a struct's members by name, or one unnamed member for an integer, array,
  float or pointer. ecli's single-export path names the value's members from
  the export types of `ecc prog.bpf.c prog.h` and has no names (refuses the
  map) without them; here the map's own BTF key and value types name them, as
  ecli's multiple-export path does.
- log2_hist (event_handlers/sample_map.rs): "key = ", then each key member
  after one space; then `NAME = VALUE` for each value member but `slots`; that
  text is printed with println (so a blank line follows); then the u32
  `slots` as helper/log2_hist.rs draws them, also printed with println.
  A value without `slots` is an error ("No slots found!").
- default_kv: a header "TIME     " plus the key's and value's member names
  (as an event header); each entry is the local time padded to 8, a space,
  the key's members as a JSON object, a space and the value's likewise.
- linear_hist in plain text: refused, as ecli refuses it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

try:  # in the guest: next to this file
    import ecli_format as fmt
except ImportError:  # in the project
    from lab.in_guest import ecli_format as fmt

KINDS = ("log2_hist", "linear_hist", "default_kv")
DEFAULT_UNIT = "(unit)"
SLOTS = "slots"
STARS = 40


class SampleError(Exception):
    """A sample annotation ecli would refuse, or a map it cannot print."""


@dataclass(frozen=True)
class SampleConfig:
    interval_ms: int
    kind: str = "default_kv"
    unit: str = DEFAULT_UNIT
    clear_map: bool = False


def sample_config(annotation: object) -> SampleConfig:
    """The `@sample` annotation's JSON as ecli reads it (serde: unknown keys ignored)."""
    if not isinstance(annotation, dict):
        raise SampleError(f"@sample wants a JSON object such as {{\"interval\": 1000}}, "
                          f"not {json.dumps(annotation)}")
    interval = annotation.get("interval")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise SampleError(f"@sample: interval (milliseconds, an integer of at least 0) "
                          f"is required, not {json.dumps(interval)}")
    kind = annotation.get("type", "default_kv")
    if kind not in KINDS:
        raise SampleError(f"@sample: type {json.dumps(kind)} is not one of {', '.join(KINDS)}")
    unit = annotation.get("unit", DEFAULT_UNIT)
    clear_map = annotation.get("clear_map", False)
    if not isinstance(unit, str) or not isinstance(clear_map, bool):
        raise SampleError("@sample: unit is a string and clear_map true or false")
    return SampleConfig(interval, kind, unit, clear_map)


def log2_hist(values: list[int], unit: str) -> str:
    """The histogram as ecli draws it (bcc's print_log2_hist): a row per slot up
    to the last one in use, none at all when every slot is 0."""
    used = [index for index, value in enumerate(values) if value > 0]
    if not used:
        return ""
    last = used[-1]
    narrow = last <= 32
    value_max = max(values)
    stars = STARS if narrow else STARS // 2
    width = 10 if narrow else 20
    lines = [" " * (5 if narrow else 15) + unit.ljust(19 if narrow else 29)
             + " : count    distribution"]
    for index, value in enumerate(values[:last + 1]):
        low, high = (1 << (index + 1)) >> 1, (1 << (index + 1)) - 1
        if low == high:
            low -= 1
        bar = "*" * (min(value, value_max) * stars // value_max)
        lines.append(f"{low:>{width}} -> {high:<{width}} : {value:<8} |{bar:<{stars}}|")
    return "\n".join(lines) + "\n"


class SampleFormat(fmt.BtfValues):
    """What ecli prints for each entry of one sampled map."""

    def __init__(self, btf: fmt.Btf, key_type: int, value_type: int,
                 config: SampleConfig) -> None:
        super().__init__(btf)
        self.config = config
        if config.kind == "linear_hist":
            raise SampleError("ecli does not print a linear_hist in plain text "
                              "(\"Linear hist sampling is not supported now\")")
        key_columns = fmt.members(btf, key_type)
        value_columns = fmt.members(btf, value_type)
        self.header: str | None = None
        if config.kind == "default_kv":
            self.header, key_columns = fmt.header(key_columns, fmt.TIME_HEADER)
            self.header, value_columns = fmt.header(value_columns, self.header)
        elif not any(column.name == SLOTS for column in value_columns):
            raise SampleError(f"a log2_hist needs a `{SLOTS}` member in the map's value "
                              "(ecli: \"No slots found!\")")
        self.key_columns, self.value_columns = tuple(key_columns), tuple(value_columns)

    def entry(self, key: bytes, value: bytes, now: time.struct_time | None = None) -> str:
        """The text ecli prints for one entry, newlines included."""
        if self.config.kind == "default_kv":
            clock = time.strftime("%H:%M:%S", now or time.localtime()).ljust(8)
            return f"{clock} {self._json(self.key_columns, key)} " \
                   f"{self._json(self.value_columns, value)}\n"
        text = "key = " + self._after_spaces(self.key_columns, key) + "\n"
        slots: list[int] = []
        for column in self.value_columns:
            data = self._data(column, value)
            if column.name == SLOTS:
                slots = [int.from_bytes(data[i:i + 4], "little")
                         for i in range(0, len(data) - 3, 4)]
            else:
                text += f"{column.name} = {self.text(column.type_id, data)}\n"
        return text + "\n" + log2_hist(slots, self.config.unit) + "\n"

    def _after_spaces(self, columns: tuple[fmt.Column, ...], data: bytes) -> str:
        """Each member one space after the last (their header offsets are 0)."""
        return "".join(" " + self.text(column.type_id, self._data(column, data))
                       for column in columns)

    def _json(self, columns: tuple[fmt.Column, ...], data: bytes) -> str:
        members = {column.name: self.value(column.type_id, self._data(column, data))
                   for column in columns}
        return json.dumps(dict(sorted(members.items())), separators=(",", ":"),
                          ensure_ascii=False)

    @staticmethod
    def _data(column: fmt.Column, data: bytes) -> bytes:
        if column.offset + column.size > len(data):
            raise fmt.FormatError(f"{column.name or 'the value'}: bytes {column.offset}.."
                                  f"{column.offset + column.size} are past the "
                                  f"{len(data)}-byte entry")
        return data[column.offset:column.offset + column.size]

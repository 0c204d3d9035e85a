"""Raw BTF blobs for the ecli_format tests, laid out as in linux/btf.h: a header,
then the types (12 bytes each plus their kind's extra words), then the strings."""

from __future__ import annotations

import struct

from lab.in_guest import ecli_format as fmt


class BtfBuilder:
    def __init__(self) -> None:
        self.strings = bytearray(b"\0")
        self.types: list[bytes] = []

    def _name(self, name: str) -> int:
        if not name:
            return 0
        offset = len(self.strings)
        self.strings += name.encode() + b"\0"
        return offset

    def _add(self, name: str, kind: int, vlen: int, size_or_type: int, extra: bytes = b"",
             kflag: int = 0) -> int:
        info = kind << 24 | vlen | kflag << 31
        self.types.append(struct.pack("<III", self._name(name), info, size_or_type) + extra)
        return len(self.types)  # type ids start at 1

    def int(self, name: str, size: int, signed: bool = False, is_bool: bool = False) -> int:
        encoding = (fmt.INT_SIGNED if signed else 0) | (fmt.INT_BOOL if is_bool else 0)
        return self._add(name, fmt.INT, 0, size, struct.pack("<I", encoding << 24 | size * 8))

    def array(self, element: int, nelems: int, index: int = 0) -> int:
        return self._add("", fmt.ARRAY, 0, 0, struct.pack("<III", element, index, nelems))

    def composite(self, name: str, size: int, members: list[tuple[str, int, int]],
                  kind: int = fmt.STRUCT, bitfields: dict[str, int] | None = None) -> int:
        """members: (name, type id, byte offset); bitfields: member -> bit size."""
        bitfields = bitfields or {}
        extra = b"".join(
            struct.pack("<III", self._name(n), t,
                        (bitfields[n] << 24 | o * 8) if bitfields else o * 8)
            for n, t, o in members)
        return self._add(name, kind, len(members), size, extra, kflag=1 if bitfields else 0)

    def enum(self, name: str, size: int, values: list[tuple[str, int]]) -> int:
        extra = b"".join(struct.pack("<Ii", self._name(n), v) for n, v in values)
        return self._add(name, fmt.ENUM, len(values), size, extra)

    def ref(self, kind: int, target: int, name: str = "") -> int:
        return self._add(name, kind, 0, target)

    def var(self, name: str, type_id: int) -> int:
        return self._add(name, fmt.VAR, 0, type_id, struct.pack("<I", 1))

    def datasec(self, name: str, entries: list[tuple[int, int, int]]) -> int:
        extra = b"".join(struct.pack("<III", *entry) for entry in entries)
        size = max((offset + size for _, offset, size in entries), default=0)
        return self._add(name, fmt.DATASEC, len(entries), size, extra)

    def raw(self) -> bytes:
        types = b"".join(self.types)
        header = struct.pack("<HBBIIIII", fmt.BTF_MAGIC, 1, 0, 24, 0, len(types),
                             len(types), len(self.strings))
        return header + types + bytes(self.strings)

    def btf(self) -> fmt.Btf:
        return fmt.parse_btf(self.raw())

"""The package.json that the lab's ecc writes and its ecli runs (pure).

eunomia-bpf's ecc packs the object with what the source's doc comments say
(compiler/cmd/src/bpf_compiler/mod.rs, pack_object_in_config):
`{"bpf_object": base64(zlib(object)), "bpf_object_size": N, "meta": {...}}`,
where meta.bpf_skel lists the maps and programs, each carrying the `@name
value` lines of its doc comment as keys (document_parser.rs). ecli reads:

- a map's `sample` (ecli_sample.py): the map is printed at an interval;
- a `SEC("tc")` program's `tchook` {"ifindex", "attach_point"} and `tcopts`
  {"handle", "priority"} (meta/mod.rs, TCProgExtraMeta; defaults ifindex 1,
  BPF_TC_INGRESS, handle 1, priority 1), attached with bpf_tc_hook_create and
  bpf_tc_attach (skeleton/preload/attach/tc.rs);
- a `SEC("xdp")` program's `ifindex`, `flags` and `xdpopts` {"old_prog_fd"}
  (XDPProgExtraMeta; defaults 1, 0, 0), attached with bpf_xdp_attach (xdp.rs).

The lab's package carries the same layout, with only the maps and programs
that have annotations in meta.bpf_skel (ecc lists them all).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass

TC_ATTACH_POINTS = {"BPF_TC_INGRESS": 1, "BPF_TC_EGRESS": 2, "BPF_TC_CUSTOM": 4}
VERSION = "lab stand-in"


class PackageError(Exception):
    """Not a package ecli can run, or an annotation whose value ecli would refuse."""


@dataclass(frozen=True)
class Package:
    object_name: str
    object_bytes: bytes
    maps: dict[str, dict[str, object]]   # map name -> its annotations
    progs: dict[str, dict[str, object]]  # program name -> its annotations


def pack(object_bytes: bytes, object_name: str, maps: dict[str, dict[str, object]],
         progs: dict[str, dict[str, object]]) -> str:
    """The package.json text, in ecc's layout."""
    skel = {"obj_name": object_name,
            "maps": [{"name": name, **notes} for name, notes in maps.items()],
            "progs": [{"name": name, **notes} for name, notes in progs.items()]}
    document = {"bpf_object": base64.b64encode(zlib.compress(object_bytes)).decode(),
                "bpf_object_size": len(object_bytes),
                "meta": {"bpf_skel": skel, "eunomia_version": VERSION}}
    return json.dumps(document, indent=2) + "\n"


def unpack(text: str) -> Package:
    """The object and the annotations of a package.json, or PackageError naming
    what is missing."""
    try:
        document = json.loads(text)
        skel = document["meta"]["bpf_skel"]
        packed = document["bpf_object"]
        size = document["bpf_object_size"]
        object_bytes = zlib.decompress(base64.b64decode(packed, validate=True))
    except (ValueError, KeyError, TypeError, zlib.error, binascii.Error) as error:
        raise PackageError(f"not a package ecc wrote: {type(error).__name__}: {error}") \
            from error
    if len(object_bytes) != size:
        raise PackageError(f"the packed object has {len(object_bytes)} bytes; "
                           f"bpf_object_size says {size}")
    return Package(str(skel.get("obj_name", "")), object_bytes,
                   _named(skel.get("maps", []), "maps"), _named(skel.get("progs", []), "progs"))


def _named(entries: object, what: str) -> dict[str, dict[str, object]]:
    if not isinstance(entries, list) or not all(
            isinstance(entry, dict) and isinstance(entry.get("name"), str) for entry in entries):
        raise PackageError(f"meta.bpf_skel.{what} is not a list of objects with a name")
    return {entry["name"]: {k: v for k, v in entry.items() if k != "name"} for entry in entries}


@dataclass(frozen=True)
class TcAttach:
    ifindex: int = 1
    attach_point: int = TC_ATTACH_POINTS["BPF_TC_INGRESS"]
    handle: int = 1
    priority: int = 1


@dataclass(frozen=True)
class XdpAttach:
    ifindex: int = 1
    flags: int = 0
    old_prog_fd: int = 0


def tc_attach(notes: dict[str, object]) -> TcAttach:
    """Where a tc program goes, from its `@tchook` and `@tcopts` (defaults as ecli's)."""
    hook = _object(notes, "tchook")
    opts = _object(notes, "tcopts")
    point = hook.get("attach_point", "BPF_TC_INGRESS")
    if point not in TC_ATTACH_POINTS:
        raise PackageError(f"@tchook: attach_point {json.dumps(point)} is not one of "
                           f"{', '.join(TC_ATTACH_POINTS)}")
    return TcAttach(_integer(hook, "ifindex", 1, "@tchook", signed=True),
                    TC_ATTACH_POINTS[str(point)],
                    _integer(opts, "handle", 1, "@tcopts"),
                    _integer(opts, "priority", 1, "@tcopts"))


def xdp_attach(notes: dict[str, object]) -> XdpAttach:
    """Where an XDP program goes, from its `@ifindex`, `@flags` and `@xdpopts`."""
    return XdpAttach(_integer(notes, "ifindex", 1, "@ifindex", signed=True),
                     _integer(notes, "flags", 0, "@flags"),
                     _integer(_object(notes, "xdpopts"), "old_prog_fd", 0, "@xdpopts",
                              signed=True))


def _object(notes: dict[str, object], key: str) -> dict[str, object]:
    value = notes.get(key, {})
    if not isinstance(value, dict):
        raise PackageError(f"@{key} wants a JSON object, not {json.dumps(value)}")
    return value


def _integer(values: dict[str, object], key: str, default: int, where: str,
             signed: bool = False) -> int:
    """An i32 (signed) or u32 field as serde reads it: a JSON integer that fits."""
    value = values.get(key, default)
    low, high = (-(1 << 31), (1 << 31) - 1) if signed else (0, (1 << 32) - 1)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        kind = "i32" if signed else "u32"
        raise PackageError(f"{where}: {key} must be an integer ({kind}), not {json.dumps(value)}")
    return value

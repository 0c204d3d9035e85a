"""Tests for lab.in_guest.ecli_package: the package.json the lab's ecc writes and its
ecli runs (ecc's layout), and where a tc or XDP program is attached from its
annotations, with ecli's defaults."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from typing import Any

import pytest

from lab.in_guest import ecli_package as package

OBJECT = b"\x7fELF" + bytes(range(256)) * 4


def test_the_package_has_ecc_layout_the_object_zlib_compressed_in_base64() -> None:
    text = package.pack(OBJECT, "prog_bpf", {"counts": {"sample": {"interval": 10}}},
                        {"ingress": {"tchook": {"ifindex": 2}}})
    document = json.loads(text)
    assert zlib.decompress(base64.b64decode(document["bpf_object"])) == OBJECT
    assert document["bpf_object_size"] == len(OBJECT)
    assert document["meta"]["bpf_skel"] == {
        "obj_name": "prog_bpf",
        "maps": [{"name": "counts", "sample": {"interval": 10}}],
        "progs": [{"name": "ingress", "tchook": {"ifindex": 2}}]}


def test_unpack_gives_back_the_object_and_each_annotation_by_name() -> None:
    unpacked = package.unpack(package.pack(OBJECT, "prog_bpf", {"m": {"sample": {"a": 1}}},
                                           {"p": {"ifindex": 3, "flags": 2}}))
    assert unpacked == package.Package("prog_bpf", OBJECT, {"m": {"sample": {"a": 1}}},
                                       {"p": {"ifindex": 3, "flags": 2}})


def good_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(package.pack(OBJECT, "prog_bpf", {}, {}))
    return document


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d.pop("bpf_object"), r"not a package ecc wrote: KeyError"),
    (lambda d: d.update(bpf_object="not base64!"), r"not a package ecc wrote: .*Error"),
    (lambda d: d.update(bpf_object=base64.b64encode(b"raw").decode()),
     r"not a package ecc wrote: error"),
    (lambda d: d.update(bpf_object_size=3), r"has 1028 bytes; bpf_object_size says 3"),
    (lambda d: d["meta"]["bpf_skel"].update(maps=[{"sample": {}}]),
     r"meta.bpf_skel.maps is not a list of objects with a name"),
])
def test_a_document_that_is_not_a_package_is_refused_saying_why(
        change: Callable[[dict[str, Any]], object], problem: str) -> None:
    document = good_document()
    change(document)
    with pytest.raises(package.PackageError, match=problem):
        package.unpack(json.dumps(document))


def test_text_that_is_not_json_is_refused() -> None:
    with pytest.raises(package.PackageError, match="not a package ecc wrote: JSONDecodeError"):
        package.unpack("ELF")


# --- attach points ---------------------------------------------------------------

def test_a_tc_program_without_annotations_goes_where_ecli_puts_it() -> None:
    assert package.tc_attach({}) == package.TcAttach(ifindex=1, attach_point=1, handle=1,
                                                     priority=1)


def test_tchook_and_tcopts_say_the_interface_direction_handle_and_priority() -> None:
    notes: dict[str, object] = {"tchook": {"ifindex": 4, "attach_point": "BPF_TC_EGRESS"},
                                "tcopts": {"handle": 7, "priority": 3}}
    assert package.tc_attach(notes) == package.TcAttach(4, 2, 7, 3)


@pytest.mark.parametrize(("notes", "problem"), [
    ({"tchook": {"attach_point": "INGRESS"}}, r"attach_point \"INGRESS\" is not one of"),
    ({"tchook": {"ifindex": "lo"}}, r"@tchook: ifindex must be an integer \(i32\), not \"lo\""),
    ({"tcopts": {"handle": -1}}, r"@tcopts: handle must be an integer \(u32\), not -1"),
    ({"tchook": "ingress"}, r"@tchook wants a JSON object"),
])
def test_a_tc_annotation_ecli_would_not_read_is_refused(notes: dict[str, object],
                                                       problem: str) -> None:
    with pytest.raises(package.PackageError, match=problem):
        package.tc_attach(notes)


def test_an_xdp_program_takes_ifindex_flags_and_xdpopts_with_ecli_defaults() -> None:
    assert package.xdp_attach({}) == package.XdpAttach(ifindex=1, flags=0, old_prog_fd=0)
    assert package.xdp_attach({"ifindex": 2, "flags": 2, "xdpopts": {"old_prog_fd": 5}}) == \
        package.XdpAttach(2, 2, 5)


def test_an_xdp_ifindex_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(package.PackageError, match=r"@ifindex: ifindex must be an integer"):
        package.xdp_attach({"ifindex": "eth0"})

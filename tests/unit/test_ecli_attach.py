"""The option structs the lab's ecli hands libbpf for tc and XDP attachment
(lab.in_guest.ecli_attach) laid out as libbpf.h declares them on a 64-bit
guest: libbpf reads each field at its C offset, and `sz` tells it how much the
caller knows."""

from __future__ import annotations

import ctypes

import pytest

from lab.in_guest import ecli_attach as attaching


@pytest.mark.parametrize(("struct", "size", "offsets"), [
    # struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; size_t :0; }
    (attaching.TcHook, 24, {"sz": 0, "ifindex": 8, "attach_point": 12, "parent": 16}),
    # struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; ... }
    (attaching.TcOpts, 32, {"sz": 0, "prog_fd": 8, "flags": 12, "prog_id": 16, "handle": 20,
                            "priority": 24}),
    # struct bpf_xdp_attach_opts { size_t sz; int old_prog_fd; size_t :0; }
    (attaching.XdpAttachOpts, 16, {"sz": 0, "old_prog_fd": 8}),
])
def test_each_struct_has_libbpfs_size_and_field_offsets(struct: type[ctypes.Structure], size: int,
                                                        offsets: dict[str, int]) -> None:
    assert ctypes.sizeof(ctypes.c_size_t) == 8, "the layouts below are those of a 64-bit guest"
    assert ctypes.sizeof(struct) == size
    assert {name: getattr(struct, name).offset for name in offsets} == offsets

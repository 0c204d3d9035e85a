"""Attaching a loaded object's programs as ecli does (ctypes on libbpf.so.1).

ecli (bpf-loader-rs skeleton/preload/mod.rs) first lets libbpf attach each
program by its SEC() name; a program libbpf cannot attach by itself
(EOPNOTSUPP: SEC("tc"), SEC("xdp")) is attached by its section with what its
doc comment said (ecli_package.py):

- "tc": bpf_tc_hook_create (an existing clsact qdisc, EEXIST, is fine), then
  bpf_tc_attach with the handle and priority (EEXIST fine too); detached with
  bpf_tc_hook_destroy, which for one direction removes that direction's filters.
- "xdp": bpf_xdp_attach(ifindex, fd, flags, {old_prog_fd}); detached with
  bpf_xdp_detach(ifindex, flags, ...).

Standard library only: this runs in the guest next to ecli.py.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from collections.abc import Callable, Iterator

try:  # in the guest: next to this file
    import ecli_package as package
except ImportError:  # in the project
    from lab.in_guest import ecli_package as package


class AttachError(Exception):
    """A program that could not be attached; names it, its section and why."""


class TcHook(ctypes.Structure):
    """struct bpf_tc_hook (libbpf.h)."""

    _fields_ = [("sz", ctypes.c_size_t), ("ifindex", ctypes.c_int),
                ("attach_point", ctypes.c_int), ("parent", ctypes.c_uint32)]


class TcOpts(ctypes.Structure):
    """struct bpf_tc_opts (libbpf.h)."""

    _fields_ = [("sz", ctypes.c_size_t), ("prog_fd", ctypes.c_int), ("flags", ctypes.c_uint32),
                ("prog_id", ctypes.c_uint32), ("handle", ctypes.c_uint32),
                ("priority", ctypes.c_uint32)]


class XdpAttachOpts(ctypes.Structure):
    """struct bpf_xdp_attach_opts (libbpf.h)."""

    _fields_ = [("sz", ctypes.c_size_t), ("old_prog_fd", ctypes.c_int)]


def declare(lib: ctypes.CDLL) -> None:
    """The signatures of the libbpf functions used here."""
    vp, i, u32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32
    signatures: dict[str, tuple[list[type], type | None]] = {
        "bpf_program__attach": ([vp], vp),
        "bpf_program__fd": ([vp], i),
        "bpf_link__destroy": ([vp], i),
        "bpf_tc_hook_create": ([ctypes.POINTER(TcHook)], i),
        "bpf_tc_hook_destroy": ([ctypes.POINTER(TcHook)], i),
        "bpf_tc_attach": ([ctypes.POINTER(TcHook), ctypes.POINTER(TcOpts)], i),
        "bpf_xdp_attach": ([i, i, u32, ctypes.POINTER(XdpAttachOpts)], i),
        "bpf_xdp_detach": ([i, u32, ctypes.POINTER(XdpAttachOpts)], i),
        "libbpf_get_error": ([vp], ctypes.c_long),
    }
    for name, (argtypes, restype) in signatures.items():
        func = getattr(lib, name)
        func.argtypes, func.restype = argtypes, restype


Detach = Callable[[], None]


def attach(lib: ctypes.CDLL, prog: int, name: str, section: str,
           notes: dict[str, object]) -> tuple[Detach, str]:
    """Attach one loaded program; how to detach it, and what was done."""
    link = lib.bpf_program__attach(prog)
    err = failed(lib, link)
    if not err:
        return (lambda: lib.bpf_link__destroy(link)), f"attached {name} to {section}"
    if err != errno.EOPNOTSUPP:
        raise AttachError(f"cannot attach {name} (SEC {section!r}): {os.strerror(err)}")
    try:
        if section == "tc":
            return _attach_tc(lib, lib.bpf_program__fd(prog), package.tc_attach(notes))
        if section == "xdp":
            return _attach_xdp(lib, lib.bpf_program__fd(prog), package.xdp_attach(notes))
    except package.PackageError as error:
        raise AttachError(f"cannot attach {name} (SEC {section!r}): {error}") from error
    except AttachError as error:
        raise AttachError(f"cannot attach {name} (SEC {section!r}): {error}") from error
    raise AttachError(f"cannot attach {name}: libbpf cannot attach SEC {section!r} by itself, "
                      "and ecli attaches only tc and xdp programs by hand")


def _attach_tc(lib: ctypes.CDLL, prog_fd: int, where: package.TcAttach) -> tuple[Detach, str]:
    hook = TcHook(ctypes.sizeof(TcHook), where.ifindex, where.attach_point, 0)
    err = lib.bpf_tc_hook_create(ctypes.byref(hook))
    if err and err != -errno.EEXIST:
        raise AttachError(f"bpf_tc_hook_create on ifindex {where.ifindex}: {os.strerror(-err)}")
    opts = TcOpts(ctypes.sizeof(TcOpts), prog_fd, 0, 0, where.handle, where.priority)
    err = lib.bpf_tc_attach(ctypes.byref(hook), ctypes.byref(opts))
    if err and err != -errno.EEXIST:
        lib.bpf_tc_hook_destroy(ctypes.byref(hook))
        raise AttachError(f"bpf_tc_attach on ifindex {where.ifindex}: {os.strerror(-err)}")
    point = {v: k for k, v in package.TC_ATTACH_POINTS.items()}[where.attach_point]
    return (lambda: _checked(lib.bpf_tc_hook_destroy(ctypes.byref(hook)), "bpf_tc_hook_destroy")), \
        (f"attached tc to ifindex {where.ifindex} {point} (handle {where.handle}, "
         f"priority {where.priority})")


def _attach_xdp(lib: ctypes.CDLL, prog_fd: int, where: package.XdpAttach) -> tuple[Detach, str]:
    opts = XdpAttachOpts(ctypes.sizeof(XdpAttachOpts), where.old_prog_fd)
    err = lib.bpf_xdp_attach(where.ifindex, prog_fd, where.flags, ctypes.byref(opts))
    if err < 0:
        raise AttachError(f"bpf_xdp_attach on ifindex {where.ifindex}: {os.strerror(-err)}")
    return (lambda: _checked(lib.bpf_xdp_detach(where.ifindex, where.flags, ctypes.byref(opts)),
                             "bpf_xdp_detach")), \
        f"attached xdp to ifindex {where.ifindex} (flags {where.flags})"


def _checked(err: int, what: str) -> None:
    if err:
        print(f"ecli: {what} failed: {os.strerror(-err)}", file=sys.stderr, flush=True)


def failed(lib: ctypes.CDLL, pointer: int | None) -> int:
    """libbpf 1.x returns NULL and sets errno; older builds encode -errno in the pointer."""
    if not pointer:
        return ctypes.get_errno() or 1
    return -int(lib.libbpf_get_error(pointer))


def each(lib: ctypes.CDLL, next_function: str, obj: int) -> Iterator[int]:
    step = getattr(lib, next_function)
    item = step(obj, None)
    while item:
        yield item
        item = step(obj, item)

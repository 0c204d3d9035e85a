#!/usr/bin/python3
"""The lab's stand-in for the tutorials' `ecli run`, run inside the guest.

It does what ecli does with a libbpf object, through the guest's own libbpf
(ctypes on libbpf.so.1): open the object, load it (libbpf prints the verifier
log on stderr when the kernel refuses a program), auto-attach every program by
its SEC() name, print "Running eBPF program..." once every link exists (the
readiness signal the lab waits for), and keep the links until SIGINT/SIGTERM.

Standard library only: the guest root has python3 but not the lab package.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

READY_LINE = "Running eBPF program..."


def _libbpf() -> ctypes.CDLL:
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    signatures = {
        "bpf_object__open_file": ([cp, vp], vp),
        "bpf_object__load": ([vp], ctypes.c_int),
        "bpf_object__next_program": ([vp, vp], vp),
        "bpf_object__close": ([vp], None),
        "bpf_program__attach": ([vp], vp),
        "bpf_program__name": ([vp], cp),
        "bpf_program__section_name": ([vp], cp),
        "bpf_link__destroy": ([vp], ctypes.c_int),
        "libbpf_get_error": ([vp], ctypes.c_long),
    }
    for name, (argtypes, restype) in signatures.items():
        func = getattr(lib, name)
        func.argtypes, func.restype = argtypes, restype
    return lib


def _failed(lib: ctypes.CDLL, pointer: int | None) -> int:
    """libbpf 1.x returns NULL and sets errno; older builds encode -errno in the pointer."""
    if not pointer:
        return ctypes.get_errno() or 1
    return -int(lib.libbpf_get_error(pointer))


def _programs(lib: ctypes.CDLL, obj: int):
    prog = lib.bpf_object__next_program(obj, None)
    while prog:
        yield prog
        prog = lib.bpf_object__next_program(obj, prog)


def run(path: str) -> int:
    lib = _libbpf()
    obj = lib.bpf_object__open_file(path.encode(), None)
    err = _failed(lib, obj)
    if err:
        print(f"ecli: cannot open {path}: {os.strerror(err)}", file=sys.stderr)
        return 1
    if lib.bpf_object__load(obj) != 0:
        print(f"ecli: loading {path} failed (verifier log above)", file=sys.stderr)
        return 1
    links = []
    for prog in _programs(lib, obj):
        name = lib.bpf_program__name(prog).decode()
        section = lib.bpf_program__section_name(prog).decode()
        link = lib.bpf_program__attach(prog)
        err = _failed(lib, link)
        if err:
            print(f"ecli: cannot attach {name} (SEC {section!r}): {os.strerror(err)}",
                  file=sys.stderr)
            return 1
        print(f"attached {name} to {section}", flush=True)
        links.append(link)
    if not links:
        print(f"ecli: {path} has no program to attach", file=sys.stderr)
        return 1
    print(READY_LINE, flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    for link in links:
        lib.bpf_link__destroy(link)
    lib.bpf_object__close(obj)
    print("detached", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "run":
        print("usage: ecli run OBJECT.bpf.o", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    return run(argv[2])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

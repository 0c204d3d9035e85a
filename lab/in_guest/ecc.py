#!/usr/bin/python3
"""The lab's stand-in for the tutorials' `ecc prog.bpf.c [prog.h]`, run in the guest.

ecc compiles a libbpf program for ecli. Given the header that declares the
event struct, it keeps that struct in the object's BTF, where ecli finds it,
by appending one line per `struct NAME {` of the header
(eunomia-bpf compiler/cmd/src/export_types.rs, add_unused_ptr_for_structs):

    const volatile struct NAME * __eunomia_dummy_NAME_ptr  __attribute__((unused));

The stand-in does that and compiles with the guest's clang into
`prog.bpf.o` next to the source, which `ecli run prog.bpf.o` loads. It does
not write ecc's package.json: the lab's ecli reads the object itself.
vmlinux.h is taken from the source's directory, as the tutorials' builds
generate it there (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`).

Standard library only: the guest root has python3 but not the lab package.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

STRUCT = re.compile(r"struct\s+(\w+)\s*\{")  # ecc's REGEX_STRUCT_PATTERN
ARCH = {"x86_64": "x86", "aarch64": "arm64", "riscv64": "riscv", "s390x": "s390"}


def export_structs(header_text: str) -> list[str]:
    return STRUCT.findall(header_text)


def wrapper(source: str, structs: list[str]) -> str:
    """The translation unit clang compiles: the source, then ecc's markers."""
    lines = [f'#include "{source}"']
    lines += [f"const volatile struct {name} * __eunomia_dummy_{name}_ptr  "
              "__attribute__((unused));" for name in structs]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or not argv[1].endswith(".c"):
        print("usage: ecc SOURCE.bpf.c [EXPORT_HEADER.h]", file=sys.stderr)
        return 2
    source = os.path.abspath(argv[1])
    structs = []
    if len(argv) == 3:
        with open(argv[2]) as header:
            structs = export_structs(header.read())
    output = source[:-2] + ".o"
    machine = os.uname().machine
    command = ["clang", "-O2", "-g", "-target", "bpf",
               f"-D__TARGET_ARCH_{ARCH.get(machine, machine)}",
               "-I", os.path.dirname(source), "-I", ".",
               "-idirafter", f"/usr/include/{machine}-linux-gnu",
               "-x", "c", "-", "-c", "-o", output]
    print("Compiling bpf object...", flush=True)
    done = subprocess.run(command, input=wrapper(source, structs), text=True, check=False)
    if done.returncode != 0:
        print(f"ecc: clang exited {done.returncode}", file=sys.stderr)
        return 1
    exported = ", ".join(f"struct {name}" for name in structs) or "none"
    print(f"Generating export types... {exported}")
    print(f"wrote {os.path.relpath(output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

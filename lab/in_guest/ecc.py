#!/usr/bin/python3
"""The lab's stand-in for the tutorials' `ecc prog.bpf.c [prog.h]`, run in the guest.

ecc compiles a libbpf program for ecli. Given the header that declares the
event struct, it keeps that struct in the object's BTF, where ecli finds it,
by appending one line per `struct NAME {` of the header
(eunomia-bpf compiler/cmd/src/export_types.rs, add_unused_ptr_for_structs):

    const volatile struct NAME * __eunomia_dummy_NAME_ptr  __attribute__((unused));

The stand-in does that and compiles with the guest's clang into
`prog.bpf.o` next to the source, which `ecli run prog.bpf.o` loads. Like ecc,
it also packs the object into `package.json` beside it, with what the doc
comments of the source's maps and programs say (`/// @sample {...}`,
`/// @tchook {...}`, `/// @ifindex 1`; compiler/cmd/src/document_parser.rs),
for `ecli run package.json` (the layout is in ecli_package.py).
vmlinux.h is taken from the source's directory, as the tutorials' builds
generate it there (`bpftool btf dump file /sys/kernel/btf/vmlinux format c`).

How a doc comment becomes annotations (ecc reads clang's parsed comments):
a `///` line, a `//!` line or a `/** */` block just before a declaration;
in each paragraph (comment lines up to an empty one) `@NAME` starts a
command, and the text after it (trimmed, JSON if it parses as JSON, else the
string) is its value; text before any command is the `description`. The
declaration it belongs to: `struct { ... } NAME SEC(".maps")` is the map
NAME; a function, or a `BPF_PROG(NAME, ...)`-style macro, is the program
NAME; anything else is not a map or program and is left out.

Standard library only: the guest root has python3 but not the lab package.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

try:  # in the guest: ecli_package.py is installed next to this file
    import ecli_package
except ImportError:  # in the project
    from lab.in_guest import ecli_package

STRUCT = re.compile(r"struct\s+(\w+)\s*\{")  # ecc's REGEX_STRUCT_PATTERN
ARCH = {"x86_64": "x86", "aarch64": "arm64", "riscv64": "riscv", "s390x": "s390"}
PACKAGE = "package.json"
DOC_COMMENT = re.compile(r"((?:^[ \t]*//[/!](?!/)[^\n]*(?:\n|$))+)|/\*[*!](?!/)(.*?)\*/",
                         re.S | re.M)
COMMAND = re.compile(r"(?<![\w@\\])[@\\]([A-Za-z_]\w*)")
ATTRIBUTES = re.compile(r"\bSEC\s*\(\s*\"[^\"]*\"\s*\)|__attribute__\s*\(\(.*?\)\)", re.S)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
CALL = re.compile(r"([A-Za-z_]\w*)\s*\(\s*([A-Za-z_]\w*)?")
MACRO = re.compile(r"[A-Z_][A-Z0-9_]*")
MAP_SECTION = re.compile(r"\bSEC\s*\(\s*\"\.maps\"\s*\)")

Notes = dict[str, dict[str, object]]


def export_structs(header_text: str) -> list[str]:
    return STRUCT.findall(header_text)


def wrapper(source: str, structs: list[str]) -> str:
    """The translation unit clang compiles: the source, then ecc's markers."""
    lines = [f'#include "{source}"']
    lines += [f"const volatile struct {name} * __eunomia_dummy_{name}_ptr  "
              "__attribute__((unused));" for name in structs]
    return "\n".join(lines) + "\n"


def annotations(source_text: str) -> tuple[Notes, Notes]:
    """The annotations of the source's maps and of its programs, by name."""
    maps: Notes = {}
    progs: Notes = {}
    for comment in DOC_COMMENT.finditer(source_text):
        notes = comment_annotations(_comment_lines(comment))
        declared = declaration(source_text[comment.end():])
        if notes and declared:
            kind, name = declared
            (maps if kind == "map" else progs).setdefault(name, {}).update(notes)
    return maps, progs


def _comment_lines(comment: re.Match[str]) -> list[str]:
    if comment.group(1) is not None:
        return [line.strip()[3:] for line in comment.group(1).splitlines()]
    return [re.sub(r"^\s*\*?", "", line) for line in comment.group(2).splitlines()]


def comment_annotations(lines: list[str]) -> dict[str, object]:
    """`@NAME value` pairs of one doc comment, as ecc's process_comment_child."""
    notes: dict[str, object] = {}
    command = "description"
    for line in lines:
        if not line.strip():
            command = "description"  # a new paragraph
            continue
        parts = COMMAND.split(line)  # text, then (command, text) pairs
        for index, text in enumerate(parts):
            if index % 2:
                command = text
            elif text.strip():
                notes[command] = _value(text.strip())
    return notes


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text


def declaration(text: str) -> tuple[str, str] | None:
    """("map" or "prog", its name) of the declaration text starts with, or None."""
    text = text.lstrip()
    if re.match(r"struct\s*\{", text):
        close = _matching_brace(text, text.index("{"))
        tail = text[close + 1:].split(";", 1)[0] if close >= 0 else ""
        name = IDENTIFIER.search(tail)
        return ("map", name.group()) if name and MAP_SECTION.search(tail) else None
    head = ATTRIBUTES.sub(" ", re.split(r"[{;=]", text, maxsplit=1)[0])
    call = CALL.search(head)
    if call is None or call.group(1) == "struct":
        return None
    if MACRO.fullmatch(call.group(1)):  # BPF_PROG(name, ...), BPF_KPROBE(name, ...)
        return ("prog", call.group(2)) if call.group(2) else None
    return "prog", call.group(1)


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return -1


def object_name(object_path: str) -> str:
    """bpftool's name for the object: the file's name without .o, `.` as `_`."""
    name = os.path.basename(object_path)
    return re.sub(r"\W", "_", name[:-2] if name.endswith(".o") else name)


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
    if structs:
        print("Generating export types... " + ", ".join(f"struct {name}" for name in structs))
    with open(source) as source_file:
        maps, progs = annotations(source_file.read())
    with open(output, "rb") as compiled:
        package = ecli_package.pack(compiled.read(), object_name(output), maps, progs)
    package_path = os.path.join(os.path.dirname(source), PACKAGE)
    with open(package_path, "w") as written:
        written.write(package)
    print(f"Packing ebpf object and config into {os.path.relpath(package_path)}...")
    for name, notes in {**maps, **progs}.items():
        print(f"  {name}: " + ", ".join(f"@{key}" for key in notes))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

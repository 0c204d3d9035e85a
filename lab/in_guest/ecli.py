#!/usr/bin/python3
"""The lab's stand-in for the tutorials' `ecli run`, run inside the guest.

It does what ecli does with a libbpf object, through the guest's own libbpf
(ctypes on libbpf.so.1): open the object, set its globals from the command
line (`--pid_target 1234`), load it (libbpf prints the verifier log on stderr
when the kernel refuses a program), auto-attach every program by its SEC()
name, print "Running eBPF program..." once every link exists (the readiness
signal the lab waits for), and keep the links until SIGINT/SIGTERM.

A program that submits events to a BPF_MAP_TYPE_RINGBUF or a
BPF_MAP_TYPE_PERF_EVENT_ARRAY gets them printed as ecli prints them: a
header of the event struct's field names, then one row per event (what is
inferred from ecli, and from where, is in ecli_format.py, which does the
formatting and the option parsing and is shared with the unit tests).

Standard library only: the guest root has python3 but not the lab package.
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
from collections.abc import Iterator, Sequence

try:  # in the guest: ecli_format.py is installed next to this file
    import ecli_format as fmt
except ImportError:  # in the project
    from lab.in_guest import ecli_format as fmt

READY_LINE = "Running eBPF program..."
STOP = {signal.SIGINT, signal.SIGTERM}
POLL_MS = 100
PERF_PAGES = 64
BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4
BPF_MAP_TYPE_RINGBUF = 27
DATA_SECTIONS = fmt.OPTION_SECTIONS

RING_SAMPLE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
PERF_SAMPLE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                               ctypes.c_uint32)
PERF_LOST = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64)


class EcliError(Exception):
    """Why the program cannot run; printed as `ecli: ...`."""


def _libbpf() -> ctypes.CDLL:
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    vp, cp, i, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
    signatures = {
        "bpf_object__open_file": ([cp, vp], vp),
        "bpf_object__load": ([vp], i),
        "bpf_object__next_program": ([vp, vp], vp),
        "bpf_object__next_map": ([vp, vp], vp),
        "bpf_object__find_map_by_name": ([vp, cp], vp),
        "bpf_object__btf": ([vp], vp),
        "bpf_object__close": ([vp], None),
        "btf__raw_data": ([vp, ctypes.POINTER(ctypes.c_uint32)], vp),
        "bpf_map__initial_value": ([vp, ctypes.POINTER(sz)], vp),
        "bpf_map__name": ([vp], cp),
        "bpf_map__type": ([vp], i),
        "bpf_map__fd": ([vp], i),
        "bpf_map__btf_value_type_id": ([vp], ctypes.c_uint32),
        "bpf_program__attach": ([vp], vp),
        "bpf_program__name": ([vp], cp),
        "bpf_program__section_name": ([vp], cp),
        "bpf_link__destroy": ([vp], i),
        "ring_buffer__new": ([i, RING_SAMPLE, vp, vp], vp),
        "ring_buffer__poll": ([vp, i], i),
        "ring_buffer__free": ([vp], None),
        "perf_buffer__new": ([i, sz, PERF_SAMPLE, PERF_LOST, vp, vp], vp),
        "perf_buffer__poll": ([vp, i], i),
        "perf_buffer__free": ([vp], None),
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


def _each(lib: ctypes.CDLL, next_function: str, obj: int) -> Iterator[int]:
    step = getattr(lib, next_function)
    item = step(obj, None)
    while item:
        yield item
        item = step(obj, item)


def _btf(lib: ctypes.CDLL, obj: int) -> fmt.Btf | None:
    """The object's BTF as libbpf holds it after open (DATASEC offsets filled in)."""
    btf = lib.bpf_object__btf(obj)
    if not btf:
        return None
    size = ctypes.c_uint32()
    raw = lib.btf__raw_data(btf, ctypes.byref(size))
    return fmt.parse_btf(ctypes.string_at(raw, size.value))


def _set_globals(lib: ctypes.CDLL, obj: int,
                 settings: Sequence[tuple[fmt.Variable, bytes]]) -> None:
    """Write each option's bytes into its section's initial value, before load."""
    for variable, data in settings:
        section = lib.bpf_object__find_map_by_name(obj, variable.section.encode())
        size = ctypes.c_size_t()
        base = lib.bpf_map__initial_value(section, ctypes.byref(size)) if section else None
        if not base or variable.offset + len(data) > size.value:
            raise EcliError(f"cannot set --{variable.name}: no {variable.section} to write to")
        ctypes.memmove(base + variable.offset, data, len(data))
        print(f"set {variable.name} = {_shown(variable, data)}", flush=True)


def _shown(variable: fmt.Variable, data: bytes) -> str:
    if variable.kind == "string":
        return repr(data.rstrip(b"\0").decode())
    if variable.kind == "bool":
        return "true" if data != b"\0" else "false"
    return str(int.from_bytes(data, "little", signed=variable.signed))


def _export_map(lib: ctypes.CDLL, obj: int) -> int | None:
    """The ring buffer or perf event array the program submits events to."""
    maps = [m for m in _each(lib, "bpf_object__next_map", obj)
            if lib.bpf_map__type(m) in (BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY)]
    if len(maps) > 1:
        names = ", ".join(lib.bpf_map__name(m).decode() for m in maps)
        print(f"ecli: several event maps ({names}); printing the first", file=sys.stderr)
    return maps[0] if maps else None


class Poller:
    """Prints each event of one map as an ecli row."""

    def __init__(self, lib: ctypes.CDLL, event_map: int, event_format: fmt.EventFormat) -> None:
        self.lib, self.format = lib, event_format
        self.ring = lib.bpf_map__type(event_map) == BPF_MAP_TYPE_RINGBUF
        fd = lib.bpf_map__fd(event_map)
        self._callbacks: tuple[object, ...]  # kept alive as long as libbpf may call them
        if self.ring:
            self._callbacks = (RING_SAMPLE(self._ring_sample),)
            self.buffer = lib.ring_buffer__new(fd, self._callbacks[0], None, None)
        else:
            self._callbacks = (PERF_SAMPLE(self._perf_sample), PERF_LOST(self._perf_lost))
            self.buffer = lib.perf_buffer__new(fd, PERF_PAGES, *self._callbacks, None, None)
        err = _failed(lib, self.buffer)
        if err:
            kind = "ring buffer" if self.ring else "perf buffer"
            raise EcliError(f"cannot open the {kind}: {os.strerror(err)}")

    def poll(self, timeout_ms: int) -> None:
        poll = self.lib.ring_buffer__poll if self.ring else self.lib.perf_buffer__poll
        result = poll(self.buffer, timeout_ms)
        if result < 0 and result != -errno.EINTR:
            raise EcliError(f"polling failed: {os.strerror(-result)}")

    def free(self) -> None:
        (self.lib.ring_buffer__free if self.ring else self.lib.perf_buffer__free)(self.buffer)

    def _print(self, data: int, size: int) -> None:
        try:
            print(self.format.row(ctypes.string_at(data, size)), flush=True)
        except fmt.FormatError as error:
            print(f"ecli: event not printed: {error}", file=sys.stderr, flush=True)

    def _ring_sample(self, _ctx: int, data: int, size: int) -> int:
        self._print(data, size)
        return 0

    def _perf_sample(self, _ctx: int, _cpu: int, data: int, size: int) -> None:
        self._print(data, size)

    def _perf_lost(self, _ctx: int, cpu: int, count: int) -> None:
        print(f"ecli: lost {count} events on CPU #{cpu}", file=sys.stderr, flush=True)


def _event_format(lib: ctypes.CDLL, event_map: int, btf: fmt.Btf | None) -> fmt.EventFormat:
    if btf is None:
        raise EcliError("the object has no BTF: ecli cannot tell what its events hold")
    struct_id, how = fmt.event_struct(btf, lib.bpf_map__btf_value_type_id(event_map))
    event_format = fmt.EventFormat(btf, struct_id)
    name = lib.bpf_map__name(event_map).decode()
    print(f"events of {name}: struct {event_format.name} (from {how})", flush=True)
    return event_format


def _attach(lib: ctypes.CDLL, obj: int, path: str) -> list[int]:
    links = []
    for prog in _each(lib, "bpf_object__next_program", obj):
        name = lib.bpf_program__name(prog).decode()
        section = lib.bpf_program__section_name(prog).decode()
        link = lib.bpf_program__attach(prog)
        err = _failed(lib, link)
        if err:
            raise EcliError(f"cannot attach {name} (SEC {section!r}): {os.strerror(err)}")
        print(f"attached {name} to {section}", flush=True)
        links.append(link)
    if not links:
        raise EcliError(f"{path} has no program to attach")
    return links


def _wait(poller: Poller | None) -> None:
    """Until SIGINT or SIGTERM (blocked, so they wait to be taken here)."""
    if poller is None:
        signal.sigwait(STOP)
        return
    while not STOP & signal.sigpending():
        poller.poll(POLL_MS)
    poller.poll(0)  # what was submitted before the signal
    signal.sigwait(STOP)


def run(path: str, args: list[str]) -> int:
    lib = _libbpf()
    obj = lib.bpf_object__open_file(path.encode(), None)
    err = _failed(lib, obj)
    if err:
        print(f"ecli: cannot open {path}: {os.strerror(err)}", file=sys.stderr)
        return 1
    links: list[int] = []
    poller = None
    try:
        btf = _btf(lib, obj)
        variables = fmt.program_variables(btf) if btf else []
        if args and args[0] in ("-h", "--help"):
            print(fmt.usage(path, variables))
            return 0
        _set_globals(lib, obj, fmt.parse_options(args, variables))
        event_map = _export_map(lib, obj)
        event_format = _event_format(lib, event_map, btf) if event_map else None
        if lib.bpf_object__load(obj) != 0:
            raise EcliError(f"loading {path} failed (verifier log above)")
        links = _attach(lib, obj, path)
        if event_map and event_format:
            poller = Poller(lib, event_map, event_format)
        print(READY_LINE, flush=True)
        if event_format:
            print(event_format.header, flush=True)
        _wait(poller)
    except fmt.OptionError as error:
        print(f"ecli: {error}", file=sys.stderr)
        return 2
    except (EcliError, fmt.BtfError, fmt.FormatError) as error:
        print(f"ecli: {error}", file=sys.stderr)
        return 1
    finally:
        if poller:
            poller.free()
        for link in links:
            lib.bpf_link__destroy(link)
        lib.bpf_object__close(obj)
    print("detached", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "run":
        print("usage: ecli run OBJECT.bpf.o [--GLOBAL VALUE]...", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP)
    return run(argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

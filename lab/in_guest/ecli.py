#!/usr/bin/python3
"""The lab's stand-in for the tutorials' `ecli run`, run inside the guest.

It does what ecli does with a libbpf object, or with the package.json the
lab's ecc packs it in (ecli_package.py), through the guest's own libbpf
(ctypes on libbpf.so.1): open the object, set its globals from the command
line (`--pid_target 1234`), load it (libbpf prints the verifier log on stderr
when the kernel refuses a program), attach every program (by its SEC() name,
or a tc or XDP program where its annotations say: ecli_attach.py), print
"Running eBPF program..." once every program is attached (the readiness
signal the lab waits for), and keep them attached until SIGINT/SIGTERM.

A program that submits events to a BPF_MAP_TYPE_RINGBUF or a
BPF_MAP_TYPE_PERF_EVENT_ARRAY gets them printed as ecli prints them: a
header of the event struct's field names, then one row per event (what is
inferred from ecli, and from where, is in ecli_format.py, which does the
formatting and the option parsing and is shared with the unit tests). A map
annotated `/// @sample {"interval": 1000, "type": "log2_hist"}` is printed
entry by entry at that interval instead (ecli_sample.py).

Standard library only: the guest root has python3 but not the lab package.
"""
from __future__ import annotations

import ctypes
import errno
import os
import signal
import sys
import time
from collections.abc import Sequence

try:  # in the guest: the modules are installed next to this file
    import ecli_attach as attaching
    import ecli_format as fmt
    import ecli_package as package
    import ecli_sample as sampling
except ImportError:  # in the project
    from lab.in_guest import ecli_attach as attaching
    from lab.in_guest import ecli_format as fmt
    from lab.in_guest import ecli_package as package
    from lab.in_guest import ecli_sample as sampling

READY_LINE = "Running eBPF program..."
STOP = {signal.SIGINT, signal.SIGTERM}
POLL_MS = 100
PERF_PAGES = 64
BPF_MAP_TYPE_PERF_EVENT_ARRAY = 4
BPF_MAP_TYPE_RINGBUF = 27
PER_CPU_MAPS = {5: "PERCPU_HASH", 6: "PERCPU_ARRAY", 10: "LRU_PERCPU_HASH"}
DATA_SECTIONS = fmt.OPTION_SECTIONS

RING_SAMPLE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
PERF_SAMPLE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                               ctypes.c_uint32)
PERF_LOST = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64)


class EcliError(Exception):
    """Why the program cannot run; printed as `ecli: ...`."""


class ObjectOpenOpts(ctypes.Structure):
    """The head of struct bpf_object_open_opts (libbpf takes a shorter one)."""

    _fields_ = [("sz", ctypes.c_size_t), ("object_name", ctypes.c_char_p)]


def _libbpf() -> ctypes.CDLL:
    lib = ctypes.CDLL("libbpf.so.1", use_errno=True)
    vp, cp, i, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
    signatures = {
        "bpf_object__open_file": ([cp, vp], vp),
        "bpf_object__open_mem": ([vp, sz, ctypes.POINTER(ObjectOpenOpts)], vp),
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
        "bpf_map__btf_key_type_id": ([vp], ctypes.c_uint32),
        "bpf_map__key_size": ([vp], ctypes.c_uint32),
        "bpf_map__value_size": ([vp], ctypes.c_uint32),
        "bpf_map_get_next_key": ([i, vp, vp], i),
        "bpf_map_lookup_elem": ([i, vp, vp], i),
        "bpf_map_delete_elem": ([i, vp], i),
        "bpf_program__name": ([vp], cp),
        "bpf_program__section_name": ([vp], cp),
        "ring_buffer__new": ([i, RING_SAMPLE, vp, vp], vp),
        "ring_buffer__poll": ([vp, i], i),
        "ring_buffer__free": ([vp], None),
        "perf_buffer__new": ([i, sz, PERF_SAMPLE, PERF_LOST, vp, vp], vp),
        "perf_buffer__poll": ([vp, i], i),
        "perf_buffer__free": ([vp], None),
    }
    for name, (argtypes, restype) in signatures.items():
        func = getattr(lib, name)
        func.argtypes, func.restype = argtypes, restype
    attaching.declare(lib)
    return lib


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


def _export_map(lib: ctypes.CDLL, obj: int, sampled: Sequence[str]) -> int | None:
    """The map ecli prints: one annotated with @sample, a ring buffer or a perf
    event array (the first of several, as the stand-in warns)."""
    maps = [m for m in attaching.each(lib, "bpf_object__next_map", obj)
            if lib.bpf_map__name(m).decode() in sampled
            or lib.bpf_map__type(m) in (BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_PERF_EVENT_ARRAY)]
    if len(maps) > 1:
        names = ", ".join(lib.bpf_map__name(m).decode() for m in maps)
        print(f"ecli: several event maps ({names}); printing the first", file=sys.stderr)
    return maps[0] if maps else None


class Poller:
    """Prints each event of one ring buffer or perf event array as an ecli row."""

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
        err = attaching.failed(lib, self.buffer)
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


class SamplePoller:
    """Prints every entry of one map at the interval of its @sample annotation."""

    def __init__(self, lib: ctypes.CDLL, sample_map: int,
                 sample_format: sampling.SampleFormat) -> None:
        self.lib, self.format = lib, sample_format
        self.fd = lib.bpf_map__fd(sample_map)
        self.key = ctypes.create_string_buffer(lib.bpf_map__key_size(sample_map))
        self.next_key = ctypes.create_string_buffer(len(self.key))
        self.value = ctypes.create_string_buffer(lib.bpf_map__value_size(sample_map))
        self.due = time.monotonic()

    def start(self) -> None:
        if self.format.header is not None:
            print(self.format.header, flush=True)

    def poll(self, timeout_ms: int) -> None:
        """Print the entries when the interval is up; wait at most timeout_ms."""
        now = time.monotonic()
        if now >= self.due:
            for key, value in self._entries():
                try:
                    print(self.format.entry(key, value), end="", flush=True)
                except fmt.FormatError as error:
                    print(f"ecli: entry not printed: {error}", file=sys.stderr, flush=True)
            self.due = now + self.format.config.interval_ms / 1000
        time.sleep(max(0.0, min(timeout_ms / 1000, self.due - time.monotonic())))

    def free(self) -> None:
        if self.format.config.clear_map:
            for key, _value in list(self._entries()):
                self.lib.bpf_map_delete_elem(self.fd, key)

    def _entries(self) -> list[tuple[bytes, bytes]]:
        """Each (key, value) in the kernel's order; a key deleted meanwhile is skipped."""
        found = []
        previous = None
        while True:
            err = self.lib.bpf_map_get_next_key(self.fd, previous, self.next_key)
            if err:
                code = -err if err != -1 else ctypes.get_errno()  # libbpf 1.x: -errno
                if code != errno.ENOENT:
                    raise EcliError(f"bpf_map_get_next_key: {os.strerror(code)}")
                return found
            if self.lib.bpf_map_lookup_elem(self.fd, self.next_key, self.value) == 0:
                found.append((self.next_key.raw, self.value.raw))
            ctypes.memmove(self.key, self.next_key, len(self.key))
            previous = self.key


def _sample_format(lib: ctypes.CDLL, sample_map: int, btf: fmt.Btf | None,
                   annotation: object) -> sampling.SampleFormat:
    name = lib.bpf_map__name(sample_map).decode()
    if btf is None:
        raise EcliError(f"the object has no BTF: ecli cannot tell what map {name} holds")
    if lib.bpf_map__type(sample_map) in PER_CPU_MAPS:
        kind = PER_CPU_MAPS[lib.bpf_map__type(sample_map)]
        raise EcliError(f"map {name} is a {kind}: ecli samples one value per key, not one per CPU")
    key_type, value_type = lib.bpf_map__btf_key_type_id(sample_map), \
        lib.bpf_map__btf_value_type_id(sample_map)
    if not key_type or not value_type:
        raise EcliError(f"map {name} has no BTF key and value types (declare it with __type)")
    try:
        config = sampling.sample_config(annotation)
        sample_format = sampling.SampleFormat(btf, key_type, value_type, config)
    except sampling.SampleError as error:
        raise EcliError(f"map {name}: {error}") from error
    print(f"samples of {name}: {config.kind} every {config.interval_ms} ms, key "
          f"{_type_name(btf, key_type)}, value {_type_name(btf, value_type)}", flush=True)
    return sample_format


def _type_name(btf: fmt.Btf, type_id: int) -> str:
    resolved = btf[btf.resolve(type_id)]
    prefix = {fmt.STRUCT: "struct ", fmt.UNION: "union "}.get(resolved.kind, "")
    return prefix + (resolved.name or btf[type_id].name or "(anonymous)")


def _event_format(lib: ctypes.CDLL, event_map: int, btf: fmt.Btf | None) -> fmt.EventFormat:
    if btf is None:
        raise EcliError("the object has no BTF: ecli cannot tell what its events hold")
    struct_id, how = fmt.event_struct(btf, lib.bpf_map__btf_value_type_id(event_map))
    event_format = fmt.EventFormat(btf, struct_id)
    name = lib.bpf_map__name(event_map).decode()
    print(f"events of {name}: struct {event_format.name} (from {how})", flush=True)
    return event_format


def _attach(lib: ctypes.CDLL, obj: int, path: str,
            notes: dict[str, dict[str, object]]) -> list[attaching.Detach]:
    detaches = []
    for prog in attaching.each(lib, "bpf_object__next_program", obj):
        name = lib.bpf_program__name(prog).decode()
        section = lib.bpf_program__section_name(prog).decode()
        detach, done = attaching.attach(lib, prog, name, section, notes.get(name, {}))
        print(done, flush=True)
        detaches.append(detach)
    if not detaches:
        raise EcliError(f"{path} has no program to attach")
    return detaches


def _wait(poller: Poller | SamplePoller | None) -> None:
    """Until SIGINT or SIGTERM (blocked, so they wait to be taken here)."""
    if poller is None:
        signal.sigwait(STOP)
        return
    while not STOP & signal.sigpending():
        poller.poll(POLL_MS)
    if isinstance(poller, Poller):
        poller.poll(0)  # what was submitted before the signal
    signal.sigwait(STOP)


def _open(lib: ctypes.CDLL, path: str) -> tuple[int, package.Package | None, object]:
    """The opened object; the package it came in (None for an object file);
    and what must stay alive as long as the object (the unpacked bytes)."""
    if not path.endswith(".json"):
        obj = lib.bpf_object__open_file(path.encode(), None)
        err = attaching.failed(lib, obj)
        if err:
            raise EcliError(f"cannot open {path}: {os.strerror(err)}")
        return obj, None, None
    with open(path) as document:
        packed = package.unpack(document.read())
    data = ctypes.create_string_buffer(packed.object_bytes, len(packed.object_bytes))
    opts = ObjectOpenOpts(ctypes.sizeof(ObjectOpenOpts), packed.object_name.encode() or None)
    obj = lib.bpf_object__open_mem(data, len(packed.object_bytes), ctypes.byref(opts))
    err = attaching.failed(lib, obj)
    if err:
        raise EcliError(f"cannot open the object packed in {path}: {os.strerror(err)}")
    return obj, packed, data


def run(path: str, args: list[str]) -> int:
    lib = _libbpf()
    try:
        obj, packed, _kept = _open(lib, path)
    except (OSError, EcliError, package.PackageError) as error:
        print(f"ecli: {error}", file=sys.stderr)
        return 1
    maps_notes = packed.maps if packed else {}
    sampled = [name for name, notes in maps_notes.items() if "sample" in notes]
    detaches: list[attaching.Detach] = []
    poller: Poller | SamplePoller | None = None
    try:
        btf = _btf(lib, obj)
        variables = fmt.program_variables(btf) if btf else []
        if args and args[0] in ("-h", "--help"):
            print(fmt.usage(path, variables))
            return 0
        _set_globals(lib, obj, fmt.parse_options(args, variables))
        export_map = _export_map(lib, obj, sampled)
        export_name = lib.bpf_map__name(export_map).decode() if export_map else None
        sample_format = _sample_format(lib, export_map, btf, maps_notes[export_name]["sample"]) \
            if export_map and export_name in sampled else None
        event_format = _event_format(lib, export_map, btf) \
            if export_map and sample_format is None else None
        if lib.bpf_object__load(obj) != 0:
            raise EcliError(f"loading {path} failed (verifier log above)")
        detaches = _attach(lib, obj, path, packed.progs if packed else {})
        if export_map and event_format:
            poller = Poller(lib, export_map, event_format)
        elif export_map and sample_format:
            poller = SamplePoller(lib, export_map, sample_format)
        print(READY_LINE, flush=True)
        if event_format:
            print(event_format.header, flush=True)
        if isinstance(poller, SamplePoller):
            poller.start()
        _wait(poller)
    except fmt.OptionError as error:
        print(f"ecli: {error}", file=sys.stderr)
        return 2
    except (EcliError, attaching.AttachError, fmt.BtfError, fmt.FormatError) as error:
        print(f"ecli: {error}", file=sys.stderr)
        return 1
    finally:
        if poller:
            poller.free()
        for detach in detaches:
            detach()
        lib.bpf_object__close(obj)
    print("detached", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "run":
        print("usage: ecli run OBJECT.bpf.o|package.json [--GLOBAL VALUE]...", file=sys.stderr)
        return 2
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP)
    return run(argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))

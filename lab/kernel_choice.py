"""The kernel line a user names, on any command, checked once before it is used.

A line becomes a path (lab-output/runs/<line>, report/<line>.json), and
`Path(a) / b` with an absolute or `..` b escapes a: `lab run --kernel
../../victim` once emptied a directory before anything looked the line up.
So a user's text becomes a line only as the lock's own entry
(lab.cache.catalog.locked_line), here, before anything touches the disk: the
CLI's arguments through `KernelArgument` (argparse `type=`), the pytest
plugin's --kernel through `parse_kernels`, and a bare name given to KernelLab
through `choose_kernel`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence

from lab.arches import DEFAULT_ARCH, Arch
from lab.cache.catalog import KernelLine, LockedKernel, load_catalog, load_lock, locked_line
from lab.errors import LabError
from lab.settings import Settings

ALL = "all"


def choose_kernel(settings: Settings, text: str) -> LockedKernel:
    """The locked entry of the line named by text, or a LabError naming the known ones."""
    return locked_line(text, load_catalog(settings.catalog_file), load_lock(settings.lock_file))


def parse_kernels(values: Iterable[str], catalog: Mapping[str, KernelLine],
                  lock: Mapping[str, LockedKernel],
                  arches: Sequence[Arch] = (DEFAULT_ARCH,)) -> list[LockedKernel]:
    """--kernel values that may repeat and hold comma lists and `all` (every catalog
    line on these architectures: x86_64 unless a command says otherwise), in the
    order given, each once; every one is checked by locked_line."""
    every = [name for name, entry in catalog.items()
             if entry.arch in {arch.name for arch in arches}]
    names: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            wanted = every if name == ALL else [name] if name else []
            names += [n for n in wanted if n not in names]
    problems, kernels = [], []
    for name in names:
        try:
            kernels.append(locked_line(name, catalog, lock))
        except LabError as error:
            problems.append(str(error))
    if problems:
        raise LabError("; ".join(problems))
    return kernels


class KernelArgument:
    """argparse `type=` for a kernel line: the lock's entry, or argparse's usage
    error (`argument --kernel: no kernel line ...`). The catalog and the lock are
    read once per command, when the first line is parsed."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        self._settings = settings
        self._files: tuple[dict[str, KernelLine], dict[str, LockedKernel]] | None = None

    def __call__(self, text: str) -> LockedKernel:
        try:
            if self._files is None:
                settings = self._settings()
                self._files = (load_catalog(settings.catalog_file),
                               load_lock(settings.lock_file))
            return locked_line(text, *self._files)
        except LabError as error:
            raise argparse.ArgumentTypeError(str(error)) from error

    def __repr__(self) -> str:
        return "kernel line"

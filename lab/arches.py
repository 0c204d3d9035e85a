"""The guest architectures the lab boots, and the names of a kernel target.

A kernel line runs on each architecture the catalog lists. A target is one line
on one architecture, named as the lab's columns, run directories, tox
environments and scenario records name it: the line alone on x86_64 (`6.1`, the
name every existing record and command uses) and the line with the
architecture after a dash elsewhere (`6.1-arm64`). Each tool wants the
architecture under its own name, so one record holds them all.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass

from lab.errors import LabError


@dataclass(frozen=True)
class Arch:
    """One architecture under each of its names."""

    name: str  # the lab's: targets, reports, `--arch`
    debian: str  # package names, mmdebstrap's and vng's --arch
    machine: str  # uname -m, as platform.machine() says it
    qemu: str  # the emulator virtme-ng runs
    virtio: str  # QEMU's virtio device suffix: PCI on x86_64, MMIO on the arm64 virt board
    console: str  # the serial console the kernel writes to

    def device(self, kind: str) -> str:
        """QEMU's virtio device of this kind (`9p`, `blk`) for this machine."""
        return f"virtio-{kind}-{self.virtio}"


X86_64 = Arch("x86_64", "amd64", "x86_64", "qemu-system-x86_64", "pci", "ttyS0")
ARM64 = Arch("arm64", "arm64", "aarch64", "qemu-system-aarch64", "device", "ttyAMA0")
ARCHES = {arch.name: arch for arch in (X86_64, ARM64)}
DEFAULT_ARCH = X86_64


def arch_named(name: str) -> Arch:
    """The architecture a user or a file named, or a LabError listing the known ones."""
    if name not in ARCHES:
        raise LabError(f"no architecture {name!r} (known: {', '.join(ARCHES)})")
    return ARCHES[name]


def arches_named(values: list[str]) -> list[Arch]:
    """`--arch` values, repeated or comma-separated, each once; x86_64 when none."""
    names = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return [arch_named(name) for name in dict.fromkeys(names)] or [DEFAULT_ARCH]


def target_name(line: str, arch: Arch) -> str:
    """`6.1` on x86_64, `6.1-arm64` elsewhere."""
    return line if arch == DEFAULT_ARCH else f"{line}-{arch.name}"


def split_target(target: str) -> tuple[str, Arch]:
    """The line and the architecture of a target's name (the inverse of target_name)."""
    for arch in ARCHES.values():
        suffix = f"-{arch.name}"
        if arch != DEFAULT_ARCH and target.endswith(suffix):
            return target.removesuffix(suffix), arch
    return target, DEFAULT_ARCH


def host_arch() -> Arch | None:
    """The architecture this machine runs natively (KVM is possible only there)."""
    machine = platform.machine()
    return next((arch for arch in ARCHES.values() if arch.machine == machine), None)


def foreign(arch: Arch) -> bool:
    """Whether a guest of arch is emulated here: no KVM, and virtme-ng needs
    `--arch` and a busybox of the guest's own."""
    return arch != host_arch()

"""The virtme-ng command line for one guest, built as data so it is testable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

GUEST_WORK_DIR = "/lab"


@dataclass(frozen=True)
class GuestSpec:
    """Everything that decides how a guest boots."""

    image: Path
    modules: Path
    release: str
    rootfs: Path
    work_dir: Path
    accel: str  # "kvm" or "tcg"
    cpus: int = 2
    memory: str = "2G"
    extra_append: tuple[str, ...] = field(default=())


def vng_command(spec: GuestSpec) -> list[str]:
    """vng argv: the lab root, 9p shares, the kernel's modules over /lib/modules.

    virtme-ng itself adds panic=-1 and QEMU -no-reboot, so a panic ends the VM.
    """
    command = [
        "vng",
        "--run", str(spec.image),
        "--root", str(spec.rootfs),
        "--force-9p",
        "--cpus", str(spec.cpus),
        "--memory", spec.memory,
        "--rodir", f"/usr/lib/modules/{spec.release}={spec.modules}",
        "--rwdir", f"{GUEST_WORK_DIR}={spec.work_dir}",
    ]
    if spec.accel == "tcg":
        command.append("--disable-kvm")
    for arg in spec.extra_append:
        command += ["--append", arg]
    return command

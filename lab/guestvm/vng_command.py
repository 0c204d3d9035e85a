"""The virtme-ng command line for one guest, built as data so it is testable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.cache import root_image

GUEST_WORK_DIR = "/lab"
# Read-only inside the read-write share: the lab's tools and the tutorials'
# sources. QEMU enforces read-only on the export, so the host may write there.
GUEST_RO_DIR = f"{GUEST_WORK_DIR}/ro"
# A panic must end the VM, never reboot it or hang it: virtme-ng adds these
# only for --exec scripts, and the lab drives an interactive shell.
PANIC_APPEND = ("panic=-1",)
# Boot time under emulation. The crypto self-tests run every cipher at boot
# (0.7 s of a 6.1 boot under TCG, and the module requests they cause); the
# tutorials use no kernel crypto, and the tests check QEMU's CPU, not the kernel.
FAST_BOOT_APPEND = ("cryptomgr.notests=1",)
QEMU_OPTS = ("-no-reboot",)


@dataclass(frozen=True)
class GuestSpec:
    """Everything that decides how a guest boots."""

    image: Path
    modules: Path
    release: str
    rootfs: Path
    work_dir: Path  # shared read-write at /lab: the guest writes its logs there
    accel: str  # "kvm" or "tcg"
    ro_dir: Path | None = None  # shared read-only at /lab/ro: tools and sources
    # the root as a squashfs disk (lab.cache.root_image); None: rootfs over 9p
    root_image: Path | None = None
    cpus: int = 2
    memory: str = "2G"
    extra_append: tuple[str, ...] = field(default=())


def vng_command(spec: GuestSpec, extra: Sequence[str] = ()) -> list[str]:
    """vng argv: the lab root, 9p shares, the kernel's modules over /lib/modules.

    `extra` (e.g. --exec for the benchmark's bare run) goes at the end.
    --force-9p: the shares are 9p either way; without it virtme-ng first tries
    virtiofsd for each of them (3 s each where virtiofsd cannot run).
    """
    if spec.root_image is not None:
        root = ["--root-disk", str(spec.root_image), "--root-fstype", root_image.FSTYPE]
    else:
        root = ["--root", str(spec.rootfs)]
    command = [
        "vng",
        "--run", str(spec.image),
        *root,
        "--force-9p",
        "--cpus", str(spec.cpus),
        "--memory", spec.memory,
        "--rodir", f"/usr/lib/modules/{spec.release}={spec.modules}",
        "--rwdir", f"{GUEST_WORK_DIR}={spec.work_dir}",
    ]
    if spec.ro_dir is not None:
        command += ["--rodir", f"{GUEST_RO_DIR}={spec.ro_dir}"]
    if spec.accel == "tcg":
        command.append("--disable-kvm")
    for arg in (*PANIC_APPEND, *FAST_BOOT_APPEND, *spec.extra_append):
        command += ["--append", arg]
    # `=`: argparse would take a lone "-no-reboot" for an option of vng's own
    return [*command, *(f"--qemu-opts={opt}" for opt in QEMU_OPTS), *extra]

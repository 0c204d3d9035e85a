"""The virtme-ng command line for one guest, built as data so it is testable."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.arches import DEFAULT_ARCH, Arch, foreign
from lab.cache import root_image
from lab.errors import LabError
from lab.settings import DEFAULT_SHARE_LIMIT

GUEST_WORK_DIR = "/lab"
# Read-only inside the read-write share: the lab's tools and the tutorials'
# sources. QEMU enforces read-only on the export, so the host may write there.
RO_MOUNT_POINT = "ro"
GUEST_RO_DIR = f"{GUEST_WORK_DIR}/{RO_MOUNT_POINT}"
# The lab exports /lab itself instead of with vng's --rwdir, which exports every
# share with security_model=none: a root guest's `chmod 4755` and `mknod` then
# land on the host as root-owned setuid files and device nodes. With mapped-file
# QEMU keeps the guest's owners, modes, links and device numbers as metadata (in
# .virtfs_metadata, which the guest cannot see) and the host sees plain files
# and directories, root's, 0600 and 0700. Not mapped-xattr: it needs user
# xattrs on the share, which tmpfs (the share's bound, lab.guestvm.share_mount)
# has only since Linux 6.6, and Debian 12 runs 6.1.
SHARE_SECURITY_MODEL = "mapped-file"
# virtme-ng's init mounts each virtme_initmount<N> in kernel command-line order,
# from the 9p tag virtme.initmount<N>; vng numbers its own shares (the modules)
# from 0. /lab comes before /lab/ro, which is mounted inside it.
SHARE_MOUNT_INDEX, RO_MOUNT_INDEX = 10, 11
# vng passes --qemu-opts through a shell, and QEMU splits its options at commas:
# a path with anything else would be split or interpreted.
PLAIN_PATH = re.compile(r"/[A-Za-z0-9_./+@%:=-]*")
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
    # bytes the guest may write into work_dir (lab.guestvm.share_mount); 0: no bound
    share_limit: int = DEFAULT_SHARE_LIMIT
    cpus: int = 2
    memory: str = "2G"
    extra_append: tuple[str, ...] = field(default=())
    arch: Arch = DEFAULT_ARCH
    # a busybox of the guest's architecture, for virtme-ng's initramfs when the guest's
    # is not the host's (the host's busybox cannot run there); None: the host's
    busybox: Path | None = None


def vng_command(spec: GuestSpec, extra: Sequence[str] = ()) -> list[str]:
    """vng argv: the lab root, 9p shares, the kernel's modules over /lib/modules.

    `extra` (e.g. --dry-run) goes at the end.
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
    ]
    if foreign(spec.arch):
        command += ["--arch", spec.arch.debian]  # vng names them as Debian does
    if spec.busybox is not None:
        command += ["--busybox", str(spec.busybox)]
    qemu, append = share_export("labshare", SHARE_MOUNT_INDEX, GUEST_WORK_DIR, spec.work_dir,
                                readonly=False, arch=spec.arch)
    if spec.ro_dir is not None:
        ro_qemu, ro_append = share_export("labro", RO_MOUNT_INDEX, GUEST_RO_DIR, spec.ro_dir,
                                          readonly=True, arch=spec.arch)
        qemu, append = qemu + ro_qemu, append + ro_append
    if spec.accel == "tcg":
        command.append("--disable-kvm")
    for arg in (*PANIC_APPEND, *FAST_BOOT_APPEND, *append, *spec.extra_append):
        command += ["--append", arg]
    # `=`: argparse would take a lone "-no-reboot" for an option of vng's own
    return [*command, *(f"--qemu-opts={opt}" for opt in (*QEMU_OPTS, *qemu)), *extra]


def share_export(name: str, index: int, guest_path: str, host_path: Path, *,
                 readonly: bool, arch: Arch = DEFAULT_ARCH) -> tuple[list[str], list[str]]:
    """QEMU options exporting host_path over 9p, and the kernel arguments that make
    virtme-ng's init mount it at guest_path (what vng's --rwdir/--rodir would add).
    The read-write share uses the mapped security model; the read-only one holds
    only what the host wrote, so the guest sees it as it is (none)."""
    path = str(host_path)
    if not PLAIN_PATH.fullmatch(path):
        raise LabError(f"cannot share {path} with the guest: its path may hold only letters, "
                       "digits and _ . / + @ % : = - (set LAB_OUTPUT_DIR to such a directory)")
    model = "none,readonly=on" if readonly else SHARE_SECURITY_MODEL
    tag = f"virtme.initmount{index}"
    qemu = ["-fsdev", f"local,id={name},path={path},security_model={model}",
            "-device", f"{arch.device('9p')},fsdev={name},mount_tag={tag}"]
    key = f"virtme_initmount{index}"
    append = [f"{key}={guest_path}", f"{key}_fstype=9p",
              f"{key}_access={'ro' if readonly else 'rw'}"]
    return qemu, append

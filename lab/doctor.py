"""Check the host for what the lab runs, and install it when we may.

As root it installs the missing Debian packages with apt-get; otherwise it
prints the exact command and stops, so nobody is surprised by a sudo prompt.
`--tests` checks what the unit tests run instead (tox's unit env calls it first),
so `pip install tox && tox` works on a fresh Debian root with nothing else.

Run as `lab doctor [--install]`, or `python -m lab.doctor [--install] [--tests]`
(what tox's unit env runs).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError

LAB = "lab"
TESTS = "tests"


@dataclass(frozen=True)
class Requirement:
    """One Debian package: why it is needed, by whom, and how to see it is there."""

    package: str
    why: str
    present: Callable[[], bool]
    needed_by: frozenset[str] = frozenset({LAB})
    commands: tuple[str, ...] = ()


def _tool(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None or os.path.exists(f"/usr/sbin/{name}")


def _package(name: str) -> Callable[[], bool]:
    def installed() -> bool:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name],
                              capture_output=True, text=True, check=False)
        return done.returncode == 0 and "install ok installed" in done.stdout
    return installed


def _commands(package: str, why: str, *commands: str,
              needed_by: frozenset[str] = frozenset({LAB})) -> Requirement:
    """A package that provides commands; present when the first one is on PATH."""
    return Requirement(package, why, _tool(commands[0]), needed_by, commands)


BOTH = frozenset({LAB, TESTS})
ONLY_TESTS = frozenset({TESTS})
# what guests of an architecture need (the lab's names, lab.arches), and what they
# need besides on a host of another architecture
X86_GUESTS, ARM64_GUESTS, FOREIGN_ARM64 = "guest:x86_64", "guest:arm64", "foreign:arm64"
# qemu-user-static registers this with binfmt_misc; mmdebstrap runs the arm64 root's
# maintainer scripts through it
AARCH64_BINFMT = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")

REQUIREMENTS = (
    _commands("qemu-system-x86", "QEMU, which virtme-ng drives", "qemu-system-x86_64",
              needed_by=frozenset({X86_GUESTS})),
    Requirement("busybox-static", "virtme-ng builds its initramfs with a static busybox",
                _package("busybox-static")),
    _commands("kmod", "depmod, for the kernel's modules.dep", "depmod", needed_by=BOTH),
    _commands("mmdebstrap", "builds the guest root filesystem", "mmdebstrap"),
    _commands("util-linux", "unshare runs mmdebstrap in a mount namespace of its own",
              "unshare", needed_by=BOTH),
    _commands("mount", "umount unmounts what a killed build of the guest root left mounted",
              "umount", "mount", needed_by=BOTH),
    _commands("gpgv", "verifies the archive's InRelease signature", "gpgv", needed_by=BOTH),
    Requirement("debian-archive-keyring", "the keys InRelease is checked against",
                lambda: os.path.exists("/usr/share/keyrings/debian-archive-keyring.gpg")),
    _commands("file", "virtme-ng reads the kernel version with file(1)", "file"),
    _commands("binutils", "virtme-ng reads an uncompressed kernel's version with strings(1)",
              "strings"),
    _commands("squashfs-tools", "the guest root is booted as a squashfs image (mksquashfs)",
              "mksquashfs", "unsquashfs", needed_by=BOTH),
    _commands("zstd", "the lab decompresses 6.12 and 7.x kernels once, so guests boot "
              "without decompressing them", "zstd", needed_by=BOTH),
    _commands("dpkg", "dpkg-deb unpacks kernel packages", "dpkg-deb", needed_by=BOTH),
    _commands("gpg", "the unit tests sign a throwaway archive with gpg", "gpg",
              needed_by=ONLY_TESTS),
    _commands("gpg-agent", "gpg keeps the unit tests' secret keys in gpg-agent", "gpg-agent",
              needed_by=ONLY_TESTS),
    _commands("gpgconf", "the unit tests stop their gpg-agent with gpgconf", "gpgconf",
              needed_by=ONLY_TESTS),
    _commands("git", "the unit tests diff a throwaway repository (lab ci plan --changed-since)",
              "git", needed_by=ONLY_TESTS),
    _commands("qemu-system-arm", "QEMU for arm64 guests, which virtme-ng drives",
              "qemu-system-aarch64", needed_by=frozenset({ARM64_GUESTS})),
    Requirement("qemu-user-static", "mmdebstrap runs the arm64 guest root's package scripts "
                "through qemu-aarch64", _package("qemu-user-static"),
                frozenset({FOREIGN_ARM64})),
    _commands("binfmt-support", "update-binfmts turns qemu-aarch64 on in binfmt_misc",
              "update-binfmts", needed_by=frozenset({FOREIGN_ARM64})),
)


def requirements(tests: bool = False, arches: Sequence[str] = ()) -> tuple[Requirement, ...]:
    """What the lab needs to run guests of these architectures (x86_64 when none is
    named), or (tests=True) what `pytest tests/unit` runs."""
    purposes = {TESTS} if tests else {LAB, *_guest_purposes(arches or ["x86_64"])}
    return tuple(r for r in REQUIREMENTS if purposes & r.needed_by)


def _guest_purposes(arches: Sequence[str]) -> set[str]:
    found = {f"guest:{arch}" for arch in arches}
    return found | {f"foreign:{arch}" for arch in arches if _foreign(arch)}


def _foreign(arch: str) -> bool:
    """Whether guests of arch (the lab's name) are emulated here: arm64 off arm64."""
    return arch == "arm64" and platform.machine() != "aarch64"


def missing(wanted: Sequence[Requirement] | None = None) -> list[Requirement]:
    return [r for r in (requirements() if wanted is None else wanted) if not r.present()]


def install_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def manual_install_hint(packages: list[str]) -> str:
    """The exact commands a non-root user runs (apt-get update first: a fresh
    container has no package lists)."""
    return "sudo apt-get update && sudo " + " ".join(install_command(packages))


def doctor(install: bool, tests: bool = False, arches: Sequence[str] = ()) -> None:
    """Report every requirement; install the missing ones as root with --install.
    Nothing missing means no apt at all (no network, no root needed). For arm64
    guests on another host, qemu-aarch64 must also be on in binfmt_misc."""
    wanted = requirements(tests, arches)
    absent = missing(wanted)
    for requirement in wanted:
        state = "missing" if requirement in absent else "ok"
        print(f"  {state:<8} {requirement.package:<24} {requirement.why}", file=sys.stderr)
    if absent:
        packages = [r.package for r in absent]
        if not install or os.geteuid() != 0:
            raise LabError("missing host packages; install them with:\n  "
                           + manual_install_hint(packages))
        _apt_install(packages)
        still = missing(wanted)
        if still:
            raise LabError(f"still missing after install: "
                           f"{', '.join(r.package for r in still)}")
    if any(_foreign(arch) for arch in arches):
        _aarch64_binfmt(install)


def _aarch64_binfmt(install: bool) -> None:
    """qemu-aarch64 registered and enabled in binfmt_misc (mounted first if it is not:
    a container's /proc often lacks it), or a LabError with the commands."""
    state = "ok" if _binfmt_enabled() else "missing"
    print(f"  {state:<8} {'binfmt qemu-aarch64':<24} runs arm64 programs while the arm64 "
          "guest root is built", file=sys.stderr)
    if state == "ok":
        return
    mount = ["mount", "-t", "binfmt_misc", "binfmt_misc", str(AARCH64_BINFMT.parent)]
    enable = ["update-binfmts", "--enable", "qemu-aarch64"]
    mounted = (AARCH64_BINFMT.parent / "register").exists()
    commands = [enable] if mounted else [mount, enable]
    if not install or os.geteuid() != 0:
        raise LabError("qemu-aarch64 is not enabled in binfmt_misc; as root:\n  "
                       + " && ".join(" ".join(command) for command in commands))
    for command in commands:
        done = subprocess.run(command, check=False)
        if done.returncode != 0:
            raise LabError(f"`{' '.join(command)}` failed (exit {done.returncode})")
    if not _binfmt_enabled():
        raise LabError(f"{AARCH64_BINFMT} is still not enabled after "
                       + " && ".join(" ".join(command) for command in commands))


def _binfmt_enabled() -> bool:
    try:
        return AARCH64_BINFMT.read_text().splitlines()[0] == "enabled"
    except (OSError, IndexError):
        return False


def _apt_install(packages: list[str]) -> None:
    print(f"installing {' '.join(packages)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], install_command(packages)):
        done = subprocess.run(command, env=env, check=False)
        if done.returncode != 0:
            raise LabError(f"`{' '.join(command)}` failed (exit {done.returncode}); "
                           "see apt's messages above")


def main(argv: list[str] | None = None) -> int:
    """`python -m lab.doctor [--install] [--tests]`: the doctor without the lab CLI."""
    parser = argparse.ArgumentParser(prog="python -m lab.doctor", description=__doc__)
    parser.add_argument("--install", action="store_true", help="apt-get install what is missing")
    parser.add_argument("--tests", action="store_true",
                        help="check what the unit tests need instead of what the lab needs")
    parser.add_argument("--arch", action="append", default=[],
                        help="also what guests of this architecture need (arm64)")
    args = parser.parse_args(argv)
    try:
        doctor(args.install, tests=args.tests, arches=args.arch)
    except LabError as error:
        print(f"lab doctor: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

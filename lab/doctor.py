"""Check the host for what the lab runs, and install it when we may.

As root it installs the missing Debian packages with apt-get; otherwise it
prints the exact command and stops, so nobody is surprised by a sudo prompt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from lab.errors import LabError


@dataclass(frozen=True)
class Requirement:
    package: str
    why: str
    present: Callable[[], bool]


def _tool(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None or os.path.exists(f"/usr/sbin/{name}")


def _package(name: str) -> Callable[[], bool]:
    def installed() -> bool:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name],
                              capture_output=True, text=True, check=False)
        return done.returncode == 0 and "install ok installed" in done.stdout
    return installed


REQUIREMENTS = (
    Requirement("qemu-system-x86", "QEMU, which virtme-ng drives", _tool("qemu-system-x86_64")),
    Requirement("busybox-static", "virtme-ng builds its initramfs with a static busybox",
                _package("busybox-static")),
    Requirement("kmod", "depmod, for the kernel's modules.dep", _tool("depmod")),
    Requirement("mmdebstrap", "builds the guest root filesystem", _tool("mmdebstrap")),
    Requirement("gpgv", "verifies the archive's InRelease signature", _tool("gpgv")),
    Requirement("debian-archive-keyring", "the keys InRelease is checked against",
                lambda: os.path.exists("/usr/share/keyrings/debian-archive-keyring.gpg")),
    Requirement("file", "virtme-ng reads the kernel version with file(1)", _tool("file")),
    Requirement("dpkg", "dpkg-deb unpacks kernel packages", _tool("dpkg-deb")),
)


def missing() -> list[Requirement]:
    return [r for r in REQUIREMENTS if not r.present()]


def install_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def doctor(install: bool) -> None:
    absent = missing()
    for requirement in REQUIREMENTS:
        state = "missing" if requirement in absent else "ok"
        print(f"  {state:<8} {requirement.package:<24} {requirement.why}", file=sys.stderr)
    if not absent:
        return
    packages = [r.package for r in absent]
    command = install_command(packages)
    if not install or os.geteuid() != 0:
        raise LabError("missing host packages; install them with:\n  sudo apt-get update && sudo "
                       + " ".join(command))
    print(f"installing {' '.join(packages)}", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(command, check=True, env=env)
    still = missing()
    if still:
        raise LabError(f"still missing after install: {', '.join(r.package for r in still)}")

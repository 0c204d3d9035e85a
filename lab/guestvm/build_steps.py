"""A scenario's build as shell steps: the same commands whether the scenario
builds on its own turn or the lab builds it ahead (lab.guestvm.prebuild), so a
stored build is the same whichever made it.

Whatever ran in the guest before (earlier cells run as root in the console's
shell) must not reach into a build: each step runs in a clean environment
(nothing an earlier cell exported: PATH, ARCH, CC, BASH_ENV, a function named
clang), with the lab's tools taken from the read-only share, whose bytes the key
names, not from the guest's writable copy; vmlinux.h is this boot's, dumped
fresh the first time a build wants it. What such steps cannot rule out, the
build's seal checks (lab.guestvm.build_seal).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from lab.guestvm.vng_command import GUEST_RO_DIR
from lab.scenario import Scenario

# The running kernel's vmlinux.h, made once per boot (bpftool: 1.6 s under
# emulation, each time a tutorial's build ran it).
GUEST_VMLINUX_H = "/tmp/lab-kernel/vmlinux.h"
GUEST_BTF = "/sys/kernel/btf/vmlinux"
# Where a build finds the lab's tools (ecc, ecli): the read-only share.
BUILD_TOOLS = f"{GUEST_RO_DIR}/bin"
# Everything a build's environment holds: what the console's shell has at boot
# that a build can see (no locale: compilers' messages as the console shows
# them), the lab's tools first on PATH.
# LAB_TARGET_ARCH: the kernel's name of the guest's architecture (x86, arm64), as
# -D__TARGET_ARCH_ and the tutorials' Makefiles want it, worked out as those
# Makefiles do (the console's shell expands it): a build command written for
# every architecture says -D__TARGET_ARCH_$LAB_TARGET_ARCH.
TARGET_ARCH = '"LAB_TARGET_ARCH=$(uname -m | sed -e s/x86_64/x86/ -e s/aarch64/arm64/)"'
BUILD_ENV = ("HOME=/root", f"PATH={BUILD_TOOLS}:/sbin:/usr/sbin:/bin:/usr/bin:/usr/local/bin",
             TARGET_ARCH)
STEP_TIMEOUT_S = 600.0  # what one build command may take


@dataclass(frozen=True)
class BuildStep:
    what: str  # how a failure names the step
    command: str


def build_steps(scenario: Scenario) -> list[BuildStep]:
    """vmlinux.h where the scenario wants it (if it does), then its build commands."""
    steps = []
    if scenario.vmlinux_h is not None:
        steps.append(BuildStep(f"vmlinux.h for {scenario.vmlinux_h}",
                               vmlinux_h_command(scenario.vmlinux_h)))
    return steps + [BuildStep(f"`{command}`", command) for command in scenario.build]


def clean_bash(arguments: str) -> str:
    """A command line running bash with arguments, with BUILD_ENV and nothing else
    (env by its path: the console's PATH is whatever an earlier cell left)."""
    return f"/usr/bin/env -i {' '.join(BUILD_ENV)} /bin/bash {arguments}"


def in_clean_env(script: str) -> str:
    """A command line running script in clean_bash."""
    return clean_bash(f"-c {shlex.quote(script)}")


def step_command(step: BuildStep, log: str) -> str:
    """One build step as a command line, its output appended to log."""
    return f"{in_clean_env('umask 022; ' + step.command)} >> {log} 2>&1"


def dump_vmlinux_h_command() -> str:
    """Dump the running kernel's BTF as C to GUEST_VMLINUX_H, replacing whatever is
    there (an earlier cell may have left a file), and print its sha256
    (lab.guestvm.build_seal.Boot keeps it)."""
    made = GUEST_VMLINUX_H
    return in_clean_env(f"rm -f {made} {made}.part && mkdir -p {made.rsplit('/', 1)[0]} && "
                        f"bpftool btf dump file {GUEST_BTF} format c > {made}.part && "
                        f"mv {made}.part {made} && sha256sum < {made}")


def vmlinux_h_command(destination: str) -> str:
    """Copy the boot's vmlinux.h to destination (the seal checks the copy)."""
    return (f"mkdir -p -- \"$(dirname -- {shlex.quote(destination)})\" && "
            f"cp -- {GUEST_VMLINUX_H} {shlex.quote(destination)}")

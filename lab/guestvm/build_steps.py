"""A scenario's build as shell steps: the same commands whether the scenario
builds on its own turn or the lab builds it ahead (lab.guestvm.prebuild), so a
stored build is the same whichever made it."""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from lab.cache.build_cache import BuildCache
from lab.guestvm.untrusted import read_untrusted_bytes
from lab.scenario import Scenario

# The running kernel's vmlinux.h, made at most once per boot (bpftool: 1.6 s
# under emulation, each time a tutorial's build ran it).
GUEST_VMLINUX_H = "/tmp/lab-kernel/vmlinux.h"
STEP_TIMEOUT_S = 600.0  # what one build command may take
BUILD_TAR_LIMIT = 256 << 20  # the largest build directory the host stores


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


def dump_vmlinux_h_command() -> str:
    """Dump the running kernel's BTF as C to GUEST_VMLINUX_H unless it is there."""
    made = GUEST_VMLINUX_H
    return (f"{{ [ -s {made} ] || {{ mkdir -p {made.rsplit('/', 1)[0]} && "
            f"bpftool btf dump file /sys/kernel/btf/vmlinux format c > {made}.part && "
            f"mv {made}.part {made}; }}; }}")


def vmlinux_h_command(destination: str) -> str:
    """Copy the boot's vmlinux.h to destination, dumping it from BTF the first time."""
    return (f"{dump_vmlinux_h_command()} && "
            f"mkdir -p -- \"$(dirname -- {shlex.quote(destination)})\" && "
            f"cp -- {GUEST_VMLINUX_H} {shlex.quote(destination)}")


def keep_build(builds: BuildCache, share: Path, archive: str, key: str,
               about: dict[str, object]) -> bool:
    """Store the tar the guest wrote at archive in its share (read without following
    links, never unpacked by the host); whether there was one to store."""
    data = read_untrusted_bytes(share, archive, BUILD_TAR_LIMIT)
    if data is None:
        return False
    built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    builds.store(key, data, {**about, "built": built})
    return True

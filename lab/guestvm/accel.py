"""Decide KVM or TCG by trying KVM, not by trusting /dev/kvm.

On nested hosts /dev/kvm can exist while a KVM guest spins at 100% CPU with no
output, or QEMU aborts on the CPU model virtme-ng asks for. The probe boots the
real kernel with virtme-ng's own KVM CPU flags and no root: a working KVM
reaches the "no root" panic in a second or two and QEMU exits (panic=-1,
-no-reboot); anything else within the deadline means TCG. The verdict is cached
per host boot and QEMU build, so the probe costs once.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lab.arches import DEFAULT_ARCH, Arch, foreign

PROBE_TIMEOUT_S = 20.0
KVM_CPU = "host,topoext=on"  # what virtme-ng passes under KVM on x86_64
BOOTED_MARKERS = ("Kernel panic", "VFS: Unable to mount root")


@dataclass(frozen=True)
class AccelChoice:
    accel: str
    reason: str


def probe_command(image: Path, arch: Arch = DEFAULT_ARCH) -> list[str]:
    machine = (["-machine", "accel=kvm", "-cpu", KVM_CPU] if arch == DEFAULT_ARCH else
               ["-machine", "virt,gic-version=host,accel=kvm", "-cpu", "host"])
    return [
        arch.qemu,
        *machine,
        "-m", "256M",
        "-display", "none",
        "-serial", "stdio",
        "-no-reboot",
        "-kernel", str(image),
        "-append", f"console={arch.console} panic=-1",
    ]


def judge_probe(returncode: int | None, output: str) -> AccelChoice:
    """Turn one probe run into a verdict (pure, so it is unit-tested)."""
    if returncode is None:
        return AccelChoice("tcg", f"a KVM guest printed nothing useful in {PROBE_TIMEOUT_S:.0f} s")
    if any(marker in output for marker in BOOTED_MARKERS):
        return AccelChoice("kvm", "a KVM guest booted to its first panic")
    tail = output.strip().splitlines()[-1:] or ["no output"]
    return AccelChoice("tcg", f"QEMU under KVM exited {returncode}: {tail[0][:200]}")


def run_probe(image: Path, arch: Arch = DEFAULT_ARCH) -> AccelChoice:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return AccelChoice("tcg", "/dev/kvm is missing or not accessible")
    try:
        done = subprocess.run(probe_command(image, arch), capture_output=True, text=True,
                              check=False, errors="replace", timeout=PROBE_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as expired:
        partial = expired.stdout if isinstance(expired.stdout, str) else ""
        if any(marker in partial for marker in BOOTED_MARKERS):
            return AccelChoice("kvm", "a KVM guest booted to its first panic")
        return judge_probe(None, partial)
    except FileNotFoundError:
        return AccelChoice("tcg", f"{arch.qemu} is not installed")
    return judge_probe(done.returncode, done.stdout + done.stderr)


def _host_key(arch: Arch) -> str:
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    try:
        qemu = Path(subprocess.run(["which", arch.qemu], capture_output=True,
                                   text=True, check=False).stdout.strip()).stat().st_mtime
    except (OSError, ValueError):
        qemu = 0.0
    return f"{boot_id}:{qemu}"


def choose_accel(requested: str, image: Path, cache: Path,
                 arch: Arch = DEFAULT_ARCH) -> AccelChoice:
    """LAB_ACCEL=kvm|tcg wins; a guest of another architecture than the host's is
    emulated; auto probes once per host boot and architecture and says what it chose."""
    if foreign(arch):
        return AccelChoice("tcg", f"an {arch.name} guest on a {platform.machine()} host "
                                  "is emulated (KVM runs only the host's architecture)")
    if requested in ("kvm", "tcg"):
        return AccelChoice(requested, "set by LAB_ACCEL")
    suffix = "" if arch == DEFAULT_ARCH else f"-{arch.name}"
    record = cache / f"accel-probe{suffix}.json"
    key = _host_key(arch)
    try:
        saved = json.loads(record.read_text())
        if saved.get("key") == key:
            return AccelChoice(saved["accel"], saved["reason"] + " (probed earlier this boot)")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    print("probing whether KVM really runs guests here...", file=sys.stderr, flush=True)
    choice = run_probe(image, arch)
    print(f"acceleration: {choice.accel} ({choice.reason})", file=sys.stderr, flush=True)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"key": key, "accel": choice.accel, "reason": choice.reason}))
    return choice

"""The minimum kernel a chapter of a series declares in its `.config` file.

bpf-developer-tutorial ships a `.config` of `key=value` lines in every chapter:
`kernel_min` (`5.5`, per architecture `x86_64:5.5,arm64:6.0`, `not-applicable`
or `unknown`) and `kernel_min_basis` (documented, required-feature, ...). The
lab keeps the file byte for byte in bpf/<name>/ and shows the declared minimum
beside the one it observed; the lab's guests are x86_64, so that architecture's
value is the one compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lab.scenario.model import ScenarioError

CONFIG_FILE = ".config"
LAB_ARCH = "x86_64"
VERSION = re.compile(r"\d+\.\d+")
ARCH_VERSION = re.compile(r"(?P<arch>[a-z0-9_]+):(?P<version>\d+\.\d+)")
NO_VERSION = {"not-applicable": "not applicable", "unknown": "unknown"}
BASIS = re.compile(r"[A-Za-z0-9_.-]*")  # documented, required-feature, ...: shown as is


@dataclass(frozen=True)
class KernelMinimum:
    """kernel_min as written, its basis, and the version it gives this lab's guests."""

    value: str
    basis: str
    version: tuple[int, ...] | None

    def describe(self) -> str:
        """The declared minimum for a table cell: `5.5 (required-feature)`,
        `5.5 on x86_64, 6.0 on arm64 (documented)`, `not applicable`."""
        if self.value in NO_VERSION:
            shown = NO_VERSION[self.value]
        elif VERSION.fullmatch(self.value):
            shown = self.value
        else:
            shown = ", ".join(f"{m['version']} on {m['arch']}"
                              for m in ARCH_VERSION.finditer(self.value))
        basis = self.basis.replace("-", " ")
        return shown if not self.basis or basis == shown else f"{shown} ({self.basis})"


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def parse_config(text: str, where: str) -> KernelMinimum:
    """kernel_min and kernel_min_basis of a `.config`; a missing or unreadable
    kernel_min is a ScenarioError naming the file."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, equals, value = line.strip().partition("=")
        if equals and not key.startswith("#"):
            values[key.strip()] = value.strip()
    if "kernel_min" not in values:
        raise ScenarioError(f"{where}: no `kernel_min=` line: a chapter declares its minimum "
                            "kernel there (5.5, x86_64:5.5,arm64:6.0, not-applicable or unknown)")
    basis = values.get("kernel_min_basis", "")
    if not BASIS.fullmatch(basis):
        raise ScenarioError(f"{where}: `kernel_min_basis={basis}` must be one word "
                            "(documented, required-feature, ...)")
    value = values["kernel_min"]
    return KernelMinimum(value, basis, _version(value, where))


def _version(value: str, where: str) -> tuple[int, ...] | None:
    if value in NO_VERSION:
        return None
    if VERSION.fullmatch(value):
        return version_key(value)
    per_arch = [ARCH_VERSION.fullmatch(part) for part in value.split(",")]
    if not value or not all(per_arch):
        raise ScenarioError(f"{where}: `kernel_min={value}` is not a kernel version (5.5), "
                            "one per architecture (x86_64:5.5,arm64:6.0), not-applicable "
                            "or unknown")
    versions = {m["arch"]: m["version"] for m in per_arch if m}
    return version_key(versions[LAB_ARCH]) if LAB_ARCH in versions else None


def read_config(program: Path) -> KernelMinimum:
    """The `.config` of a program directory (bpf/<name>/); a chapter without one is an
    error: every chapter of a series declares its minimum kernel the same way."""
    path = program / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScenarioError(f"{path}: cannot read the chapter's declared minimum kernel "
                            f"({error}); copy the chapter's .config byte for byte") from error
    return parse_config(text, str(path))

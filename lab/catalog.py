"""The kernel catalog (vm/kernels.toml) and its lock (vm/kernels.lock).

The catalog says where each kernel line lives; the lock pins each line to one
exact package version and sha256, so runs months apart boot the same kernel.
Pure data and parsing: fetching lives in lab.kernels.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w
from debian.debian_support import Version

from lab.archive import PackageRecord
from lab.errors import LabError

LOCK_HEADER = (
    "# Written by `lab kernels lock`: pins every kernel line. Edit the catalog, not this.\n"
)


@dataclass(frozen=True)
class KernelLine:
    """One catalog entry: a kernel line and the Debian suite that carries it."""

    line: str
    suite: str
    image: str
    headers: str

    def abi_of(self, package: str) -> str | None:
        match = re.fullmatch(self.image, package)
        return match.group("abi") if match else None


@dataclass(frozen=True)
class LockedKernel:
    """One pinned kernel: the exact image package and the headers that match it."""

    line: str
    suite: str
    release: str
    version: str
    package: str
    filename: str
    sha256: str
    size: int
    headers: str

    @property
    def cache_name(self) -> str:
        return f"{self.release}_{self.version}"


def load_catalog(path: Path) -> dict[str, KernelLine]:
    data = _read_toml(path)
    lines = data.get("lines")
    if not isinstance(lines, dict) or not lines:
        raise LabError(f"{path}: needs at least one [lines.\"X.Y\"] table")
    catalog = {}
    for line, entry in lines.items():
        missing = {"suite", "image", "headers"} - set(entry)
        if missing:
            raise LabError(f"{path}: line {line} lacks {', '.join(sorted(missing))}")
        catalog[line] = KernelLine(line, entry["suite"], entry["image"], entry["headers"])
    return catalog


def load_lock(path: Path) -> dict[str, LockedKernel]:
    if not path.exists():
        raise LabError(f"{path} does not exist; run `lab kernels lock` to create it")
    lines = _read_toml(path).get("lines", {})
    if not isinstance(lines, dict):
        raise LabError(f"{path}: needs [lines.\"X.Y\"] tables; run `lab kernels lock`")
    try:
        return {line: LockedKernel(line=line, **entry) for line, entry in lines.items()}
    except TypeError as error:
        raise LabError(f"{path}: malformed entry ({error}); run `lab kernels lock`") from error


def locked(lock: dict[str, LockedKernel], line: str) -> LockedKernel:
    if line not in lock:
        known = ", ".join(sorted(lock)) or "none"
        raise LabError(f"kernel line {line!r} is not in the lock (locked: {known})")
    return lock[line]


def newest_image(kernel_line: KernelLine, records: Iterable[PackageRecord]) -> PackageRecord:
    """The newest image package of the line among an index's records."""
    candidates = [r for r in records if kernel_line.abi_of(r.name)]
    if not candidates:
        raise LabError(
            f"no package matching {kernel_line.image!r} in {kernel_line.suite}: "
            "the catalog entry for this line needs updating"
        )
    return max(candidates, key=lambda r: (Version(r.version), r.name))


def lock_entry(kernel_line: KernelLine, record: PackageRecord) -> LockedKernel:
    abi = kernel_line.abi_of(record.name)
    assert abi is not None
    headers = kernel_line.headers.format(abi=abi)
    return LockedKernel(
        line=kernel_line.line,
        suite=kernel_line.suite,
        release=headers.removeprefix("linux-headers-"),
        version=record.version,
        package=record.name,
        filename=record.filename,
        sha256=record.sha256,
        size=record.size,
        headers=headers,
    )


def write_lock(path: Path, lock: dict[str, LockedKernel]) -> None:
    body = {"lines": {line: _without_line(entry) for line, entry in sorted(lock.items())}}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(LOCK_HEADER + tomli_w.dumps(body))
    tmp.replace(path)


def _without_line(entry: LockedKernel) -> dict[str, object]:
    data = asdict(entry)
    del data["line"]
    return data


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"cannot read {path}: {error}") from error

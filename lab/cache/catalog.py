"""The kernel catalog (vm/kernels.toml) and its lock (vm/kernels.lock).

The catalog says where each kernel line lives and which packages make it up;
the lock pins each line to exact package versions and sha256s, so runs months
apart boot the same kernel. Pure data and parsing: fetching is lab.cache.kernels.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w
from debian.deb822 import PkgRelation
from debian.debian_support import Version

from lab.arches import DEFAULT_ARCH, Arch, arch_named, split_target, target_name
from lab.cache.archive import PackageRecord
from lab.errors import LabError
from lab.names import LINE_NAME

LOCK_HEADER = (
    "# Written by `lab kernels lock`: pins every kernel line. Edit the catalog, not this.\n"
)
HEADER_DEPENDENCY = re.compile(r"linux-(headers|kbuild)-.*")


@dataclass(frozen=True)
class KernelLine:
    """One catalog entry on one architecture (a target, lab.arches): its name
    (`6.1`, `6.1-arm64`), its suite, and its packages as templates."""

    line: str
    suite: str
    image: str
    release: str
    boot: tuple[str, ...]
    headers: tuple[str, ...]
    arch: str = DEFAULT_ARCH.name

    def abi_of(self, package: str) -> str | None:
        match = re.fullmatch(self.image, package)
        return match.group("abi") if match else None


@dataclass(frozen=True)
class LockedDeb:
    """One pinned package: what to download and the checksum it must have."""

    package: str
    version: str
    filename: str
    sha256: str
    size: int

    @classmethod
    def of(cls, record: PackageRecord) -> LockedDeb:
        return cls(record.name, record.version, record.filename, record.sha256, record.size)


@dataclass(frozen=True)
class LockedKernel:
    """One pinned kernel: the packages that boot it and the headers the guest needs."""

    line: str
    suite: str
    release: str
    version: str
    boot: tuple[LockedDeb, ...]
    headers: tuple[LockedDeb, ...]
    arch: str = DEFAULT_ARCH.name

    @property
    def architecture(self) -> Arch:
        return arch_named(self.arch)

    @property
    def cache_name(self) -> str:
        return f"{self.release}_{self.version}"

    @property
    def package(self) -> str:
        return self.boot[0].package


def load_catalog(path: Path) -> dict[str, KernelLine]:
    """Every target of the catalog: each line on each of its architectures (the
    file's `arches`, or a line's own), `{arch}` in its templates replaced by the
    architecture's Debian name. x86_64 targets first, then each other one's."""
    data = _read_toml(path)
    lines = data.get("lines")
    if not isinstance(lines, dict) or not lines:
        raise LabError(f"{path}: needs at least one [lines.\"X.Y\"] table")
    default_arches = data.get("arches", [DEFAULT_ARCH.name])
    _arches(path, default_arches, "arches")
    arches_of: dict[str, list[Arch]] = {}
    for line, entry in lines.items():
        _check_line_name(path, line)
        missing = {"suite", "image", "release", "boot", "headers"} - set(entry)
        if missing:
            raise LabError(f"{path}: line {line} lacks {', '.join(sorted(missing))}")
        arches_of[line] = _arches(path, entry.get("arches", default_arches), f"{line}'s arches")
    every = {arch for arches in arches_of.values() for arch in arches}
    catalog: dict[str, KernelLine] = {}
    for arch in sorted(every, key=lambda arch: (arch != DEFAULT_ARCH, arch.name)):
        for line, entry in lines.items():
            if arch in arches_of[line]:
                target = _kernel_line(line, entry, arch)
                _check_line_name(path, target.line)
                catalog[target.line] = target
    return catalog


def _arches(path: Path, names: object, where: str) -> list[Arch]:
    if not isinstance(names, list) or not names:
        raise LabError(f"{path}: {where} must be a list of architectures")
    try:
        return [arch_named(str(name)) for name in names]
    except LabError as error:
        raise LabError(f"{path}: {where}: {error}") from error


def _kernel_line(line: str, entry: dict[str, Any], arch: Arch) -> KernelLine:
    def fill(template: str) -> str:
        return template.replace("{arch}", arch.debian)

    return KernelLine(target_name(line, arch), entry["suite"], fill(entry["image"]),
                      fill(entry["release"]), tuple(fill(t) for t in entry["boot"]),
                      tuple(fill(t) for t in entry["headers"]), arch.name)


def load_lock(path: Path) -> dict[str, LockedKernel]:
    if not path.exists():
        raise LabError(f"{path} does not exist; run `lab kernels lock` to create it")
    lines = _read_toml(path).get("lines", {})
    if not isinstance(lines, dict):
        raise LabError(f"{path}: needs [lines.\"X.Y\"] tables; run `lab kernels lock`")
    for line in lines:
        _check_line_name(path, line)
    try:
        return {line: _locked_kernel(line, entry) for line, entry in lines.items()}
    except (TypeError, KeyError) as error:
        raise LabError(f"{path}: malformed entry ({error}); run `lab kernels lock`") from error


def _check_line_name(path: Path, line: str) -> None:
    if not LINE_NAME.fullmatch(line):
        raise LabError(f"{path}: {line!r} is not a kernel line name (a letter or digit, then "
                       "letters, digits, '.', '+', '_' or '-', at most 32)")


def _locked_kernel(line: str, entry: dict[str, object]) -> LockedKernel:
    debs = {key: tuple(LockedDeb(**deb) for deb in entry[key])  # type: ignore[attr-defined]
            for key in ("boot", "headers")}
    arch = arch_named(str(entry.get("arch", DEFAULT_ARCH.name))).name
    if split_target(line)[1].name != arch:
        raise LabError(f"{line} is pinned for {arch}, which its name does not say; "
                       "run `lab kernels lock`")
    return LockedKernel(line=line, suite=str(entry["suite"]), release=str(entry["release"]),
                        version=str(entry["version"]), arch=arch, **debs)


def locked(lock: dict[str, LockedKernel], line: str) -> LockedKernel:
    if line not in lock:
        known = ", ".join(sorted(lock)) or "none"
        raise LabError(f"kernel line {line!r} is not in the lock (locked: {known})")
    return lock[line]


def locked_line(text: str, catalog: Mapping[str, KernelLine],
                lock: Mapping[str, LockedKernel]) -> LockedKernel:
    """The lock's entry of the line a user named: the one way a user's text becomes
    a kernel line. Only a key of both files passes, so the line is safe to use as a
    path (load_catalog and load_lock check their keys' shape); anything else is a
    LabError naming the known lines."""
    if text not in catalog:
        raise LabError(f"no kernel line {text!r} in the catalog "
                       f"(known: {', '.join(catalog) or 'none'})")
    if text not in lock:
        raise LabError(f"kernel line {text!r} is in the catalog but not pinned in the lock: "
                       f"run `lab kernels lock {text}`")
    return lock[text]


def newest_image(kernel_line: KernelLine, records: Iterable[PackageRecord]) -> PackageRecord:
    """The newest image package of the line among an index's records."""
    candidates = [r for r in records if kernel_line.abi_of(r.name)]
    if not candidates:
        raise LabError(
            f"no package matching {kernel_line.image!r} in {kernel_line.suite}: "
            "the catalog entry for this line needs updating"
        )
    return max(candidates, key=lambda r: (Version(r.version), r.name))


Finder = Callable[[str, "str | None"], PackageRecord]


def lock_entry(kernel_line: KernelLine, image: PackageRecord, find: Finder) -> LockedKernel:
    """Pin every package of the line at the image's version; the headers also
    bring the linux-headers-*/linux-kbuild-* packages they depend on."""
    abi = kernel_line.abi_of(image.name)
    assert abi is not None
    boot = [find(t.format(abi=abi), image.version) for t in kernel_line.boot]
    headers = [find(t.format(abi=abi), image.version) for t in kernel_line.headers]
    for record in list(headers):
        for name, version in header_dependencies(record.depends):
            if name not in {h.name for h in headers}:
                headers.append(find(name, version))
    return LockedKernel(
        line=kernel_line.line,
        suite=kernel_line.suite,
        release=kernel_line.release.format(abi=abi),
        version=image.version,
        boot=tuple(LockedDeb.of(r) for r in boot),
        headers=tuple(LockedDeb.of(r) for r in headers),
        arch=kernel_line.arch,
    )


def header_dependencies(depends: str) -> list[tuple[str, str | None]]:
    """linux-headers-*/linux-kbuild-* dependencies: (name, exact version or None)."""
    found = []
    for alternatives in PkgRelation.parse_relations(depends):
        relation = alternatives[0]
        if len(alternatives) == 1 and HEADER_DEPENDENCY.fullmatch(relation["name"]):
            pinned = relation.get("version")
            exact = pinned[1] if pinned and pinned[0] == "=" else None
            found.append((relation["name"], exact))
    return found


def write_lock(path: Path, lock: dict[str, LockedKernel]) -> None:
    body = {"lines": {line: _without_line(entry) for line, entry in sorted(lock.items())}}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(LOCK_HEADER + tomli_w.dumps(body))
    tmp.replace(path)


def _without_line(entry: LockedKernel) -> dict[str, object]:
    """The entry as the lock writes it: its name is its key, and x86_64, every
    entry's architecture before there were others, goes unsaid."""
    data = asdict(entry)
    del data["line"]
    if entry.arch == DEFAULT_ARCH.name:
        del data["arch"]
    return data


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"cannot read {path}: {error}") from error

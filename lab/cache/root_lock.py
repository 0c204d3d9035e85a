"""The guest root's lock (vm/rootfs.lock): every package of the root, pinned.

The recipe names a few packages; apt brings a few hundred more, the newest the
suite's index carries on the day of the build. A stable suite's InRelease has
no Valid-Until, so a mirror can replay an older signed index (an older clang,
an older libbpf) and apt would not notice. The lock records what the root is
made of, as `vm/kernels.lock` does for kernels: each installed package's
version and the sha256 the signed index gave its .deb.

When the root is built, every locked (package, version, sha256) must be in the
suite's verified index (an older, replayed index lacks them), apt is pinned to
the locked versions, and the root's dpkg status must then equal the lock. Pure
data and checks: building is lab.cache.rootfs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w
from debian.deb822 import Deb822

from lab.arches import DEFAULT_ARCH
from lab.cache.archive import PackageRecord
from lab.cache.cache_stamp import inputs_digest
from lab.errors import IntegrityError, LabError, PackageNotFound

LOCK_HEADER = (
    "# Written by `lab rootfs lock`: every package of the guest root, pinned.\n"
    "# Edit its recipe (the .toml beside it) or a scenario's guest_packages,\n"
    "# then run `lab rootfs lock`.\n"
)
REFRESH = "run `lab rootfs lock` to pin what the archive has now"
DPKG_STATUS = Path("var") / "lib" / "dpkg" / "status"
INSTALLED = "install ok installed"

Finder = Callable[[str, "str | None"], PackageRecord]


@dataclass(frozen=True)
class LockedPackage:
    """One package of the root: its version and the sha256 of its .deb."""

    package: str
    version: str
    sha256: str


@dataclass(frozen=True)
class RootLock:
    """What a guest root is made of: the package set asked for and what it installed."""

    suite: str
    variant: str
    requested: tuple[str, ...]
    packages: tuple[LockedPackage, ...]
    path: Path = field(default=Path("vm/rootfs.lock"), compare=False)

    def digest(self) -> str:
        """What the root is built from, for its cache key and its stamp."""
        return inputs_digest("rootfs-lock", self.suite, self.variant, sorted(self.requested),
                             sorted((p.package, p.version, p.sha256) for p in self.packages))

    def versions(self) -> dict[str, str]:
        return {p.package: p.version for p in self.packages}


def lock_path(recipe_file: Path, arch: str = DEFAULT_ARCH.name) -> Path:
    """vm/rootfs.toml's lock is vm/rootfs.lock on x86_64 and vm/rootfs.arm64.lock on
    arm64: a suite's versions differ between architectures (binary-only uploads)."""
    return recipe_file.with_suffix(".lock" if arch == DEFAULT_ARCH.name else f".{arch}.lock")


def load_root_lock(path: Path) -> RootLock | None:
    """The lock at path, None when there is none yet."""
    if not path.exists():
        return None
    try:
        data = tomllib.loads(path.read_text())
        lock = RootLock(str(data["suite"]), str(data["variant"]),
                        tuple(str(name) for name in data["requested"]),
                        tuple(LockedPackage(str(p["package"]), str(p["version"]),
                                            str(p["sha256"])) for p in data["packages"]),
                        path)
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"{path}: not a valid guest root lock ({error}); {REFRESH}") from error
    unpinned = sorted(set(lock.requested) - set(lock.versions()))
    if unpinned:
        raise LabError(f"{path}: asks for {', '.join(unpinned)} but pins no version of "
                       f"{'it' if len(unpinned) == 1 else 'them'}; {REFRESH}")
    return lock


def write_root_lock(lock: RootLock) -> None:
    body = {"suite": lock.suite, "variant": lock.variant, "requested": sorted(lock.requested),
            "packages": [{"package": p.package, "version": p.version, "sha256": p.sha256}
                         for p in sorted(lock.packages, key=lambda p: p.package)]}
    partial = lock.path.with_name(lock.path.name + ".tmp")
    partial.write_text(LOCK_HEADER + tomli_w.dumps(body))
    partial.replace(lock.path)


def lock_problem(lock: RootLock | None, suite: str, variant: str,
                 packages: Sequence[str], path: Path) -> str | None:
    """None if lock pins exactly this package set; else what to do about it."""
    if lock is None:
        return f"{path} does not exist; {REFRESH}"
    if (lock.suite, lock.variant) != (suite, variant):
        return (f"{lock.path} pins a {lock.suite} {lock.variant} root, the recipe asks for "
                f"{suite} {variant}; {REFRESH}")
    added = sorted(set(packages) - set(lock.requested))
    removed = sorted(set(lock.requested) - set(packages))
    if not added and not removed:
        return None
    change = "; ".join(part for part in (
        f"asked for now but not locked: {', '.join(added)}" if added else "",
        f"locked but no longer asked for: {', '.join(removed)}" if removed else "") if part)
    return (f"{lock.path} was made for another package set ({change}: the recipe or a "
            f"scenario's guest_packages changed); {REFRESH}")


def check_index(lock: RootLock, find: Finder, where: str) -> None:
    """Every locked (package, version, sha256) is in the suite's verified index, or a
    LabError naming each one that is not (and what the index has instead)."""
    missing, mismatched = [], []
    for locked in lock.packages:
        try:
            record = find(locked.package, locked.version)
        except PackageNotFound:
            missing.append(f"{locked.package} {locked.version}{_instead(find, locked.package)}")
            continue
        if record.sha256 != locked.sha256:
            mismatched.append(f"{locked.package} {locked.version} (index sha256 "
                              f"{record.sha256}, lock {locked.sha256})")
    if mismatched:
        raise IntegrityError(
            f"the signed {where} index gives other sha256s than {lock.path} for "
            f"{'; '.join(mismatched)}: refusing to build the guest root from it")
    if missing:
        raise LabError(
            f"{lock.path} pins {len(missing)} package version(s) that the signed {where} "
            f"index does not carry: {'; '.join(missing)}. Either Debian published a point "
            f"release that replaced them ({REFRESH}), or the mirror serves an older index "
            "than the one the lock was made from (a replayed index: pick another mirror with "
            "LAB_DEBIAN_MIRROR). Nothing was built.")


def _instead(find: Finder, name: str) -> str:
    try:
        return f" (the index has {find(name, None).version})"
    except PackageNotFound:
        return " (the index has no such package)"


def apt_preferences(lock: RootLock) -> str:
    """apt pins holding every package to its locked version, the essential set too
    (mmdebstrap chooses that set with apt, before any --include is looked at)."""
    return "\n".join(f"Package: {p.package}\nPin: version {p.version}\nPin-Priority: 1001\n"
                     for p in sorted(lock.packages, key=lambda p: p.package))


def installed_versions(root: Path) -> dict[str, str]:
    """Package -> version of everything installed in root, from its dpkg status."""
    try:
        text = (root / DPKG_STATUS).read_text(encoding="utf-8")
    except OSError as error:
        raise LabError(f"cannot read the dpkg status of {root}: {error}") from error
    return {stanza["Package"]: stanza["Version"]
            for stanza in Deb822.iter_paragraphs(text.splitlines(keepends=True),
                                                 use_apt_pkg=False)
            if stanza.get("Status") == INSTALLED and "Package" in stanza}


def status_differences(lock: RootLock, installed: Mapping[str, str]) -> list[str]:
    """Each way the installed packages differ from the lock, one phrase each."""
    locked = lock.versions()
    differences = []
    for name in sorted(set(locked) | set(installed)):
        want, got = locked.get(name), installed.get(name)
        if want == got:
            continue
        if got is None:
            differences.append(f"{name} {want} is locked but not installed")
        elif want is None:
            differences.append(f"{name} {got} is installed but not locked")
        else:
            differences.append(f"{name} is {got}, the lock says {want}")
    return differences


def lock_of(suite: str, variant: str, requested: Sequence[str],
            installed: Mapping[str, str], find: Finder, path: Path) -> RootLock:
    """The lock of a root that installed these versions, each one's sha256 read
    from the suite's verified index."""
    packages = []
    for name, version in sorted(installed.items()):
        try:
            record = find(name, version)
        except PackageNotFound as error:
            raise LabError(f"{name} {version} was installed but is not in the verified "
                           f"{suite} index ({error}); the mirror changed while the root "
                           "was being locked: run `lab rootfs lock` again") from error
        packages.append(LockedPackage(name, version, record.sha256))
    return RootLock(suite, variant, tuple(sorted(set(requested))), tuple(packages), path)

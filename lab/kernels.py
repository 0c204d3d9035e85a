"""Fetch pinned Debian kernels and lay them out the way virtme-ng boots them.

Layout in the cache (one directory per pinned kernel, made atomically):
    kernels/<release>_<version>/lib/modules/<release>/{vmlinuz,config,System.map,kernel/...}
virtme-ng finds the modules next to the image it is given, and builds its
initramfs (9p, virtio) from them. `build` and `source` point at the
headers that the guest root carries, so bcc finds them when this directory is
mounted over /lib/modules/<release> in the guest.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.archive import DebianArchive
from lab.catalog import KernelLine, LockedDeb, LockedKernel, lock_entry, newest_image
from lab.download import sha256_of
from lab.errors import IntegrityError, LabError, PackageNotFound

BOOT_FILES = ("vmlinuz", "config", "System.map")


@dataclass(frozen=True)
class KernelBuild:
    """A kernel ready to boot: its image and its modules directory."""

    release: str
    root: Path

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    @property
    def image(self) -> Path:
        return self.modules / "vmlinuz"

    @property
    def config(self) -> Path:
        return self.modules / "config"


def kernel_dir(cache: Path, kernel: LockedKernel) -> Path:
    return cache / "kernels" / kernel.cache_name


def fetch_kernel(cache: Path, mirror: str, kernel: LockedKernel) -> KernelBuild:
    """The pinned kernel, from the cache or freshly fetched, verified and unpacked."""
    build = KernelBuild(kernel.release, kernel_dir(cache, kernel))
    if build.image.exists():
        return build
    debs = fetch_debs(cache, mirror, kernel, kernel.boot)
    _unpack(debs, build, kernel)
    return build


def fetch_debs(cache: Path, mirror: str, kernel: LockedKernel,
               pinned: Iterable[LockedDeb]) -> list[Path]:
    """Each pinned .deb, verified against the lock and the archive's signed index."""
    archive = suite_archive(mirror, kernel.suite, cache)
    return [_verified_deb(cache, archive, kernel, deb) for deb in pinned]


@functools.cache
def suite_archive(mirror: str, suite: str, cache: Path) -> DebianArchive:
    """One archive object per suite and process: its verified index is read once."""
    return DebianArchive(mirror, suite, cache)


def _verified_deb(cache: Path, archive: DebianArchive, kernel: LockedKernel,
                  deb: LockedDeb) -> Path:
    cached = cache / "debs" / Path(deb.filename).name
    if cached.exists() and sha256_of(cached) == deb.sha256:
        return cached
    try:
        record = archive.find(deb.package, deb.version)
    except PackageNotFound as error:
        raise LabError(
            f"the lock pins {deb.package} {deb.version} for kernel {kernel.line}, "
            f"but {archive.mirror} {kernel.suite} no longer carries it ({error}). "
            f"Run `lab kernels lock {kernel.line}` to pin what the archive has now."
        ) from error
    if record.sha256 != deb.sha256:
        raise IntegrityError(
            f"{deb.filename}: the signed index says sha256 {record.sha256}, "
            f"the lock says {deb.sha256}; refusing to use it"
        )
    return archive.fetch(record)


def _unpack(debs: list[Path], build: KernelBuild, kernel: LockedKernel) -> None:
    """Extract outside the final place, arrange, depmod, then rename into place."""
    staging = build.root.with_name(build.root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for deb in debs:
        print(f"unpacking {deb.name}", file=sys.stderr, flush=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    _move_usr_modules(staging)
    modules = staging / "lib" / "modules" / kernel.release
    if not modules.is_dir():
        raise LabError(f"{kernel.package} holds no lib/modules/{kernel.release}; "
                       "is the catalog's `release` right?")
    _place_boot_files(staging, modules, kernel.release)
    _link_headers(modules, kernel.release)
    subprocess.run(["depmod", "-a", "-b", str(staging), kernel.release], check=True)
    shutil.rmtree(build.root, ignore_errors=True)
    staging.rename(build.root)


def _link_headers(modules: Path, release: str) -> None:
    """The links Debian's headers packages put in /lib/modules/<release>, which the
    mounted modules directory hides in the guest: bcc follows both."""
    flavourless = release.rsplit("-", 1)[0]
    for name, target in (("build", f"/usr/src/linux-headers-{release}"),
                         ("source", f"/usr/src/linux-headers-{flavourless}-common")):
        link = modules / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)


def _move_usr_modules(staging: Path) -> None:
    """Newer packages ship /usr/lib/modules; depmod -b wants <base>/lib/modules."""
    usr_modules = staging / "usr" / "lib" / "modules"
    if usr_modules.is_dir():
        (staging / "lib").mkdir(exist_ok=True)
        usr_modules.rename(staging / "lib" / "modules")


def _place_boot_files(staging: Path, modules: Path, release: str) -> None:
    """Older packages keep vmlinuz, config and System.map in /boot; newer ones in
    the modules directory, where virtme-ng looks for them."""
    for name in BOOT_FILES:
        target = modules / name
        if target.exists():
            continue
        source = staging / "boot" / f"{name}-{release}"
        if not source.exists():
            raise LabError(f"the kernel packages hold neither {target.name} in "
                           f"lib/modules/{release} nor boot/{source.name}")
        shutil.copy2(source, target)


def resolve_lock(cache: Path, mirror: str, kernel_line: KernelLine) -> LockedKernel:
    """Pin a line to the newest image its suite carries now (verified index)."""
    archive = suite_archive(mirror, kernel_line.suite, cache)
    records = [r for versions in archive.index().values() for r in versions]
    return lock_entry(kernel_line, newest_image(kernel_line, records), archive.find)

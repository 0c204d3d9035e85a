"""Fetch pinned Debian kernels and lay them out the way virtme-ng boots them.

Layout in the cache (one directory per pinned kernel, made atomically):
    kernels/<release>_<version>/lib/modules/<release>/{vmlinuz,config,System.map,kernel/...}
virtme-ng finds the modules next to the image it is given, and builds its
initramfs (9p, virtio) from them. `build` and `source` point at the
headers that the guest root carries, so bcc finds them when this directory is
mounted over /lib/modules/<release> in the guest.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lab.archive import DebianArchive
from lab.catalog import KernelLine, LockedKernel, lock_entry, newest_image
from lab.download import sha256_of
from lab.errors import IntegrityError, LabError, PackageNotFound

BOOT_FILES = {"vmlinuz": "vmlinuz", "config": "config", "System.map": "System.map"}


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
    deb = _verified_deb(cache, mirror, kernel)
    _unpack(deb, build, kernel)
    return build


def _verified_deb(cache: Path, mirror: str, kernel: LockedKernel) -> Path:
    cached = cache / "debs" / Path(kernel.filename).name
    if cached.exists() and sha256_of(cached) == kernel.sha256:
        return cached
    archive = DebianArchive(mirror, kernel.suite, cache)
    try:
        record = archive.find(kernel.package, kernel.version)
    except PackageNotFound as error:
        raise LabError(
            f"the lock pins {kernel.package} {kernel.version} for kernel {kernel.line}, "
            f"but {mirror} {kernel.suite} no longer carries it ({error}). "
            "Run `lab kernels lock` to pin the version the archive has now."
        ) from error
    if record.sha256 != kernel.sha256:
        raise IntegrityError(
            f"{kernel.filename}: the signed index says sha256 {record.sha256}, "
            f"the lock says {kernel.sha256}; refusing to use it"
        )
    return archive.fetch(record)


def _unpack(deb: Path, build: KernelBuild, kernel: LockedKernel) -> None:
    """Extract outside the final place, arrange, depmod, then rename into place."""
    staging = build.root.with_name(build.root.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    print(f"unpacking {deb.name}", file=sys.stderr, flush=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
    _move_usr_modules(staging)
    modules = staging / "lib" / "modules" / kernel.release
    if not modules.is_dir():
        raise LabError(f"{deb.name} holds no lib/modules/{kernel.release}; is the catalog right?")
    _place_boot_files(staging, modules, kernel.release)
    _link_headers(modules, kernel.release)
    subprocess.run(["depmod", "-a", "-b", str(staging), kernel.release], check=True)
    shutil.rmtree(build.root, ignore_errors=True)
    staging.rename(build.root)


def _link_headers(modules: Path, release: str) -> None:
    """The links Debian's headers packages put in /lib/modules/<release>, which the
    mounted modules directory hides in the guest: bcc follows both."""
    flavourless = release.rsplit("-", 1)[0]
    (modules / "build").symlink_to(f"/usr/src/linux-headers-{release}")
    (modules / "source").symlink_to(f"/usr/src/linux-headers-{flavourless}-common")


def _move_usr_modules(staging: Path) -> None:
    """Newer packages ship /usr/lib/modules; depmod -b wants <base>/lib/modules."""
    usr_modules = staging / "usr" / "lib" / "modules"
    if usr_modules.is_dir():
        (staging / "lib").mkdir(exist_ok=True)
        usr_modules.rename(staging / "lib" / "modules")


def _place_boot_files(staging: Path, modules: Path, release: str) -> None:
    for prefix, name in BOOT_FILES.items():
        target = modules / name
        if target.exists():
            continue
        source = staging / "boot" / f"{prefix}-{release}"
        if not source.exists():
            raise LabError(f"kernel package lacks boot/{prefix}-{release}")
        shutil.copy2(source, target)


def resolve_lock(cache: Path, mirror: str, kernel_line: KernelLine) -> LockedKernel:
    """Pin a line to the newest image its suite carries now (verified index)."""
    archive = DebianArchive(mirror, kernel_line.suite, cache)
    records = [r for versions in archive.index().values() for r in versions]
    return lock_entry(kernel_line, newest_image(kernel_line, records))

"""Fetch pinned Debian kernels and lay them out the way virtme-ng boots them.

Layout in the cache (one directory per pinned kernel, made atomically):
    kernels/<release>_<version>/lib/modules/<release>/{vmlinuz,config,System.map,kernel/...}
    kernels/<release>_<version>/.lab-stamp.json   (written last; see lab.cache.cache_stamp)
It is built under a lock (lab.cache.cache_lock) in a staging tree of its own and
checked against its stamp on every use, so neither a concurrent run, an
interrupted unpack nor a changed file is ever booted.
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

from lab.arches import DEFAULT_ARCH, arch_named
from lab.cache.archive import DebianArchive
from lab.cache.cache_lock import (
    cache_lock,
    drop_staging,
    new_staging,
    publish,
    require_writable,
    sweep_leftovers,
)
from lab.cache.cache_stamp import (
    Manifest,
    hashed_files,
    inputs_digest,
    stamp_problem,
    tree_digests,
    write_stamp,
)
from lab.cache.catalog import KernelLine, LockedDeb, LockedKernel, lock_entry, newest_image
from lab.cache.download import sha256_of
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
    """The pinned kernel, from the cache or freshly fetched, verified and unpacked.

    Under the entry's lock: a second process fetching the same kernel waits, then
    reuses it. A cached kernel is used only if its stamp matches (see kernel_problem).
    """
    build = KernelBuild(kernel.release, kernel_dir(cache, kernel))
    with cache_lock(build.root, f"kernel {kernel.release} {kernel.version}") as writable:
        problem = kernel_problem(build, kernel)
        if problem is None:
            return build
        require_writable(writable, build.root, problem)
        if build.root.exists():
            print(f"not using the cached kernel {build.root}: {problem}; unpacking it again",
                  file=sys.stderr, flush=True)
        sweep_leftovers(build.root)
        debs = fetch_debs(cache, mirror, kernel, kernel.boot)
        _unpack(debs, build, kernel)
    return build


def kernel_problem(build: KernelBuild, kernel: LockedKernel) -> str | None:
    """None if build holds exactly what kernel's .debs unpack to; else why not."""
    return stamp_problem(build.root, _kernel_inputs(kernel),
                         lambda root: _kernel_manifest(root, kernel.release))


def _kernel_inputs(kernel: LockedKernel) -> str:
    """What an unpacked kernel is made from: its release and its locked .debs."""
    return inputs_digest("kernel", kernel.release, [deb.sha256 for deb in kernel.boot])


def _kernel_manifest(root: Path, release: str) -> Manifest:
    """What boots: the bytes of vmlinuz, config and System.map (about 10 MB, hashed in
    tens of ms), and the size of every file under lib/modules (a few thousand),
    grouped by the top directories of the module tree."""
    modules = f"lib/modules/{release}"
    manifest = tree_digests(root, "lib/modules", depth=5)
    manifest.update(hashed_files(root, [f"{modules}/{name}" for name in BOOT_FILES]))
    return manifest


def fetch_debs(cache: Path, mirror: str, kernel: LockedKernel,
               pinned: Iterable[LockedDeb]) -> list[Path]:
    """Each pinned .deb, verified against the lock and the archive's signed index."""
    archive = suite_archive(mirror, kernel.suite, cache, pinned=True,
                            arch=kernel.architecture.debian)
    return [_verified_deb(cache, archive, kernel, deb) for deb in pinned]


@functools.cache
def suite_archive(mirror: str, suite: str, cache: Path, *, pinned: bool = False,
                  arch: str = DEFAULT_ARCH.debian) -> DebianArchive:
    """One archive object per suite, architecture (Debian's name) and process: its
    verified index is read once.
    `pinned`: every package taken is checked against the lock, so an index past its
    Valid-Until is used with a warning (a testing suite's index expires in a week,
    and a pinned kernel must not stop booting for that); `lab kernels lock`, which
    looks for what is newest, still refuses one."""
    return DebianArchive(mirror, suite, cache, pinned=pinned, arch=arch)


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
    """Extract into this process's own staging tree, arrange, depmod, stamp, then
    rename into place (the caller holds the entry's lock)."""
    work = new_staging(build.root)
    try:
        staging = work / "tree"
        staging.mkdir()
        for deb in debs:
            print(f"unpacking {deb.name}", file=sys.stderr, flush=True)
            subprocess.run(["dpkg-deb", "-x", str(deb), str(staging)], check=True)
        _arrange(staging, kernel)
        write_stamp(staging, _kernel_inputs(kernel), _kernel_manifest(staging, kernel.release))
        publish(staging, build.root)
    finally:
        drop_staging(work)


def _arrange(staging: Path, kernel: LockedKernel) -> None:
    """The layout virtme-ng boots: modules in lib/modules/<release> with the boot
    files, the headers links, and modules.dep."""
    _move_usr_modules(staging)
    modules = staging / "lib" / "modules" / kernel.release
    if not modules.is_dir():
        raise LabError(f"{kernel.package} holds no lib/modules/{kernel.release}; "
                       "is the catalog's `release` right?")
    _place_boot_files(staging, modules, kernel.release)
    _link_headers(modules, kernel.release)
    subprocess.run(["depmod", "-a", "-b", str(staging), kernel.release], check=True)


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
    archive = suite_archive(mirror, kernel_line.suite, cache,
                            arch=arch_named(kernel_line.arch).debian)
    records = [r for versions in archive.index().values() for r in versions]
    return lock_entry(kernel_line, newest_image(kernel_line, records), archive.find)

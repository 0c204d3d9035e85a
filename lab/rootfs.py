"""Build the pinned guest root filesystem, once per recipe and set of kernels.

mmdebstrap installs the recipe's packages from the recipe's suite; then the
headers of every locked kernel (fetched and verified like the kernels, from
their own suites) are unpacked on top: one root serves every kernel line, and
no other suite's libc ever enters it. The directory name is a digest of the
recipe and of the headers, so a changed recipe or lock gives a new root and an
unchanged one is reused. The build goes to a staging directory of its own,
renamed into place under a lock (lab.cache_lock) only on success, with a
completion stamp (lab.cache_stamp) checked on every use: neither a concurrent
build, an interrupted one nor a damaged root is ever booted.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.archive import DEFAULT_KEYRING
from lab.cache_lock import cache_lock, new_staging, publish, require_writable, sweep_leftovers
from lab.cache_stamp import (
    Manifest,
    inputs_digest,
    stamp_problem,
    top_entries,
    tree_digests,
    write_stamp,
)
from lab.catalog import LockedKernel
from lab.errors import LabError
from lab.kernels import fetch_debs

GUEST_MOUNT_POINTS = ("lab",)
MERGED_USR = ("bin", "sbin", "lib", "lib64")
ROOT_CHECKED = ("usr", "etc")


@dataclass(frozen=True)
class Recipe:
    """What mmdebstrap puts into the guest root: suite, variant, packages."""

    suite: str
    variant: str
    packages: tuple[str, ...]


def load_recipe(path: Path) -> Recipe:
    try:
        data = tomllib.loads(path.read_text())
        return Recipe(data["suite"], data.get("variant", "minbase"), tuple(data["packages"]))
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"{path}: not a valid rootfs recipe ({error})") from error


def digest(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    text = json.dumps([recipe.suite, recipe.variant, sorted(recipe.packages), headers])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def mmdebstrap_command(recipe: Recipe, mirror: str, target: Path) -> list[str]:
    return [
        "mmdebstrap",
        "--mode=root",
        f"--variant={recipe.variant}",
        f"--keyring={DEFAULT_KEYRING}",
        f"--include={','.join(recipe.packages)}",
        recipe.suite,
        str(target),
        mirror,
    ]


def rootfs_dir(cache: Path, recipe: Recipe, kernels: Sequence[LockedKernel]) -> Path:
    return cache / "rootfs" / f"{recipe.suite}-{digest(recipe, kernels)}"


def build_rootfs(cache: Path, mirror: str, recipe: Recipe,
                 kernels: Sequence[LockedKernel]) -> Path:
    """The guest root for this recipe and these kernels, built if not cached.

    Under the entry's lock: a second process wanting the same root waits, then
    reuses it. A cached root is used only if its stamp matches (rootfs_manifest).
    """
    final = rootfs_dir(cache, recipe, kernels)
    inputs = _rootfs_inputs(recipe, kernels)
    with cache_lock(final, f"the guest root {final.name}") as writable:
        problem = stamp_problem(final, inputs, rootfs_manifest)
        if problem is None:
            return final
        require_writable(writable, final, problem)
        if final.exists():
            print(f"not using the cached guest root {final}: {problem}; building it again",
                  file=sys.stderr, flush=True)
        sweep_leftovers(final)
        _build(cache, mirror, recipe, kernels, final)
    print(f"guest root ready: {final}", file=sys.stderr, flush=True)
    return final


def _rootfs_inputs(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    """What a guest root is made from: the recipe and every locked headers package."""
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    return inputs_digest("rootfs", recipe.suite, recipe.variant, sorted(recipe.packages), headers)


def rootfs_manifest(root: Path) -> Manifest:
    """(path, size) of everything under usr/ and etc/, hashed per directory three
    levels deep, and the names at the top (the mount points).

    Cheap but meaningful: it catches a truncated, missing or added file anywhere
    the guest reads programs, libraries, headers and configuration from, but not
    a same-size change (hashing 1.2 GB would cost seconds on every run). Measured
    on the real root (1.2 GB, 77k entries under usr/ and etc/): 0.5 s with a warm
    page cache, 1.3 s cold. var/, tmp/ and root/ are left out: they are the
    guest's, and nothing the lab verifies comes from them.
    """
    manifest = top_entries(root)
    for top in ROOT_CHECKED:
        manifest.update(tree_digests(root, top, depth=3))
    return manifest


def _build(cache: Path, mirror: str, recipe: Recipe, kernels: Sequence[LockedKernel],
           final: Path) -> None:
    """mmdebstrap, the headers and the mount points into this process's own staging
    tree, then the stamp, then the rename into place (the caller holds the lock)."""
    work = new_staging(final)
    try:
        staging = work / "tree"
        _mmdebstrap(recipe, mirror, staging)
        for kernel in kernels:
            print(f"adding the headers of {kernel.release}", file=sys.stderr, flush=True)
            for deb in fetch_debs(cache, mirror, kernel, kernel.headers):
                unpack_into_root(deb, staging)
        _add_mount_points(staging, kernels)
        write_stamp(staging, _rootfs_inputs(recipe, kernels), rootfs_manifest(staging))
        publish(staging, final)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _mmdebstrap(recipe: Recipe, mirror: str, target: Path) -> None:
    command = mmdebstrap_command(recipe, mirror, target)
    print(f"building the guest root with mmdebstrap ({recipe.suite}, "
          f"{len(recipe.packages)} packages)", file=sys.stderr, flush=True)
    result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if result.returncode != 0:
        raise LabError(f"mmdebstrap failed (exit {result.returncode}): {' '.join(command)}")


def unpack_into_root(deb: Path, root: Path) -> None:
    """dpkg-deb -x straight into a merged-/usr root would replace its /lib symlink
    with a directory (and the guest would not boot): extract aside, fold
    /lib, /bin, ... into /usr, then copy."""
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch:
        tree = Path(scratch)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        for name in MERGED_USR:
            if (tree / name).is_dir() and (root / name).is_symlink():
                target = tree / "usr" / name
                target.mkdir(parents=True, exist_ok=True)
                subprocess.run(["cp", "-a", f"{tree / name}/.", str(target)], check=True)
                shutil.rmtree(tree / name)
        subprocess.run(["cp", "-a", f"{tree}/.", str(root)], check=True)


def _add_mount_points(root: Path, kernels: Sequence[LockedKernel]) -> None:
    """virtme-ng mounts shared directories only onto paths that exist in the root."""
    for name in GUEST_MOUNT_POINTS:
        (root / name).mkdir(exist_ok=True)
    for kernel in kernels:
        (root / "usr" / "lib" / "modules" / kernel.release).mkdir(parents=True, exist_ok=True)

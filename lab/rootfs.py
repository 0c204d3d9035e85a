"""Build the pinned guest root filesystem, once per recipe and set of kernels.

mmdebstrap installs the recipe's packages from the recipe's suite; then the
headers of every locked kernel (fetched and verified like the kernels, from
their own suites) are unpacked on top: one root serves every kernel line, and
no other suite's libc ever enters it. The directory name is a digest of the
recipe and of the headers, so a changed recipe or lock gives a new root and an
unchanged one is reused. The build goes to a temporary directory renamed into
place only on success: an interrupted build is never trusted later.
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
from lab.catalog import LockedKernel
from lab.errors import LabError
from lab.kernels import fetch_debs

GUEST_MOUNT_POINTS = ("lab",)
MERGED_USR = ("bin", "sbin", "lib", "lib64")


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
    """The guest root for this recipe and these kernels, built if not cached."""
    final = rootfs_dir(cache, recipe, kernels)
    if (final / "etc" / "os-release").exists():
        return final
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    try:
        _mmdebstrap(recipe, mirror, staging)
        for kernel in kernels:
            print(f"adding the headers of {kernel.release}", file=sys.stderr, flush=True)
            for deb in fetch_debs(cache, mirror, kernel, kernel.headers):
                unpack_into_root(deb, staging)
        _add_mount_points(staging, kernels)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    staging.rename(final)
    print(f"guest root ready: {final}", file=sys.stderr, flush=True)
    return final


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

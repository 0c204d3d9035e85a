"""Build the pinned guest root filesystem with mmdebstrap, once per recipe.

The directory name is a digest of the recipe and of the headers it installs,
so a changed recipe or lock gives a new root and an unchanged one is reused.
The build goes to a temporary directory renamed into place only on success:
an interrupted build never leaves a root that a later run trusts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lab.archive import DEFAULT_KEYRING
from lab.catalog import LockedKernel
from lab.errors import LabError

GUEST_MOUNT_POINTS = ("lab",)


@dataclass(frozen=True)
class Recipe:
    """What goes into the guest root: suite, variant, packages."""

    suite: str
    variant: str
    packages: tuple[str, ...]

    def with_headers(self, kernels: Iterable[LockedKernel]) -> Recipe:
        pins = tuple(sorted(f"{k.headers}={k.version}" for k in kernels))
        return Recipe(self.suite, self.variant, self.packages + pins)

    @property
    def digest(self) -> str:
        text = json.dumps([self.suite, self.variant, sorted(self.packages)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_recipe(path: Path) -> Recipe:
    try:
        data = tomllib.loads(path.read_text())
        return Recipe(data["suite"], data.get("variant", "minbase"), tuple(data["packages"]))
    except (OSError, KeyError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"{path}: not a valid rootfs recipe ({error})") from error


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


def rootfs_dir(cache: Path, recipe: Recipe) -> Path:
    return cache / "rootfs" / f"{recipe.suite}-{recipe.digest}"


def build_rootfs(cache: Path, mirror: str, recipe: Recipe, kernels: Iterable[LockedKernel]) -> Path:
    """The guest root for this recipe and these kernels, built if not cached."""
    kernels = list(kernels)
    final = rootfs_dir(cache, recipe.with_headers(kernels))
    if (final / "etc" / "os-release").exists():
        return final
    staging = final.with_name(final.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    command = mmdebstrap_command(recipe.with_headers(kernels), mirror, staging)
    print(f"building guest root {final.name} with mmdebstrap ({recipe.suite})",
          file=sys.stderr, flush=True)
    result = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise LabError(f"mmdebstrap failed (exit {result.returncode}): {' '.join(command)}")
    _add_mount_points(staging, kernels)
    staging.rename(final)
    print(f"guest root ready: {final}", file=sys.stderr, flush=True)
    return final


def _add_mount_points(root: Path, kernels: Iterable[LockedKernel]) -> None:
    """virtme-ng mounts shared directories only onto paths that exist in the root."""
    for name in GUEST_MOUNT_POINTS:
        (root / name).mkdir(exist_ok=True)
    for kernel in kernels:
        (root / "usr" / "lib" / "modules" / kernel.release).mkdir(parents=True, exist_ok=True)

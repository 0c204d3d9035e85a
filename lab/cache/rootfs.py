"""Build the pinned guest root filesystem, once per package set and set of kernels.

mmdebstrap installs the recipe's packages, plus every package a scenario
declares (`guest_packages`), from the recipe's suite; then the headers of every
locked kernel (fetched and verified like the kernels, from their own suites)
are unpacked on top: one root serves every tutorial and every kernel line, and
no other suite's libc ever enters it. The directory name is a digest of the
package set and of the headers, so a changed recipe, a newly declared package
or a changed lock gives a new root (built once) and an unchanged one is reused.
Before building, every package name is looked up in the suite's verified index:
a misspelt one stops the run there, naming the scenario that declared it.
The build goes to a staging directory of its own, renamed into place under a
lock (lab.cache.cache_lock) only on success, with a completion stamp (lab.cache.cache_stamp)
checked on every use: neither a concurrent build, an interrupted one nor a
damaged root is ever booted.
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

from lab.cache.archive import DEFAULT_KEYRING, DebianArchive
from lab.cache.cache_lock import cache_lock, new_staging, publish, require_writable, sweep_leftovers
from lab.cache.cache_stamp import (
    Manifest,
    inputs_digest,
    stamp_names_inputs,
    stamp_problem,
    top_entries,
    tree_digests,
    write_stamp,
)
from lab.cache.catalog import LockedKernel
from lab.cache.kernels import fetch_debs, suite_archive
from lab.errors import LabError, PackageNotFound
from lab.scenario import Scenario

GUEST_MOUNT_POINTS = ("lab",)
MERGED_USR = ("bin", "sbin", "lib", "lib64")
ROOT_CHECKED = ("usr", "etc")
RECIPE_SOURCE = "recipe"


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


def package_sources(recipe: Recipe, scenarios: Sequence[Scenario]) -> dict[str, tuple[str, ...]]:
    """Every package of the guest root, sorted by name, with where it comes from:
    "recipe" and/or the names of the scenarios that declare it."""
    sources: dict[str, list[str]] = {name: [RECIPE_SOURCE] for name in recipe.packages}
    for scenario in scenarios:
        for name in scenario.guest_packages:
            declared = sources.setdefault(name, [])
            if scenario.name not in declared:
                declared.append(scenario.name)
    return {name: tuple(sources[name]) for name in sorted(sources)}


def guest_recipe(recipe: Recipe, scenarios: Sequence[Scenario]) -> Recipe:
    """What the guest root is built from: the recipe's packages plus every package
    the scenarios declare, sorted and without duplicates."""
    return Recipe(recipe.suite, recipe.variant, tuple(package_sources(recipe, scenarios)))


def digest(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    text = json.dumps([recipe.suite, recipe.variant, sorted(set(recipe.packages)), headers])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_packages(archive: DebianArchive, recipe: Recipe,
                   scenarios: Sequence[Scenario]) -> None:
    """Every package of the guest root is a real package of the recipe's suite, or a
    LabError naming each unknown one and the scenario (or recipe) that asked for it.

    The lookup is by package name in the suite's signed index (its main
    component, as mmdebstrap's default). A virtual name (one that other packages
    only Provide) is refused although apt may install a provider of its own
    choosing for it: what a scenario names is exactly what gets installed. Only
    the index's newest version of a name is looked at; mmdebstrap installs that one."""
    declared_by = {s.name: s for s in scenarios}
    unknown = []
    for name, sources in package_sources(recipe, scenarios).items():
        try:
            archive.find(name)
        except PackageNotFound:
            unknown += [f"{_source_file(source, declared_by)}: {_key(source)} names {name!r}"
                        for source in sources]
    if unknown:
        raise LabError(
            "; ".join(unknown) + f": not a package of {archive.suite} ({archive.component}, "
            f"{archive.arch}) on {archive.mirror}, the suite of the guest root's recipe.\n"
            "A name must be a real Debian package of that suite, as `apt-cache show NAME` "
            "on a Debian system of that release knows it (a virtual name that other "
            "packages only Provide is not enough: name the package that provides it). "
            "Nothing was built or booted.")


def _source_file(source: str, scenarios: dict[str, Scenario]) -> str:
    return "the recipe (vm/rootfs.toml)" if source == RECIPE_SOURCE else str(scenarios[source].path)


def _key(source: str) -> str:
    return "`packages`" if source == RECIPE_SOURCE else "`guest_packages`"


def describe_packages(recipe: Recipe, scenarios: Sequence[Scenario]) -> list[str]:
    """One line per package of the guest root: its name and where it comes from."""
    sources = package_sources(recipe, scenarios)
    width = max((len(name) for name in sources), default=0)
    return [f"{name:<{width}}  {', '.join(_shown_source(s) for s in by)}"
            for name, by in sources.items()]


def _shown_source(source: str) -> str:
    return "the recipe" if source == RECIPE_SOURCE else f"scenario {source}"


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


def cached_rootfs(cache: Path, recipe: Recipe, kernels: Sequence[LockedKernel],
                  scenarios: Sequence[Scenario] = ()) -> tuple[Path, str | None]:
    """Where the guest root for these inputs lives, and why it cannot be used as it
    is (None: it is built and intact), without building anything."""
    full = guest_recipe(recipe, scenarios)
    final = rootfs_dir(cache, full, kernels)
    return final, stamp_problem(final, _rootfs_inputs(full, kernels), rootfs_manifest)


def stamped_rootfs(cache: Path, recipe: Recipe, kernels: Sequence[LockedKernel],
                   scenarios: Sequence[Scenario] = ()) -> Path | None:
    """The guest root for these inputs if its stamp names them, else None; its
    files are not checked (rootfs_manifest is what checks them)."""
    full = guest_recipe(recipe, scenarios)
    final = rootfs_dir(cache, full, kernels)
    return final if stamp_names_inputs(final, _rootfs_inputs(full, kernels)) else None


def build_rootfs(cache: Path, mirror: str, recipe: Recipe,
                 kernels: Sequence[LockedKernel], scenarios: Sequence[Scenario] = ()) -> Path:
    """The guest root for this recipe, the scenarios' packages and these kernels,
    built if not cached.

    Under the entry's lock: a second process wanting the same root waits, then
    reuses it. A cached root is used only if its stamp matches (rootfs_manifest).
    Before a build, every package name is checked against the suite's index
    (check_packages); a cached root needs no check: its packages were installed.
    """
    full = guest_recipe(recipe, scenarios)
    final = rootfs_dir(cache, full, kernels)
    inputs = _rootfs_inputs(full, kernels)
    with cache_lock(final, f"the guest root {final.name}") as writable:
        problem = stamp_problem(final, inputs, rootfs_manifest)
        if problem is None:
            return final
        check_packages(suite_archive(mirror, recipe.suite, cache), recipe, scenarios)
        require_writable(writable, final, problem)
        if final.exists():
            print(f"not using the cached guest root {final}: {problem}; building it again",
                  file=sys.stderr, flush=True)
        else:
            print(f"building the guest root {final.name}: {len(full.packages)} packages, "
                  f"{len(full.packages) - len(set(recipe.packages))} of them declared by "
                  "scenarios only (`lab rootfs build --list` says which)",
                  file=sys.stderr, flush=True)
        sweep_leftovers(final)
        _build(cache, mirror, full, kernels, final)
    print(f"guest root ready: {final}", file=sys.stderr, flush=True)
    return final


def _rootfs_inputs(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    """What a guest root is made from: the recipe and every locked headers package."""
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    return inputs_digest("rootfs", recipe.suite, recipe.variant, sorted(set(recipe.packages)),
                         headers)


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

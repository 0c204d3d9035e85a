"""Build the pinned guest root filesystem, once per package set and set of kernels.

mmdebstrap installs the recipe's packages, plus every package a scenario
declares (`guest_packages`), from the recipe's suite; then the headers of every
locked kernel (fetched and verified like the kernels, from their own suites)
are unpacked on top: one root serves every tutorial and every kernel line, and
no other suite's libc ever enters it. The directory name is a digest of the
package set, of the root's lock (vm/rootfs.lock, lab.cache.root_lock) and of the
headers, so a changed recipe, a newly declared package or a changed lock gives
a new root (built once) and an unchanged one is reused.
Before building, every package name is looked up in the suite's verified index
(a misspelt one stops the run there, naming the scenario that declared it), and
so is every locked package version and sha256 (a replayed older index lacks
them); apt is pinned to the locked versions, and the root's dpkg status must
equal the lock afterwards. `lab rootfs lock` writes the lock from an unpinned
build (lock_rootfs).
The build goes to a staging directory of its own, renamed into place under a
lock (lab.cache.cache_lock) only on success, with a completion stamp (lab.cache.cache_stamp)
checked on every use: neither a concurrent build, an interrupted one nor a
damaged root is ever booted. mmdebstrap runs in a mount namespace of its own
and is given time to unmount when interrupted (lab.cache.mount_namespace).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.arches import DEFAULT_ARCH, Arch, arch_named
from lab.cache.archive import DEFAULT_KEYRING, DebianArchive
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
    inputs_digest,
    stamp_names_inputs,
    stamp_problem,
    top_entries,
    tree_digests,
    write_stamp,
)
from lab.cache.catalog import LockedKernel
from lab.cache.kernels import fetch_debs, suite_archive
from lab.cache.mount_namespace import in_own_mount_namespace, run_builder
from lab.cache.root_lock import (
    RootLock,
    apt_preferences,
    check_index,
    installed_versions,
    load_root_lock,
    lock_of,
    lock_path,
    lock_problem,
    status_differences,
    write_root_lock,
)
from lab.errors import LabError, PackageNotFound
from lab.scenario import Scenario

GUEST_MOUNT_POINTS = ("lab",)
MERGED_USR = ("bin", "sbin", "lib", "lib64")
ROOT_CHECKED = ("usr", "etc")
RECIPE_SOURCE = "recipe"
PREFERENCES_IN_ROOT = "/etc/apt/preferences.d/lab-rootfs-lock"
CHECK_VALID_UNTIL_OFF = 'Acquire::Check-Valid-Until "false"'


@dataclass(frozen=True)
class Recipe:
    """What mmdebstrap puts into the guest root: suite, variant, packages, and the
    lock that pins every package the root ends up with (None: not locked yet).

    The suite names the root's userland (a scenario's `userland`); the default
    recipe (vm/rootfs.toml) also serves every scenario that names none."""

    suite: str
    variant: str
    packages: tuple[str, ...]
    lock: RootLock | None = None
    lock_file: Path = field(default=Path("vm/rootfs.lock"), compare=False)
    default: bool = True
    file: Path = field(default=Path("vm/rootfs.toml"), compare=False)
    arch: str = DEFAULT_ARCH.name  # the guest's (lab.arches); mmdebstrap builds others apart

    @property
    def architecture(self) -> Arch:
        return arch_named(self.arch)

    @property
    def name(self) -> str:
        """`bookworm`, `bookworm-arm64`: the suite, and the architecture if not x86_64."""
        return self.suite if self.arch == DEFAULT_ARCH.name else f"{self.suite}-{self.arch}"

    def serves(self, scenario: Scenario) -> bool:
        """Whether the scenario runs on this root (so its guest_packages go into it)."""
        return any(self.default if userland is None else userland == self.suite
                   for userland in scenario.userlands)


def load_recipe(path: Path, *, default: bool = True, arch: str = DEFAULT_ARCH.name) -> Recipe:
    """The recipe at path for one architecture, and its lock beside it (vm/rootfs.toml,
    vm/rootfs.lock; vm/rootfs.arm64.lock). An `[arches.<arch>]` table adds the
    packages that architecture's guests need (arm64's: a busybox of its own).
    default: whether it serves the scenarios that name no userland."""
    try:
        data = tomllib.loads(path.read_text())
        extra = data.get("arches", {}).get(arch_named(arch).name, {}).get("packages", [])
        recipe = Recipe(data["suite"], data.get("variant", "minbase"),
                        tuple(data["packages"]) + tuple(extra))
    except (OSError, KeyError, TypeError, AttributeError, tomllib.TOMLDecodeError) as error:
        raise LabError(f"{path}: not a valid rootfs recipe ({error})") from error
    lock_file = lock_path(path, arch)
    return dataclasses.replace(recipe, lock=load_root_lock(lock_file), lock_file=lock_file,
                               default=default, file=path, arch=arch)


def package_sources(recipe: Recipe, scenarios: Sequence[Scenario]) -> dict[str, tuple[str, ...]]:
    """Every package of the guest root, sorted by name, with where it comes from:
    "recipe" and/or the names of the scenarios that declare it. Only the scenarios
    this root serves count: another userland's packages go into its own root."""
    sources: dict[str, list[str]] = {name: [RECIPE_SOURCE] for name in recipe.packages}
    for scenario in scenarios:
        if not recipe.serves(scenario):
            continue
        for name in scenario.guest_packages:
            declared = sources.setdefault(name, [])
            if scenario.name not in declared:
                declared.append(scenario.name)
    return {name: tuple(sources[name]) for name in sorted(sources)}


def guest_recipe(recipe: Recipe, scenarios: Sequence[Scenario]) -> Recipe:
    """What the guest root is built from: the recipe's packages plus every package
    the scenarios declare, sorted and without duplicates (and the recipe's lock)."""
    return dataclasses.replace(recipe, packages=tuple(package_sources(recipe, scenarios)))


def digest(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    parts: list[object] = [recipe.suite, recipe.variant, sorted(set(recipe.packages)), headers]
    if recipe.lock is not None:
        parts.append(recipe.lock.digest())
    if recipe.arch != DEFAULT_ARCH.name:  # x86_64's keys stay those of the roots built before
        parts.append(recipe.arch)
    text = json.dumps(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def required_lock(recipe: Recipe) -> RootLock:
    """The recipe's lock, if it pins exactly the recipe's package set; else a LabError
    saying to run `lab rootfs lock`."""
    problem = lock_problem(recipe.lock, recipe.suite, recipe.variant, recipe.packages,
                           recipe.lock_file)
    if problem is not None or recipe.lock is None:
        raise LabError(f"{problem}. Nothing was built or booted.")
    return recipe.lock


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
            unknown += [f"{_source_file(source, recipe, declared_by)}: {_key(source)} names "
                        f"{name!r}" for source in sources]
    if unknown:
        raise LabError(
            "; ".join(unknown) + f": not a package of {archive.suite} ({archive.component}, "
            f"{archive.arch}) on {archive.mirror}, the suite of the guest root's recipe.\n"
            "A name must be a real Debian package of that suite, as `apt-cache show NAME` "
            "on a Debian system of that release knows it (a virtual name that other "
            "packages only Provide is not enough: name the package that provides it). "
            "Nothing was built or booted.")


def _source_file(source: str, recipe: Recipe, scenarios: dict[str, Scenario]) -> str:
    if source == RECIPE_SOURCE:
        return f"the recipe ({recipe.file})"
    return str(scenarios[source].path)


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


def mmdebstrap_command(recipe: Recipe, mirror: str, target: Path, *,
                       preferences: Path | None = None, expired_index: bool = False) -> list[str]:
    """The mmdebstrap command line. With the recipe's lock, each package asked for is
    asked for at its locked version and `preferences` (apt pins of every locked
    package, the essential set too) is put into the root before apt runs.
    expired_index: apt accepts an index past its Valid-Until, as the lab did."""
    versions = recipe.lock.versions() if recipe.lock is not None else {}
    include = [f"{name}={versions[name]}" if name in versions else name
               for name in recipe.packages]
    command = ["mmdebstrap", "--mode=root", f"--variant={recipe.variant}",
               f"--keyring={DEFAULT_KEYRING}"]
    if recipe.arch != DEFAULT_ARCH.name:
        # run through qemu-user-static and binfmt_misc (`lab doctor --install`)
        command.append(f"--arch={recipe.architecture.debian}")
    if expired_index:
        command.append(f"--aptopt={CHECK_VALID_UNTIL_OFF}")
    if preferences is not None:
        command.append(f'--setup-hook=cp {shlex.quote(str(preferences))} '
                       f'"$1{PREFERENCES_IN_ROOT}"')
    return [*command, f"--include={','.join(include)}", recipe.suite, str(target), mirror]


def rootfs_dir(cache: Path, recipe: Recipe, kernels: Sequence[LockedKernel]) -> Path:
    return cache / "rootfs" / f"{recipe.name}-{digest(recipe, kernels)}"


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
    (check_packages), the lock must pin exactly this package set, and every locked
    package must be in the index with its locked sha256 (check_index); a cached
    root needs no check: its packages were installed and checked against the lock.
    """
    full = guest_recipe(recipe, scenarios)
    final = rootfs_dir(cache, full, kernels)
    inputs = _rootfs_inputs(full, kernels)
    with cache_lock(final, f"the guest root {final.name}") as writable:
        problem = stamp_problem(final, inputs, rootfs_manifest)
        if problem is None:
            return final
        # pinned: every package is held to the lock, so an index past its
        # Valid-Until is used with a warning, as for the kernels' packages.
        archive = suite_archive(mirror, recipe.suite, cache, pinned=True,
                                arch=recipe.architecture.debian)
        check_packages(archive, recipe, scenarios)
        lock = required_lock(full)
        check_index(lock, archive.find, f"{archive.suite} ({archive.mirror})")
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
        _build(cache, mirror, full, kernels, final, archive.used_past_valid_until())
    print(f"guest root ready: {final}", file=sys.stderr, flush=True)
    return final


def lock_rootfs(cache: Path, mirror: str, recipe: Recipe,
                scenarios: Sequence[Scenario] = ()) -> RootLock:
    """Write the recipe's lock from what an unpinned build installs now.

    Exact by construction: apt resolves the set (its essential set, its choice
    among alternatives) as it will when the root is built from the lock, and
    each installed version's sha256 is read from the suite's verified index.
    The tree is thrown away: the root is then built from the lock like on any
    other machine. Like `lab kernels lock`, it looks for what is newest, so an
    index past its Valid-Until is refused unless LAB_ALLOW_EXPIRED_INDEX=1.
    """
    full = dataclasses.replace(guest_recipe(recipe, scenarios), lock=None)
    archive = suite_archive(mirror, recipe.suite, cache, arch=recipe.architecture.debian)
    check_packages(archive, recipe, scenarios)
    scratch = cache / "rootfs" / f"{recipe.name}-lock"
    with cache_lock(scratch, "locking the guest root") as writable:
        require_writable(writable, scratch, "a lock is being made")
        sweep_leftovers(scratch)
        work = new_staging(scratch)
        try:
            _mmdebstrap(full, mirror, work / "tree", archive.used_past_valid_until())
            installed = installed_versions(work / "tree")
        finally:
            drop_staging(work)
    lock = lock_of(full.suite, full.variant, full.packages, installed, archive.find,
                   recipe.lock_file)
    write_root_lock(lock)
    return lock


def _rootfs_inputs(recipe: Recipe, kernels: Sequence[LockedKernel]) -> str:
    """What a guest root is made from: the recipe, its lock and every locked
    headers package."""
    headers = sorted(deb.sha256 for kernel in kernels for deb in kernel.headers)
    locked = [recipe.lock.digest()] if recipe.lock is not None else []
    return inputs_digest("rootfs", recipe.suite, recipe.variant, sorted(set(recipe.packages)),
                         headers, *locked)


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
           final: Path, expired_index: bool) -> None:
    """mmdebstrap, the check against the lock, the headers and the mount points into
    this process's own staging tree, then the stamp, then the rename into place (the
    caller holds the lock)."""
    work = new_staging(final)
    try:
        staging = work / "tree"
        _mmdebstrap(recipe, mirror, staging, expired_index)
        _check_installed(recipe, staging)
        for kernel in kernels:
            print(f"adding the headers of {kernel.release}", file=sys.stderr, flush=True)
            for deb in fetch_debs(cache, mirror, kernel, kernel.headers):
                unpack_into_root(deb, staging)
        _add_mount_points(staging, kernels)
        write_stamp(staging, _rootfs_inputs(recipe, kernels), rootfs_manifest(staging))
        publish(staging, final)
    finally:
        drop_staging(work)


def _mmdebstrap(recipe: Recipe, mirror: str, target: Path, expired_index: bool) -> None:
    """mmdebstrap into target (in its own mount namespace; see run_builder), pinned
    to the recipe's lock when it has one."""
    preferences = None
    if recipe.lock is not None:
        preferences = target.parent / "apt-preferences"
        preferences.write_text(apt_preferences(recipe.lock))
    command = mmdebstrap_command(recipe, mirror, target, preferences=preferences,
                                 expired_index=expired_index)
    print(f"building the guest root with mmdebstrap ({recipe.name}, "
          f"{len(recipe.packages)} packages"
          f"{', pinned by ' + str(recipe.lock.path) if recipe.lock else ''})",
          file=sys.stderr, flush=True)
    returncode = run_builder(command)
    if returncode != 0:
        raise LabError(f"mmdebstrap failed (exit {returncode}): "
                       f"{shlex.join(in_own_mount_namespace(command))}")


def _check_installed(recipe: Recipe, root: Path) -> None:
    """The root's dpkg status equals the lock, package by package and version by
    version (apt checked each .deb against the index entry check_index compared
    with the lock, so the versions settle the sha256s too)."""
    if recipe.lock is None:
        return
    differences = status_differences(recipe.lock, installed_versions(root))
    if differences:
        raise LabError(
            f"the guest root mmdebstrap built is not what {recipe.lock.path} pins: "
            f"{'; '.join(differences)}. The mirror's index resolves differently from the "
            "one the lock was made from: run `lab rootfs lock` if Debian published a point "
            "release, else pick another mirror with LAB_DEBIAN_MIRROR. Nothing was kept.")


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

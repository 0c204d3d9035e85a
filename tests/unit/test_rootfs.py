"""Tests for lab.cache.rootfs: the recipe, the packages scenarios add to it, the root's
digest, the check of package names, the lock, the mmdebstrap command and how it is
run and stopped, and unpacking headers into a merged-/usr root."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import lab.cache.rootfs
from lab.cache import mount_namespace
from lab.cache.archive import PackageRecord
from lab.cache.catalog import LockedDeb, LockedKernel, load_catalog
from lab.cache.mount_namespace import in_own_mount_namespace
from lab.cache.root_lock import LockedPackage, RootLock, load_root_lock
from lab.cache.rootfs import (
    Recipe,
    build_rootfs,
    cached_rootfs,
    check_packages,
    describe_packages,
    digest,
    guest_recipe,
    load_recipe,
    lock_rootfs,
    mmdebstrap_command,
    package_sources,
    required_lock,
    rootfs_dir,
    unpack_into_root,
)
from lab.errors import IntegrityError, LabError, PackageNotFound
from lab.scenario import Scenario, load_scenarios, parse_scenario
from lab.tree_removal import mounts_under

VM_DIR = Path(__file__).resolve().parents[2] / "vm"
MIRROR = "http://deb.debian.org/debian"
SMALL = Recipe("bookworm", "minbase", ("bash", "python3"))


def kernel(line: str, release: str, version: str, *header_shas: str) -> LockedKernel:
    image = LockedDeb(f"linux-image-{release}-unsigned", version, "pool/i.deb", "ff" * 32, 1)
    headers = tuple(LockedDeb(f"linux-headers-{release}-{i}", version, f"pool/h{i}.deb", sha, 1)
                    for i, sha in enumerate(header_shas))
    return LockedKernel(line=line, suite="bookworm", release=release, version=version,
                        boot=(image,), headers=headers)


K61 = kernel("6.1", "6.1.0-50-amd64", "6.1.176-1", "a1" * 32, "a2" * 32)
K612 = kernel("6.12", "6.12.117+deb13-amd64", "6.12.117-1", "b1" * 32)


@pytest.fixture
def recipe() -> Recipe:
    return load_recipe(VM_DIR / "rootfs.toml")


def test_shipped_recipe_loads(recipe: Recipe) -> None:
    assert recipe.suite == "bookworm"
    assert recipe.variant == "minbase"
    assert recipe.packages[:2] == ("bash", "coreutils")
    assert {"python3-bpfcc", "clang", "libbpf-dev", "bpftool", "gcc"} <= set(recipe.packages)
    assert not any(p.startswith("linux-headers") for p in recipe.packages), \
        "headers come from the lock, not the recipe"


def test_shipped_recipe_serves_bccs_tools_and_make(recipe: Recipe) -> None:
    """bcc's tools as Debian ships them, plus what they import that Debian's
    bpfcc-tools does not depend on (elftools, for bashreadline), and make."""
    assert {"bpfcc-tools", "python3-pyelftools", "make"} <= set(recipe.packages)
    assert len(set(recipe.packages)) == len(recipe.packages), "no package twice"


def test_digest_changes_with_the_locked_headers(recipe: Recipe) -> None:
    bare = digest(recipe, [])
    with61 = digest(recipe, [K61])
    assert len(bare) == 16
    assert with61 != bare
    assert digest(recipe, [K61, K612]) != with61
    rebuilt = kernel("6.1", "6.1.0-50-amd64", "6.1.176-1", "a1" * 32, "a3" * 32)
    assert digest(recipe, [rebuilt]) != with61


def test_digest_ignores_boot_packages_and_kernel_order(recipe: Recipe) -> None:
    other_image = LockedKernel(K61.line, K61.suite, K61.release, K61.version,
                               boot=(LockedDeb("x", "1", "pool/x.deb", "ee" * 32, 2),),
                               headers=K61.headers)
    assert digest(recipe, [other_image]) == digest(recipe, [K61])
    assert digest(recipe, [K612, K61]) == digest(recipe, [K61, K612])


def test_digest_does_not_depend_on_package_order() -> None:
    one = Recipe("bookworm", "minbase", ("bash", "clang", "gcc"))
    other = Recipe("bookworm", "minbase", ("gcc", "bash", "clang"))
    assert digest(one, [K61]) == digest(other, [K61])
    assert digest(one, []) != digest(Recipe("bookworm", "minbase", ("bash", "clang")), [])
    assert digest(one, []) != digest(Recipe("trixie", "minbase", ("bash", "clang", "gcc")), [])
    assert digest(one, []) != digest(Recipe("bookworm", "apt", ("bash", "clang", "gcc")), [])


def test_rootfs_dir_is_named_by_suite_and_digest(tmp_path: Path, recipe: Recipe) -> None:
    assert rootfs_dir(tmp_path, recipe, [K61]) == (
        tmp_path / "rootfs" / f"bookworm-{digest(recipe, [K61])}")


def test_mmdebstrap_command(recipe: Recipe) -> None:
    target = Path("/cache/rootfs/bookworm-x.partial")
    command = mmdebstrap_command(dataclasses.replace(recipe, lock=None), MIRROR, target)
    assert command[0] == "mmdebstrap"
    assert "--mode=root" in command
    assert "--variant=minbase" in command
    assert "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg" in command
    include = next(a for a in command if a.startswith("--include="))
    assert include.removeprefix("--include=").split(",") == list(recipe.packages)
    assert command[-3:] == ["bookworm", str(target), MIRROR]
    assert not any(a.startswith(("--aptopt", "--setup-hook")) for a in command)


def test_a_locked_recipe_asks_for_each_package_at_its_version_and_pins_the_rest() -> None:
    target = Path("/cache/rootfs/.b.build-x/tree")
    prefs = Path("/cache/rootfs/.b.build-x/apt preferences")
    command = mmdebstrap_command(SMALL_LOCKED, MIRROR, target, preferences=prefs)
    assert "--include=bash=1.0,python3=1.0" in command
    assert ("--setup-hook=cp '/cache/rootfs/.b.build-x/apt preferences' "
            '"$1/etc/apt/preferences.d/lab-rootfs-lock"') in command
    assert not any(a.startswith("--aptopt") for a in command)


def test_apt_accepts_an_expired_index_only_when_told_to() -> None:
    target = Path("/t")
    told = mmdebstrap_command(SMALL, MIRROR, target, expired_index=True)
    assert told[:5] == ["mmdebstrap", "--mode=root", "--variant=minbase",
                        "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg",
                        '--aptopt=Acquire::Check-Valid-Until "false"']


def test_the_builder_runs_in_a_private_mount_namespace_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mount_namespace.subprocess, "run", probe_answering(0))
    mount_namespace.unshare_prefix.cache_clear()
    try:
        assert in_own_mount_namespace(["mmdebstrap", "x"]) == [
            "unshare", "--mount", "--propagation", "private", "mmdebstrap", "x"]
    finally:
        mount_namespace.unshare_prefix.cache_clear()


def test_in_a_chroot_the_builder_keeps_the_propagation_it_has_and_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """unshare cannot make a chroot's root private (it is no mount point): EINVAL,
    and the build failed at once in a fresh bookworm root."""
    monkeypatch.setattr(mount_namespace.subprocess, "run", probe_answering(
        1, "unshare: cannot change root filesystem propagation: Invalid argument"))
    mount_namespace.unshare_prefix.cache_clear()
    try:
        assert in_own_mount_namespace(["mmdebstrap", "x"]) == [
            "unshare", "--mount", "--propagation", "unchanged", "mmdebstrap", "x"]
    finally:
        mount_namespace.unshare_prefix.cache_clear()
    assert "cannot be made private here (unshare: cannot change root" in capsys.readouterr().err


def probe_answering(status: int, stderr: str = "") -> Callable[..., object]:
    def run(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        assert command[:2] == ["unshare", "--mount"] and command[-1] == "true"
        return subprocess.CompletedProcess(command, status, "", stderr)
    return run


def test_recipe_variant_defaults_to_minbase(tmp_path: Path) -> None:
    path = tmp_path / "rootfs.toml"
    path.write_text('suite = "trixie"\npackages = ["bash"]\n')
    assert load_recipe(path) == Recipe("trixie", "minbase", ("bash",))


@pytest.mark.parametrize(("body", "missing"), [
    ('suite = "bookworm"\n', "packages"),
    ('packages = ["bash"]\n', "suite"),
])
def test_recipe_missing_a_required_key_is_a_lab_error(
        tmp_path: Path, body: str, missing: str) -> None:
    path = tmp_path / "rootfs.toml"
    path.write_text(body)
    with pytest.raises(LabError) as info:
        load_recipe(path)
    assert str(info.value) == f"{path}: not a valid rootfs recipe ('{missing}')"


@pytest.mark.parametrize("body", [None, "suite = \n"], ids=["missing-file", "bad-toml"])
def test_unreadable_recipe_is_a_lab_error(tmp_path: Path, body: str | None) -> None:
    path = tmp_path / "rootfs.toml"
    if body is not None:
        path.write_text(body)
    with pytest.raises(LabError, match="not a valid rootfs recipe"):
        load_recipe(path)


# --- packages declared by scenarios -------------------------------------------

def scenario(name: str, *packages: str) -> Scenario:
    """A valid scenario named `name` that declares these guest packages."""
    data = {
        "summary": f"{name}, declaring {packages}",
        "build": {"commands": []},
        "load": {"command": "python3 x.py", "ready": "^ready$", "capture": "output"},
        "workload": [{"run": "true", "record": "runs"}],
        "expect": [{"summary": "a line", "for_each": "runs", "lines": ["pid ${pid}$"]}],
        "guest_packages": list(packages),
    }
    return parse_scenario(data, Path(f"/project/scenarios/{name}.toml"))


NET = scenario("net", "iproute2", "strace")
TRACE = scenario("trace", "strace", "bash")
PLAIN = scenario("plain")


def test_package_sources_name_the_recipe_and_each_declaring_scenario() -> None:
    sources = package_sources(SMALL, [NET, TRACE, PLAIN])
    assert sources == {
        "bash": ("recipe", "trace"),
        "iproute2": ("net",),
        "python3": ("recipe",),
        "strace": ("net", "trace"),
    }
    assert list(sources) == sorted(sources)


def test_guest_recipe_is_the_recipe_plus_declared_packages_sorted_once() -> None:
    full = guest_recipe(SMALL, [NET, TRACE])
    assert full == Recipe("bookworm", "minbase", ("bash", "iproute2", "python3", "strace"))
    assert guest_recipe(SMALL, []) == Recipe("bookworm", "minbase", ("bash", "python3"))
    assert guest_recipe(SMALL, [PLAIN]) == guest_recipe(SMALL, [])


def test_digest_covers_the_whole_package_set_and_only_the_set() -> None:
    base = digest(guest_recipe(SMALL, []), [K61])
    with_net = digest(guest_recipe(SMALL, [NET]), [K61])
    assert with_net != base, "a newly declared package gives a new root"
    assert digest(guest_recipe(SMALL, [NET, TRACE]), [K61]) == with_net, \
        "strace twice and bash (already in the recipe) add nothing"
    assert digest(guest_recipe(SMALL, [TRACE, NET]), [K61]) == with_net
    assert digest(guest_recipe(SMALL, [PLAIN]), [K61]) == base
    assert digest(Recipe("bookworm", "minbase", ("bash", "python3", "bash")), [K61]) == base


def test_digest_of_the_shipped_recipe_without_declared_packages_is_the_recipes(
        recipe: Recipe) -> None:
    """guest_recipe only sorts: a recipe nobody adds to keeps its digest."""
    assert digest(guest_recipe(recipe, [PLAIN]), [K61]) == digest(recipe, [K61])


def sha(name: str) -> str:
    return f"{sum(map(ord, name)):064x}"


def pinned(recipe: Recipe, *scenarios: Scenario, extra: str = "libc6") -> Recipe:
    """recipe with a lock of what it and the scenarios ask for plus one package apt
    brings in (`extra`), each at version 1.0."""
    asked = guest_recipe(recipe, scenarios).packages
    names = sorted({*asked, extra})
    lock = RootLock(recipe.suite, recipe.variant, asked,
                    tuple(LockedPackage(name, "1.0", sha(name)) for name in names))
    return dataclasses.replace(recipe, lock=lock)


SMALL_LOCKED = pinned(SMALL)


class FakeArchive:
    """The part of DebianArchive the root's build uses: every name in `known` (every
    name when None) is a package at `version`, whose sha256 is sha(name)."""

    mirror = MIRROR
    suite = "bookworm"
    component = "main"
    arch = "amd64"

    def __init__(self, known: set[str] | None = None, version: str = "1.0") -> None:
        self.known = known
        self.version = version
        self.expired = False
        self.looked_up: list[str] = []

    def find(self, name: str, version: str | None = None) -> PackageRecord:
        self.looked_up.append(name)
        if self.known is not None and name not in self.known:
            raise PackageNotFound(f"package {name} version (any) not found")
        if version not in (None, self.version):
            raise PackageNotFound(f"package {name} version {version} not found")
        return PackageRecord(name, self.version, f"pool/{name}.deb", sha(name), 1, "")

    def used_past_valid_until(self) -> bool:
        return self.expired


def test_check_packages_accepts_known_names_and_looks_each_up_once() -> None:
    archive = FakeArchive({"bash", "python3", "iproute2", "strace"})
    check_packages(archive, SMALL, [NET, TRACE])  # type: ignore[arg-type]
    assert archive.looked_up == ["bash", "iproute2", "python3", "strace"]


def test_an_unknown_declared_package_names_the_scenario_and_the_package() -> None:
    typo = scenario("typo", "iproute", "strace")
    archive = FakeArchive({"bash", "python3", "strace"})
    with pytest.raises(LabError) as info:
        check_packages(archive, SMALL, [typo])  # type: ignore[arg-type]
    first, explanation = str(info.value).split("\n")
    assert first == ("/project/scenarios/typo.toml: `guest_packages` names 'iproute': not a "
                     f"package of bookworm (main, amd64) on {MIRROR}, the suite of the guest "
                     "root's recipe.")
    assert "a virtual name that other packages only Provide is not enough" in explanation
    assert explanation.endswith("Nothing was built or booted.")


def test_every_unknown_package_is_named_with_every_scenario_declaring_it() -> None:
    archive = FakeArchive({"bash", "python3"})
    with pytest.raises(LabError) as info:
        check_packages(archive, SMALL, [NET, TRACE])  # type: ignore[arg-type]
    assert str(info.value).startswith(
        "/project/scenarios/net.toml: `guest_packages` names 'iproute2'; "
        "/project/scenarios/net.toml: `guest_packages` names 'strace'; "
        "/project/scenarios/trace.toml: `guest_packages` names 'strace': not a package of ")


def test_an_unknown_recipe_package_names_the_recipe() -> None:
    archive = FakeArchive({"bash"})
    with pytest.raises(LabError, match=r"^the recipe \(vm/rootfs.toml\): `packages` names "
                                       r"'python3': not a package of bookworm"):
        check_packages(archive, SMALL, [])  # type: ignore[arg-type]


def test_describe_packages_says_where_each_comes_from() -> None:
    assert describe_packages(SMALL, [NET, TRACE]) == [
        "bash      the recipe, scenario trace",
        "iproute2  scenario net",
        "python3   the recipe",
        "strace    scenario net, scenario trace",
    ]


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_unpack_into_root_keeps_the_merged_usr_symlinks(tmp_path: Path) -> None:
    release = "6.1.0-50-amd64"
    package = tmp_path / "pkg"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "DEBIAN" / "control").write_text(
        "Package: linux-headers-test\nVersion: 1\nArchitecture: amd64\n"
        "Maintainer: lab tests <lab@example.invalid>\nDescription: fake headers\n")
    (package / "lib" / "modules" / release).mkdir(parents=True)
    (package / "lib" / "modules" / release / "build").symlink_to(
        f"/usr/src/linux-headers-{release}")
    (package / "usr" / "src" / f"linux-headers-{release}").mkdir(parents=True)
    (package / "usr" / "src" / f"linux-headers-{release}" / "Makefile").write_text("all:\n")
    deb = tmp_path / "headers.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(package), str(deb)],
                   check=True, capture_output=True)
    root = tmp_path / "rootfs" / "bookworm-x.partial"
    (root / "usr" / "lib").mkdir(parents=True)
    (root / "usr" / "lib" / "os-release").write_text("ID=debian\n")
    (root / "lib").symlink_to("usr/lib")

    unpack_into_root(deb, root)

    assert (root / "lib").is_symlink(), "the guest's /lib must stay a symlink to usr/lib"
    assert (root / "usr" / "lib" / "os-release").read_text() == "ID=debian\n"
    assert (root / "usr" / "lib" / "modules" / release / "build").is_symlink()
    assert (root / "usr" / "src" / f"linux-headers-{release}" / "Makefile").read_text() == "all:\n"
    assert sorted(p.name for p in root.parent.iterdir()) == [root.name], "no scratch dir is left"


class Archives(list[bool]):
    """The suite's index as build_rootfs sees it; whether each request was pinned."""

    def __init__(self, fake: FakeArchive) -> None:
        super().__init__()
        self.fake = fake

    def __call__(self, mirror: str, suite: str, cache: Path, *,
                 pinned: bool = False, arch: str = "amd64") -> FakeArchive:
        self.append(pinned)
        return self.fake


@pytest.fixture
def archives(monkeypatch: pytest.MonkeyPatch) -> Archives:
    served = Archives(FakeArchive())
    monkeypatch.setattr(lab.cache.rootfs, "suite_archive", served)
    return served


@pytest.fixture
def archive(archives: Archives) -> FakeArchive:
    """The suite's index as build_rootfs sees it: every name is a package."""
    return archives.fake


def write_status(root: Path, versions: dict[str, str]) -> None:
    status = root / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n".join(f"Package: {name}\nStatus: install ok installed\n"
                                f"Version: {version}\n" for name, version in versions.items()))


class Builds(list[Path]):
    """The targets the fake mmdebstrap wrote, the packages of each build, whether
    apt was told to accept an expired index, and what the next build installs
    (None: what the lock pins)."""

    def __init__(self) -> None:
        super().__init__()
        self.packages: list[tuple[str, ...]] = []
        self.expired_index: list[bool] = []
        self.installs: dict[str, str] | None = None


@pytest.fixture
def mmdebstrap(monkeypatch: pytest.MonkeyPatch, archive: FakeArchive) -> Builds:
    """A fake mmdebstrap that writes a tiny merged-/usr root; returns its targets."""
    targets = Builds()

    def fake(recipe: Recipe, mirror: str, target: Path, expired_index: bool) -> None:
        targets.append(target)
        targets.packages.append(recipe.packages)
        targets.expired_index.append(expired_index)
        installs = targets.installs
        if installs is None:
            assert recipe.lock is not None, "an unpinned build must say what it installs"
            installs = recipe.lock.versions()
        write_status(target, installs)
        for directory in ("etc", "usr/bin", "usr/lib/python3/dist-packages/bcc", "var/log"):
            (target / directory).mkdir(parents=True)
        (target / "usr" / "lib" / "os-release").write_text("ID=debian\n")
        (target / "etc" / "os-release").symlink_to("../usr/lib/os-release")
        (target / "usr" / "bin" / "python3").write_bytes(b"\x7fELF python" * 100)
        (target / "usr" / "lib" / "python3" / "dist-packages" / "bcc" / "__init__.py").write_text(
            "import ctypes\n")
        (target / "lib").symlink_to("usr/lib")

    monkeypatch.setattr(lab.cache.rootfs, "_mmdebstrap", fake)
    return targets


def rootfs_left(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "rootfs").iterdir())


def test_a_built_root_is_stamped_and_reused(tmp_path: Path, mmdebstrap: list[Path]) -> None:
    root = build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    assert root == rootfs_dir(tmp_path, SMALL_LOCKED, [])
    assert (root / ".lab-stamp.json").is_file()
    assert (root / "lab").is_dir(), "the mount point of the work directory"
    assert rootfs_left(tmp_path) == [root.name], "no staging directory or lock file is left"
    assert build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, []) == root
    assert len(mmdebstrap) == 1


def truncate_python(root: Path) -> None:
    (root / "usr" / "bin" / "python3").write_bytes(b"\x7fELF")


def drop_a_module(root: Path) -> None:
    (root / "usr" / "lib" / "python3" / "dist-packages" / "bcc" / "__init__.py").unlink()


def drop_the_mount_point(root: Path) -> None:
    (root / "lab").rmdir()


@pytest.mark.parametrize(("fault", "reason"), [
    (truncate_python, "a file under usr/bin was added, removed, resized or changed"),
    (drop_a_module, "a file under usr/lib/python3 was added, removed"),
    (drop_the_mount_point, "the entries at the top of it changed"),
    (lambda root: (root / ".lab-stamp.json").unlink(), "it has no completion stamp"),
], ids=["truncated-binary", "missing-module", "missing-mount-point", "missing-stamp"])
def test_a_damaged_root_is_detected_and_built_again(
        tmp_path: Path, mmdebstrap: list[Path], capsys: pytest.CaptureFixture[str],
        fault: Callable[[Path], None], reason: str) -> None:
    root = build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    fault(root)
    capsys.readouterr()
    assert build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, []) == root
    assert f"not using the cached guest root {root}: {reason}" in capsys.readouterr().err
    assert len(mmdebstrap) == 2
    assert (root / "usr" / "bin" / "python3").stat().st_size == len(b"\x7fELF python" * 100)
    assert rootfs_left(tmp_path) == [root.name]


def test_what_a_running_guest_adds_does_not_discard_the_root(
        tmp_path: Path, mmdebstrap: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """virtme-ng writes /virtme-init-XXXX into the root while a guest runs (and leaves
    it when killed): another lab process must not take that for damage and rebuild
    the root under the running guest."""
    root = build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    (root / "virtme-init-k2ab9x").write_text("#!/bin/sh\n")
    (root / "var" / "log" / "guest.log").write_text("written at run time\n")
    assert build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, []) == root
    assert len(mmdebstrap) == 1
    assert "not using" not in capsys.readouterr().err


def test_a_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       archive: FakeArchive) -> None:
    def failing(recipe: Recipe, mirror: str, target: Path, expired_index: bool) -> None:
        (target / "etc").mkdir(parents=True)
        (target / "etc" / "os-release").write_text("ID=debian\n")  # looked complete before
        raise LabError("mmdebstrap failed (exit 1)")

    monkeypatch.setattr(lab.cache.rootfs, "_mmdebstrap", failing)
    with pytest.raises(LabError, match="mmdebstrap failed"):
        build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    assert rootfs_left(tmp_path) == []


# --- the root of the recipe plus the scenarios' packages ---------------------

def test_declared_packages_are_built_into_one_root_once_then_reused(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive) -> None:
    base = build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [], [PLAIN])
    assert mmdebstrap.packages == [("bash", "python3")]
    assert base == rootfs_dir(tmp_path, SMALL_LOCKED, [])

    locked_with_net = pinned(SMALL, NET)
    with_net = build_rootfs(tmp_path, MIRROR, locked_with_net, [], [PLAIN, NET])
    assert with_net != base, "a newly declared package gives a new root"
    assert mmdebstrap.packages[1] == ("bash", "iproute2", "python3", "strace")
    assert with_net == rootfs_dir(tmp_path, guest_recipe(locked_with_net, [NET]), [])

    looked_up = len(archive.looked_up)
    assert build_rootfs(tmp_path, MIRROR, locked_with_net, [], [NET, PLAIN, TRACE]) == with_net
    assert len(mmdebstrap) == 2, "the same set is reused, whoever declares it"
    assert len(archive.looked_up) == looked_up, "a cached root needs no index"


def test_an_unknown_package_stops_before_mmdebstrap(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive) -> None:
    archive.known = {"bash", "python3", "strace"}
    with pytest.raises(LabError, match=r"net\.toml: `guest_packages` names 'iproute2'"):
        build_rootfs(tmp_path, MIRROR, pinned(SMALL, NET), [], [NET])
    assert mmdebstrap == []
    assert not (tmp_path / "rootfs").exists() or rootfs_left(tmp_path) == []


def test_cached_rootfs_says_where_the_root_is_and_whether_it_is_built(
        tmp_path: Path, mmdebstrap: Builds) -> None:
    locked = pinned(SMALL, NET)
    root, problem = cached_rootfs(tmp_path, locked, [K61], [NET])
    assert root == rootfs_dir(tmp_path, guest_recipe(locked, [NET]), [K61])
    assert problem == "it is not there"
    built = build_rootfs(tmp_path, MIRROR, locked, [], [NET])
    assert cached_rootfs(tmp_path, locked, [], [NET]) == (built, None)
    assert mmdebstrap == [mmdebstrap[0]]


def test_lab_rootfs_build_list_says_which_scenario_brought_which_package(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lab rootfs build --list`: every package and where it comes from; nothing is built."""
    from lab.cli import main

    monkeypatch.setenv("LAB_PROJECT_DIR", str(VM_DIR.parent))
    monkeypatch.setenv("LAB_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(lab.cache.rootfs, "_build", lambda *args: pytest.fail("--list built"))
    assert main(["rootfs", "build", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{tmp_path}/rootfs/bookworm-")
    assert lines[0].endswith("(to be built: it is not there); bookworm packages and where "
                             "each comes from:")
    ours = list(itertools.takewhile(lambda line: line.startswith("  "), lines[1:]))
    rows = {line.split()[0]: line.split(None, 1)[1] for line in ours}
    assert rows["strace"] == "scenario ptrace-snoop"
    assert rows["bpfcc-tools"] == "the recipe"
    assert rows["python3-pyelftools"] == "the recipe"
    assert list(rows) == sorted(rows)


# --- the lock: checked against the index before, and the root after --------

def test_the_lock_is_part_of_what_names_and_stamps_the_root(tmp_path: Path) -> None:
    other = pinned(SMALL, extra="zlib1g")
    assert digest(other, [K61]) != digest(SMALL_LOCKED, [K61])
    assert rootfs_dir(tmp_path, other, []) != rootfs_dir(tmp_path, SMALL_LOCKED, [])


def test_a_build_looks_at_a_pinned_index_and_builds_what_the_lock_pins(
        tmp_path: Path, mmdebstrap: Builds, archives: Archives) -> None:
    build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    assert archives == [True], "the root's packages are held to the lock: a pinned index"
    assert archives.fake.looked_up == ["bash", "python3",  # the names (check_packages)
                                       "bash", "libc6", "python3"]  # the lock (check_index)
    assert mmdebstrap.expired_index == [False]


@pytest.mark.parametrize("expired", [True, False])
def test_apt_is_told_to_accept_an_expired_index_exactly_when_the_lab_accepted_it(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive, expired: bool) -> None:
    archive.expired = expired
    build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    assert mmdebstrap.expired_index == [expired]


@pytest.mark.parametrize("recipe", [SMALL, pinned(SMALL, NET)], ids=["no-lock", "other-set"])
def test_a_lock_that_does_not_pin_the_package_set_stops_before_mmdebstrap(
        tmp_path: Path, mmdebstrap: Builds, recipe: Recipe) -> None:
    with pytest.raises(LabError, match=r"run `lab rootfs lock` to pin what the archive has "
                                       r"now\. Nothing was built or booted\.$"):
        build_rootfs(tmp_path, MIRROR, recipe, [])
    assert mmdebstrap == []


def test_a_locked_version_the_index_no_longer_carries_stops_before_mmdebstrap(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive) -> None:
    """A point release replaced it, or the mirror replays an older index."""
    archive.version = "0.9"
    with pytest.raises(LabError) as info:
        build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    message = str(info.value)
    assert "pins 3 package version(s) that the signed bookworm" in message
    assert "bash 1.0 (the index has 0.9)" in message
    assert "run `lab rootfs lock`" in message and "a replayed index" in message
    assert mmdebstrap == []


def test_a_locked_package_with_another_sha256_in_the_index_is_refused(
        tmp_path: Path, mmdebstrap: Builds) -> None:
    lock = SMALL_LOCKED.lock
    assert lock is not None
    forged = dataclasses.replace(lock, packages=(
        LockedPackage("bash", "1.0", "ee" * 32), *lock.packages[1:]))
    with pytest.raises(IntegrityError, match="other sha256s than"):
        build_rootfs(tmp_path, MIRROR, dataclasses.replace(SMALL, lock=forged), [])
    assert mmdebstrap == []


def test_a_root_that_is_not_what_the_lock_pins_is_not_kept(
        tmp_path: Path, mmdebstrap: Builds) -> None:
    mmdebstrap.installs = {"bash": "1.1", "python3": "1.0", "libc6": "1.0", "gcc-12": "1.0"}
    with pytest.raises(LabError) as info:
        build_rootfs(tmp_path, MIRROR, SMALL_LOCKED, [])
    assert str(info.value).startswith(
        "the guest root mmdebstrap built is not what vm/rootfs.lock pins: bash is 1.1, the "
        "lock says 1.0; gcc-12 1.0 is installed but not locked.")
    assert rootfs_left(tmp_path) == []


def test_lab_rootfs_lock_writes_what_an_unpinned_build_installed(
        tmp_path: Path, mmdebstrap: Builds, archives: Archives) -> None:
    mmdebstrap.installs = {"bash": "1.0", "iproute2": "1.0", "python3": "1.0",
                           "strace": "1.0", "libc6": "1.0"}
    recipe = dataclasses.replace(SMALL, lock_file=tmp_path / "rootfs.lock")
    lock = lock_rootfs(tmp_path, MIRROR, recipe, [NET])
    assert archives == [False], "locking looks for what is newest: an unpinned index"
    assert mmdebstrap.packages == [("bash", "iproute2", "python3", "strace")]
    assert load_root_lock(tmp_path / "rootfs.lock") == lock
    assert lock.requested == ("bash", "iproute2", "python3", "strace")
    assert lock.versions() == mmdebstrap.installs
    assert {p.package: p.sha256 for p in lock.packages} == {
        name: sha(name) for name in mmdebstrap.installs}
    assert rootfs_left(tmp_path) == [], "the unpinned tree is thrown away"
    locked = dataclasses.replace(recipe, lock=lock)
    assert build_rootfs(tmp_path, MIRROR, locked, [], [NET]) == rootfs_dir(
        tmp_path, guest_recipe(locked, [NET]), [])


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_the_shipped_lock_pins_the_recipe_and_every_scenarios_packages(arch: str) -> None:
    """vm/rootfs.lock (vm/rootfs.arm64.lock) is committed, so a fresh checkout builds
    its root without `lab rootfs lock`; a scenario that declares a new package needs
    a new lock, for each architecture."""
    scenarios = load_scenarios(VM_DIR.parent / "scenarios",
                               load_catalog(VM_DIR / "kernels.toml").keys())
    recipe = load_recipe(VM_DIR / "rootfs.toml", arch=arch)
    lock = required_lock(guest_recipe(recipe, scenarios))
    assert all(len(p.sha256) == 64 for p in lock.packages)


# --- an interrupted build and what it mounted ---------------------------------

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting needs root")


@pytest.fixture
def host_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory of the host's with a file in it (a stand-in for /dev/shm); at the
    end, whatever is still mounted under tmp_path is unmounted."""
    host = tmp_path / "host-shm"
    host.mkdir()
    (host / "host-file").write_text("the host's")
    yield host
    for point in reversed(mounts_under(tmp_path)):
        subprocess.run(["umount", "--lazy", point], check=False)


@needs_root
def test_a_failed_build_never_deletes_through_what_the_builder_left_mounted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archive: FakeArchive,
        host_dir: Path) -> None:
    cache = tmp_path / "cache"

    def killed(recipe: Recipe, mirror: str, target: Path, *_: object) -> None:
        (target / "dev" / "shm").mkdir(parents=True)
        subprocess.run(["mount", "--bind", str(host_dir), str(target / "dev" / "shm")],
                       check=True)
        raise LabError("mmdebstrap failed (exit 137)")

    monkeypatch.setattr(lab.cache.rootfs, "_mmdebstrap", killed)
    with pytest.raises(LabError, match="exit 137"):
        build_rootfs(cache, MIRROR, SMALL_LOCKED, [])
    assert (host_dir / "host-file").read_text() == "the host's"
    assert mounts_under(cache) == []
    assert rootfs_left(cache) == []


FAKE_MMDEBSTRAP = """#!/bin/sh
# mmdebstrap as far as mounts go: binds a host directory into the root it builds
# (as mmdebstrap binds /dev/shm) and unmounts it when told SIGTERM, after a while.
eval target=\\"\\${$(($# - 1))}\\"
state=$LAB_TEST_STATE
readlink /proc/self/ns/mnt > "$state/namespace"
mkdir -p "$target/dev/shm"
mount --bind "$LAB_TEST_HOST" "$target/dev/shm"
trap 'sleep 1; umount "$target/dev/shm"; echo done > "$state/cleaned"; exit 1' TERM
echo $$ > "$state/ready"
while :; do sleep 0.1; done
"""

BUILD_IN_A_CHILD = """
import dataclasses, sys
from pathlib import Path
import lab.cache.rootfs as rootfs
from lab import interrupts
from lab.cache.archive import PackageRecord

class Archive:
    mirror, suite, component, arch = "http://mirror.invalid/debian", "bookworm", "main", "amd64"
    def find(self, name, version=None):
        return PackageRecord(name, "1.0", "pool/x.deb", "00" * 32, 1, "")
    def used_past_valid_until(self):
        return False

if sys.argv[2] == "stop-once":  # as under pytest (the lab's plugin), else as `lab`
    interrupts.install(interrupts.StopOnce())
rootfs.suite_archive = lambda *args, **kwargs: Archive()
recipe = rootfs.Recipe("bookworm", "minbase", ("bash",))
try:
    from lab.cache.root_lock import LockedPackage, RootLock
    lock = RootLock("bookworm", "minbase", ("bash",), (LockedPackage("bash", "1.0", "00" * 32),))
    recipe = dataclasses.replace(recipe, lock=lock)
except ImportError:  # the lab before the root's lock: the same build, unpinned
    pass
rootfs.build_rootfs(Path(sys.argv[1]), Archive.mirror, recipe, [])
"""


def wait_for(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.exists()


@needs_root
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
@pytest.mark.parametrize("handler", ["stop-once", "none"])
def test_sigterm_during_the_build_lets_mmdebstrap_unmount_and_deletes_nothing_of_the_host(
        tmp_path: Path, host_dir: Path, handler: str) -> None:
    """The lab, told SIGTERM while mmdebstrap runs, tells mmdebstrap's process group
    SIGTERM (which mmdebstrap cleans up on) and waits for it; the builder ran in a
    mount namespace of its own, so nothing it mounted is ever the host's."""
    cache, state, fake_bin = tmp_path / "cache", tmp_path / "state", tmp_path / "bin"
    for directory in (state, fake_bin):
        directory.mkdir()
    (fake_bin / "mmdebstrap").write_text(FAKE_MMDEBSTRAP)
    (fake_bin / "mmdebstrap").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}",
           "LAB_TEST_STATE": str(state), "LAB_TEST_HOST": str(host_dir),
           "PYTHONPATH": str(Path(lab.__file__).parents[1])}
    child = subprocess.Popen([sys.executable, "-c", BUILD_IN_A_CHILD, str(cache), handler],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert wait_for(state / "ready", 20), "the fake mmdebstrap never started"
        child.send_signal(signal.SIGTERM)
        _, stderr = child.communicate(timeout=30)
        assert (state / "cleaned").exists(), f"mmdebstrap was not let clean up: {stderr}"
        assert (state / "namespace").read_text().strip() != os.readlink("/proc/self/ns/mnt")
        assert mounts_under(cache) == []
        assert (host_dir / "host-file").read_text() == "the host's"
        assert "KeyboardInterrupt" in stderr
        assert sorted(p.name for p in (cache / "rootfs").iterdir()) == []
    finally:
        if child.poll() is None:
            child.kill()
        ready = state / "ready"
        if ready.exists():  # a builder the lab left running on its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(ready.read_text()), signal.SIGKILL)

"""Tests for lab.cache.rootfs: the recipe, the packages scenarios add to it, the root's
digest, the check of package names, the mmdebstrap command, and unpacking headers
into a merged-/usr root."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import lab.cache.rootfs
from lab.cache.catalog import LockedDeb, LockedKernel
from lab.cache.rootfs import (
    Recipe,
    build_rootfs,
    cached_rootfs,
    check_packages,
    describe_packages,
    digest,
    guest_recipe,
    load_recipe,
    mmdebstrap_command,
    package_sources,
    rootfs_dir,
    unpack_into_root,
)
from lab.errors import LabError, PackageNotFound
from lab.scenario import Scenario, parse_scenario

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
    command = mmdebstrap_command(recipe, MIRROR, target)
    assert command[0] == "mmdebstrap"
    assert "--mode=root" in command
    assert "--variant=minbase" in command
    assert "--keyring=/usr/share/keyrings/debian-archive-keyring.gpg" in command
    include = next(a for a in command if a.startswith("--include="))
    assert include.removeprefix("--include=").split(",") == list(recipe.packages)
    assert command[-3:] == ["bookworm", str(target), MIRROR]


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


class FakeArchive:
    """The part of DebianArchive check_packages uses; knows only `known`."""

    mirror = MIRROR
    suite = "bookworm"
    component = "main"
    arch = "amd64"

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = known
        self.looked_up: list[str] = []

    def find(self, name: str) -> object:
        self.looked_up.append(name)
        if self.known is not None and name not in self.known:
            raise PackageNotFound(f"package {name} version (any) not found")
        return name


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


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> FakeArchive:
    """The suite's index as build_rootfs sees it: every name is a package."""
    fake = FakeArchive()
    monkeypatch.setattr(lab.cache.rootfs, "suite_archive", lambda mirror, suite, cache: fake)
    return fake


class Builds(list[Path]):
    """The targets the fake mmdebstrap wrote, and the packages of each build."""

    def __init__(self) -> None:
        super().__init__()
        self.packages: list[tuple[str, ...]] = []


@pytest.fixture
def mmdebstrap(monkeypatch: pytest.MonkeyPatch, archive: FakeArchive) -> Builds:
    """A fake mmdebstrap that writes a tiny merged-/usr root; returns its targets."""
    targets = Builds()

    def fake(recipe: Recipe, mirror: str, target: Path) -> None:
        targets.append(target)
        targets.packages.append(recipe.packages)
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
    root = build_rootfs(tmp_path, MIRROR, SMALL, [])
    assert root == rootfs_dir(tmp_path, SMALL, [])
    assert (root / ".lab-stamp.json").is_file()
    assert (root / "lab").is_dir(), "the mount point of the work directory"
    assert rootfs_left(tmp_path) == [root.name], "no staging directory or lock file is left"
    assert build_rootfs(tmp_path, MIRROR, SMALL, []) == root
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
    root = build_rootfs(tmp_path, MIRROR, SMALL, [])
    fault(root)
    capsys.readouterr()
    assert build_rootfs(tmp_path, MIRROR, SMALL, []) == root
    assert f"not using the cached guest root {root}: {reason}" in capsys.readouterr().err
    assert len(mmdebstrap) == 2
    assert (root / "usr" / "bin" / "python3").stat().st_size == len(b"\x7fELF python" * 100)
    assert rootfs_left(tmp_path) == [root.name]


def test_what_a_running_guest_adds_does_not_discard_the_root(
        tmp_path: Path, mmdebstrap: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    """virtme-ng writes /virtme-init-XXXX into the root while a guest runs (and leaves
    it when killed): another lab process must not take that for damage and rebuild
    the root under the running guest."""
    root = build_rootfs(tmp_path, MIRROR, SMALL, [])
    (root / "virtme-init-k2ab9x").write_text("#!/bin/sh\n")
    (root / "var" / "log" / "guest.log").write_text("written at run time\n")
    assert build_rootfs(tmp_path, MIRROR, SMALL, []) == root
    assert len(mmdebstrap) == 1
    assert "not using" not in capsys.readouterr().err


def test_a_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       archive: FakeArchive) -> None:
    def failing(recipe: Recipe, mirror: str, target: Path) -> None:
        (target / "etc").mkdir(parents=True)
        (target / "etc" / "os-release").write_text("ID=debian\n")  # looked complete before
        raise LabError("mmdebstrap failed (exit 1)")

    monkeypatch.setattr(lab.cache.rootfs, "_mmdebstrap", failing)
    with pytest.raises(LabError, match="mmdebstrap failed"):
        build_rootfs(tmp_path, MIRROR, SMALL, [])
    assert rootfs_left(tmp_path) == []


# --- the root of the recipe plus the scenarios' packages ---------------------

def test_declared_packages_are_built_into_one_root_once_then_reused(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive) -> None:
    base = build_rootfs(tmp_path, MIRROR, SMALL, [], [PLAIN])
    assert mmdebstrap.packages == [("bash", "python3")]
    assert base == rootfs_dir(tmp_path, SMALL, [])

    with_net = build_rootfs(tmp_path, MIRROR, SMALL, [], [PLAIN, NET])
    assert with_net != base, "a newly declared package gives a new root"
    assert mmdebstrap.packages[1] == ("bash", "iproute2", "python3", "strace")
    assert with_net == rootfs_dir(tmp_path, guest_recipe(SMALL, [NET]), [])

    looked_up = len(archive.looked_up)
    assert build_rootfs(tmp_path, MIRROR, SMALL, [], [NET, PLAIN, TRACE]) == with_net
    assert len(mmdebstrap) == 2, "the same set is reused, whoever declares it"
    assert len(archive.looked_up) == looked_up, "a cached root needs no index"


def test_an_unknown_package_stops_before_mmdebstrap(
        tmp_path: Path, mmdebstrap: Builds, archive: FakeArchive) -> None:
    archive.known = {"bash", "python3", "strace"}
    with pytest.raises(LabError, match=r"net\.toml: `guest_packages` names 'iproute2'"):
        build_rootfs(tmp_path, MIRROR, SMALL, [], [NET])
    assert mmdebstrap == []
    assert not (tmp_path / "rootfs").exists() or rootfs_left(tmp_path) == []


def test_cached_rootfs_says_where_the_root_is_and_whether_it_is_built(
        tmp_path: Path, mmdebstrap: Builds) -> None:
    root, problem = cached_rootfs(tmp_path, SMALL, [K61], [NET])
    assert root == rootfs_dir(tmp_path, guest_recipe(SMALL, [NET]), [K61])
    assert problem == "it is not there"
    built = build_rootfs(tmp_path, MIRROR, SMALL, [], [NET])
    assert cached_rootfs(tmp_path, SMALL, [], [NET]) == (built, None)
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
    rows = {line.split()[0]: line.split(None, 1)[1] for line in lines[1:]}
    assert rows["strace"] == "scenario ptrace-snoop"
    assert rows["bpfcc-tools"] == "the recipe"
    assert rows["python3-pyelftools"] == "the recipe"
    assert list(rows) == sorted(rows)

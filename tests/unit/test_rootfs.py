"""Tests for lab.rootfs: the recipe, the root's digest, the mmdebstrap command, and
unpacking headers into a merged-/usr root."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lab.catalog import LockedDeb, LockedKernel
from lab.errors import LabError
from lab.rootfs import Recipe, digest, load_recipe, mmdebstrap_command, rootfs_dir, unpack_into_root

VM_DIR = Path(__file__).resolve().parents[2] / "vm"
MIRROR = "http://deb.debian.org/debian"


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

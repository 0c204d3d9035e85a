"""Tests for lab.rootfs: the recipe, the root's digest, the mmdebstrap command, and
unpacking headers into a merged-/usr root."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import lab.rootfs
from lab.catalog import LockedDeb, LockedKernel
from lab.errors import LabError
from lab.rootfs import (
    Recipe,
    build_rootfs,
    digest,
    load_recipe,
    mmdebstrap_command,
    rootfs_dir,
    unpack_into_root,
)

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


SMALL = Recipe("bookworm", "minbase", ("bash", "python3"))


@pytest.fixture
def mmdebstrap(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A fake mmdebstrap that writes a tiny merged-/usr root; returns its targets."""
    targets: list[Path] = []

    def fake(recipe: Recipe, mirror: str, target: Path) -> None:
        targets.append(target)
        for directory in ("etc", "usr/bin", "usr/lib/python3/dist-packages/bcc", "var/log"):
            (target / directory).mkdir(parents=True)
        (target / "usr" / "lib" / "os-release").write_text("ID=debian\n")
        (target / "etc" / "os-release").symlink_to("../usr/lib/os-release")
        (target / "usr" / "bin" / "python3").write_bytes(b"\x7fELF python" * 100)
        (target / "usr" / "lib" / "python3" / "dist-packages" / "bcc" / "__init__.py").write_text(
            "import ctypes\n")
        (target / "lib").symlink_to("usr/lib")

    monkeypatch.setattr(lab.rootfs, "_mmdebstrap", fake)
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


def test_a_failed_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(recipe: Recipe, mirror: str, target: Path) -> None:
        (target / "etc").mkdir(parents=True)
        (target / "etc" / "os-release").write_text("ID=debian\n")  # looked complete before
        raise LabError("mmdebstrap failed (exit 1)")

    monkeypatch.setattr(lab.rootfs, "_mmdebstrap", failing)
    with pytest.raises(LabError, match="mmdebstrap failed"):
        build_rootfs(tmp_path, MIRROR, SMALL, [])
    assert rootfs_left(tmp_path) == []

"""Tests for lab.cache.guest_root: with an intact image of the root today's inputs
name, the root directory's 80k files are not walked; anything else checks (and
if need be builds) the directory and makes the image from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.cache import guest_root as module
from lab.cache import rootfs as rootfs_module
from lab.cache.cache_stamp import write_stamp
from lab.cache.guest_root import guest_root
from lab.cache.root_image import IMAGE_NAME, intact_root_image, root_image
from lab.cache.rootfs import Recipe, _rootfs_inputs, guest_recipe, rootfs_dir

pytestmark = pytest.mark.skipif(shutil.which("mksquashfs") is None,
                                reason="mksquashfs is not installed (squashfs-tools, which "
                                       "`lab doctor` lists for the tests)")
RECIPE = Recipe(suite="bookworm", variant="minbase", packages=("clang",))


def make_root(cache: Path, recipe: Recipe) -> Path:
    """A small stamped root directory for recipe, as build_rootfs leaves one."""
    root = rootfs_dir(cache, guest_recipe(recipe, ()), [])
    (root / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    (root / "usr" / "bin" / "tool").write_text("#!/bin/sh\n")
    write_stamp(root, _rootfs_inputs(guest_recipe(recipe, ()), []), {"made": "by the test"})
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache holding the stamped root directory of RECIPE and its image."""
    cache = tmp_path / "cache"
    root_image(cache, make_root(cache, RECIPE))
    return cache


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Calls of build_rootfs, the path that checks the directory's files."""
    calls: list[str] = []

    def checked(cache: Path, mirror: str, recipe: Recipe, kernels: object,
                scenarios: object = ()) -> Path:
        calls.append(recipe.packages[-1])
        return make_root(cache, recipe)

    monkeypatch.setattr(module, "build_rootfs", checked)
    return calls


def test_an_intact_image_of_todays_root_is_used_without_walking_the_root(
        cache: Path, builds: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def no_walk(root: Path) -> None:
        raise AssertionError("the root directory was walked")

    monkeypatch.setattr(rootfs_module, "rootfs_manifest", no_walk)
    root, image = guest_root(cache, "http://mirror", RECIPE, [])

    assert builds == []
    assert image.name == IMAGE_NAME and image.is_file()
    assert root == rootfs_dir(cache, guest_recipe(RECIPE, ()), [])


def test_a_damaged_image_sends_the_root_through_its_check(cache: Path,
                                                           builds: list[str]) -> None:
    root = rootfs_dir(cache, guest_recipe(RECIPE, ()), [])
    image = cache / "root-images" / root.name / IMAGE_NAME
    image.write_bytes(image.read_bytes()[:-4096])

    _, made = guest_root(cache, "http://mirror", RECIPE, [])

    assert builds == ["clang"], "the root directory was not checked"
    assert made == image and intact_root_image(cache, root) == image, "not made again"


def test_other_inputs_than_the_roots_stamp_send_it_through_its_check(
        cache: Path, builds: list[str]) -> None:
    other = Recipe(suite="bookworm", variant="minbase", packages=("clang", "bpftool"))
    stale = rootfs_dir(cache, guest_recipe(other, ()), [])
    shutil.copytree(rootfs_dir(cache, guest_recipe(RECIPE, ()), []), stale)  # RECIPE's stamp
    shutil.copytree(cache / "root-images" / rootfs_dir(cache, guest_recipe(RECIPE, ()), []).name,
                    cache / "root-images" / stale.name)

    root, image = guest_root(cache, "http://mirror", other, [])

    assert builds == ["bpftool"], "a root stamped for other inputs was used unchecked"
    assert (root, image) == (stale, intact_root_image(cache, stale))

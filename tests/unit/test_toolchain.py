"""The toolchain a report names for a guest root, read from its lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cache.root_lock import load_root_lock
from lab.cache.toolchain import toolchain, upstream_version

VM_DIR = Path(__file__).resolve().parents[2] / "vm"


@pytest.mark.parametrize(("debian", "upstream"), [
    ("1:14.0.6-12", "14.0.6"), ("7.1.0+6.1.176-1", "7.1.0"), ("1:1.1.2-0+deb12u1", "1.1.2"),
    ("1:19.1.7-3+b1", "19.1.7"), ("1.5.0", "1.5.0"), ("2.0~rc1-1", "2.0")])
def test_upstream_version_drops_epoch_revision_and_suffix(debian: str, upstream: str) -> None:
    assert upstream_version(debian) == upstream


def test_the_compiler_is_the_newest_versioned_clang_not_the_metapackage() -> None:
    versions = {"clang": "1:19.0-63", "clang-19": "1:19.1.7-3+b1", "clang-9": "1:9.0.1-1",
                "libbpf1": "1:1.5.0-3", "bpftool": "7.5.0+6.12.117-1", "libclang-cpp19": "x"}
    assert toolchain(versions) == "clang 19.1.7, libbpf 1.5.0, bpftool 7.5.0"


def test_a_tool_the_root_lacks_is_left_out() -> None:
    assert toolchain({"libbpf1": "1:1.1.2-0+deb12u1"}) == "libbpf 1.1.2"
    assert toolchain({}) == ""


@pytest.mark.parametrize("lock", ["rootfs.lock", "rootfs-trixie.lock"])
def test_each_shipped_lock_names_clang_libbpf_and_bpftool(lock: str) -> None:
    locked = load_root_lock(VM_DIR / lock)
    assert locked is not None
    named = toolchain(locked.versions())
    assert [part.split()[0] for part in named.split(", ")] == ["clang", "libbpf", "bpftool"]
    assert all(part.split()[1][0].isdigit() for part in named.split(", "))

"""Tests for lab.cache.cache_stamp: what a stamp records and how a change is named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lab.cache.cache_stamp import (
    STAMP_NAME,
    Manifest,
    hashed_files,
    inputs_digest,
    stamp_problem,
    top_entries,
    tree_digests,
    write_stamp,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "entry"
    for relative, content in {"usr/bin/bash": b"bash" * 10, "usr/lib/a/x.so": b"x",
                              "usr/lib/a/deep/y.so": b"yy", "usr/lib/b/z.so": b"z",
                              "boot/vmlinuz": b"image"}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    (root / "usr" / "lib" / "a" / "link").symlink_to("x.so")
    (root / "usr" / "lib" / "empty").mkdir()
    return root


def manifest(root: Path) -> Manifest:
    return {**top_entries(root), **tree_digests(root, "usr", depth=3),
            **hashed_files(root, ["boot/vmlinuz"])}


def test_groups_are_directories_cut_to_depth(tree: Path) -> None:
    groups = tree_digests(tree, "usr", depth=3)
    # a directory is in its own group: usr/lib/empty is there, though it holds nothing
    assert sorted(groups) == ["usr/bin", "usr/lib", "usr/lib/a", "usr/lib/b", "usr/lib/empty"]
    assert groups["usr/lib/a"].startswith("tree:5:")  # a/, x.so, link, deep/, deep/y.so


def test_a_change_only_touches_its_group(tree: Path) -> None:
    before = tree_digests(tree, "usr", depth=3)
    (tree / "usr" / "lib" / "a" / "deep" / "y.so").write_bytes(b"y")
    after = tree_digests(tree, "usr", depth=3)
    assert {k for k in before if before[k] != after[k]} == {"usr/lib/a"}
    (tree / "usr" / "lib" / "a" / "link").unlink()
    (tree / "usr" / "lib" / "a" / "link").symlink_to("elsewhere.so")
    assert tree_digests(tree, "usr", depth=3)["usr/lib/a"] != after["usr/lib/a"]


def test_a_good_stamp_is_accepted(tree: Path) -> None:
    inputs = inputs_digest("kernel", "6.1", ["ab" * 32])
    write_stamp(tree, inputs, manifest(tree))
    assert stamp_problem(tree, inputs, manifest) is None
    assert not (tree / f"{STAMP_NAME}.part").exists()


@pytest.mark.parametrize(("change", "reason"), [
    (lambda r: (r / "boot" / "vmlinuz").write_bytes(b"IMAGE"),
     "the content of boot/vmlinuz changed (its sha256 is not the one in the stamp)"),
    (lambda r: (r / "boot" / "vmlinuz").unlink(), "boot/vmlinuz cannot be read"),
    (lambda r: (r / "usr" / "bin" / "bash").write_bytes(b"bash"),
     "a file under usr/bin was added, removed, resized or changed since it was built"),
    (lambda r: shutil.rmtree(r / "usr" / "lib" / "b"), "usr/lib/b is missing"),
    (lambda r: (r / "usr" / "lib" / "c").mkdir(), "usr/lib/c was not there when it was built"),
    (lambda r: (r / "srv").mkdir(), "the entries at the top of it changed (now: boot,srv,usr)"),
    (lambda r: (r / STAMP_NAME).unlink(),
     "it has no completion stamp (an interrupted build, or one from before stamps)"),
    (lambda r: (r / STAMP_NAME).write_text("{trunc"),
     f"its completion stamp {STAMP_NAME} is unreadable"),
    (lambda r: (r / STAMP_NAME).write_text(json.dumps({"format": 0})),
     f"its completion stamp {STAMP_NAME} is of another format"),
], ids=["tampered", "missing-hashed", "resized", "group-gone", "group-added", "top-level",
        "no-stamp", "unreadable-stamp", "old-format"])
def test_each_change_is_named(tree: Path, change: object, reason: str) -> None:
    inputs = inputs_digest("x")
    write_stamp(tree, inputs, manifest(tree))
    assert callable(change)
    change(tree)
    problem = stamp_problem(tree, inputs, manifest)
    assert problem is not None and problem.startswith(reason), problem


def test_other_inputs_and_no_entry(tree: Path, tmp_path: Path) -> None:
    write_stamp(tree, inputs_digest("a"), manifest(tree))
    assert stamp_problem(tree, inputs_digest("b"), manifest) == (
        "it was built from other inputs than the ones pinned now")
    assert stamp_problem(tmp_path / "nothing", inputs_digest("a"), manifest) == "it is not there"
    assert inputs_digest("a", [1, 2]) != inputs_digest("a", [2, 1])

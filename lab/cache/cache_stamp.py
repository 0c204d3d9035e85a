"""Completion stamps: a cache entry is trusted only while it still is what was built.

`<entry>/.lab-stamp.json` is the last file written into a build, before the
build is renamed into place. It records a digest of the build's inputs (the
locked .debs of a kernel, the recipe and headers of a guest root) and a
manifest of what boots from the entry. Both are recomputed on every use: a
missing stamp (an interrupted build, or one made before stamps existed), other
inputs, or a different manifest (a truncated, resized, added, removed or
tampered file) make the caller discard the entry and build it again.

A manifest maps names to descriptions: `sha256:<hex>` for a file whose bytes
are hashed, `tree:<count>:<hex>` for a group of files whose (path, size, link
target) list is hashed. Grouping keeps the stamp small and still lets the
reason name where the change is.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from lab.cache.download import sha256_of

STAMP_NAME = ".lab-stamp.json"
STAMP_FORMAT = 1

Manifest = dict[str, str]


def inputs_digest(*parts: object) -> str:
    """sha256 of the JSON of parts: what an entry was built from."""
    text = json.dumps([STAMP_FORMAT, *parts], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def hashed_files(root: Path, relatives: list[str]) -> Manifest:
    """`sha256:` of each file, for the few files whose bytes matter (the kernel image)."""
    return {relative: f"sha256:{sha256_of(root / relative)}" for relative in relatives}


def tree_digests(root: Path, top: str, depth: int) -> Manifest:
    """(path, size, link target or "dir") of everything under root/top, hashed per
    group: the directory holding each entry, cut to its first `depth` components."""
    groups: dict[str, list[str]] = {}
    for relative, description, directory in _walk(root, top):
        key = "/".join(directory.split("/")[:depth])
        groups.setdefault(key, []).append(f"{relative}\0{description}\n")
    return {key: _group_digest(lines) for key, lines in groups.items()}


def _walk(root: Path, top: str) -> list[tuple[str, str, str]]:
    """Everything below root/top as (relative path, description, its directory);
    os.scandir, without following links, is the cheap way to see 100k files."""
    found: list[tuple[str, str, str]] = []
    pending = [(os.path.join(root, top), top)]
    while pending:
        absolute, directory = pending.pop()
        with os.scandir(absolute) as entries:
            for entry in entries:
                relative = f"{directory}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, relative))
                    found.append((relative, "dir", relative))
                elif entry.is_symlink():
                    found.append((relative, "-> " + os.readlink(entry.path), directory))
                else:
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append((relative, str(size), directory))
    return found


def top_entries(root: Path) -> Manifest:
    """The directories and links at the top of root (mount points are empty
    directories there). Plain files are left out: virtme-ng puts its
    `virtme-init-*` script there while a guest runs (and leaves it if killed)."""
    with os.scandir(root) as entries:
        names = sorted(entry.name for entry in entries
                       if entry.is_dir(follow_symlinks=False) or entry.is_symlink())
    return {"/": "entries:" + ",".join(names)}


def _group_digest(lines: list[str]) -> str:
    """Sorted, so the order a filesystem (or a tar restore) lists entries in does not matter."""
    text = "".join(sorted(lines)).encode(errors="surrogateescape")
    return f"tree:{len(lines)}:{hashlib.sha256(text).hexdigest()}"


def write_stamp(root: Path, inputs: str, manifest: Manifest) -> None:
    """Write the stamp of a finished tree (its last file), atomically."""
    text = json.dumps({"format": STAMP_FORMAT, "inputs": inputs, "manifest": manifest},
                      indent=1, sort_keys=True)
    partial = root / f"{STAMP_NAME}.part"
    partial.write_text(text + "\n")
    os.replace(partial, root / STAMP_NAME)


def stamp_problem(root: Path, inputs: str, manifest_of: Callable[[Path], Manifest]) -> str | None:
    """None if root is complete and unchanged since its stamp; else why it is not."""
    if not root.is_dir():
        return "it is not there"
    stamp = _read_stamp(root / STAMP_NAME)
    if isinstance(stamp, str):
        return stamp
    if stamp.get("inputs") != inputs:
        return "it was built from other inputs than the ones pinned now"
    try:
        current = manifest_of(root)
    except OSError as error:
        return f"{_relative(root, error.filename)} cannot be read ({error.strerror})"
    recorded = stamp.get("manifest")
    return None if current == recorded else _difference(recorded, current)


def stamp_names_inputs(root: Path, inputs: str) -> bool:
    """Whether root has a stamp recording these inputs (its manifest not checked)."""
    stamp = _read_stamp(root / STAMP_NAME)
    return not isinstance(stamp, str) and stamp.get("inputs") == inputs


def _read_stamp(path: Path) -> dict[str, object] | str:
    """The stamp's content, or why there is no usable one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return "it has no completion stamp (an interrupted build, or one from before stamps)"
    except (OSError, ValueError):
        return f"its completion stamp {path.name} is unreadable"
    if not isinstance(data, dict) or data.get("format") != STAMP_FORMAT:
        return f"its completion stamp {path.name} is of another format"
    return data


def _difference(recorded: object, current: Manifest) -> str:
    """Name the first thing that differs, in words a user can act on."""
    if not isinstance(recorded, dict):
        return "its completion stamp holds no manifest"
    for key in sorted(set(recorded) | set(current)):
        before, now = recorded.get(key), current.get(key)
        if before == now:
            continue
        if now is None:
            return f"{key} is missing"
        if before is None:
            return f"{key} was not there when it was built"
        if now.startswith("sha256:"):
            return f"the content of {key} changed (its sha256 is not the one in the stamp)"
        if now.startswith("entries:"):
            return f"the entries at the top of it changed (now: {now.removeprefix('entries:')})"
        return f"a file under {key} was added, removed, resized or changed since it was built"
    return "its manifest differs from the stamp"


def _relative(root: Path, filename: object) -> str:
    """A path from an OSError, relative to root when it is inside it."""
    path = Path(str(filename))
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

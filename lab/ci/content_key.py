"""The workflow's cache keys, each the sha256 of the content its cache depends on.

GitHub's caches are immutable: a key that was saved once is restored as it was,
never updated. So a key must change when what the cache should hold changes,
and should not change otherwise (each new key is a new upload):

- kernels and guest roots, one cache per target: the kernel catalog and lock,
  the guest roots' recipes and locks, the lab code that fetches and builds them
  (lab/cache), and which roots the tutorials ask for (a userland, extra packages);
- stored builds, one cache per (target, shard): the same, all of the lab's code
  (it builds, boots and judges the cells), and the files of the shard's own
  tutorials only (lab.ci.tutorial_files), so a change to a tutorial of another
  shard leaves the key, and the cache, as they are.

Neither cache is trusted for correctness: the lab checks every kernel, root and
build it finds against its own content key (lab.cache), and a stale one is
built again. The keys decide only when a cache is saved anew.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from lab.ci.tutorial_files import tutorial_paths
from lab.scenario import Scenario
from lab.scenario.shards import Shard

KEY_VERSION = "1"  # bump when a cache's layout changes
VM_FILES = ("vm/kernels.toml", "vm/kernels.lock", "vm/rootfs*.toml", "vm/rootfs*.lock")
ROOT_CODE = ("lab/cache",)
CELL_CODE = ("lab",)
SKIPPED = {"__pycache__"}
DIGITS = 20  # of the sha256 in a key: enough to never collide among a repository's caches


def roots_key(project: Path, target: str, scenarios: Sequence[Scenario]) -> str:
    """`lab-roots-<target>-<digest>`: kernels and guest roots of one target."""
    asked = sorted({(s.userland_on(target) or "", *sorted(s.guest_packages))
                    for s in scenarios})
    digest = _digest([f"roots {KEY_VERSION} {target}", *map(repr, asked),
                      *_file_lines(project, [*VM_FILES, *ROOT_CODE])])
    return f"lab-roots-{target}-{digest}"


def builds_prefix(target: str, shard: Shard) -> str:
    """What every builds key of this target and shard starts with: an older cache of
    the same shard is restored by it when the key has changed."""
    return f"lab-builds-{target}-{shard.index}of{shard.count}-"


def builds_key(project: Path, target: str, shard: Shard, members: Sequence[Scenario]) -> str:
    """`lab-builds-<target>-<K>of<N>-<digest>`: the stored builds of one shard of one
    target, from the shard's own tutorials (members) and what every cell depends on."""
    lines = [f"builds {KEY_VERSION} {target} {shard}",
             *_file_lines(project, [*VM_FILES, *CELL_CODE])]
    for scenario in sorted(members, key=lambda s: s.name):
        lines += [f"tutorial {scenario.name}",
                  *_file_lines(project, tutorial_paths(scenario, project))]
    return builds_prefix(target, shard) + _digest(lines)


def _digest(lines: Iterable[str]) -> str:
    sha = hashlib.sha256()
    for line in lines:
        sha.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return sha.hexdigest()[:DIGITS]


def _file_lines(project: Path, patterns: Iterable[str]) -> list[str]:
    """`<path> <sha256>` for every file the patterns name (a file, a directory's
    files at any depth, or a glob), sorted by path; a pattern that names nothing
    is a line of its own, so a file that appears changes the key too."""
    lines = []
    for pattern in patterns:
        found = sorted(project.glob(pattern))
        files = sorted({file for path in found for file in _files(path)})
        lines += [f"{file.relative_to(project).as_posix()} {_sha256(file)}" for file in files]
        if not files:
            lines.append(f"{pattern} absent")
    return lines


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [file for file in path.rglob("*") if file.is_file()
            and not SKIPPED & set(file.relative_to(path).parts) and file.suffix != ".pyc"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

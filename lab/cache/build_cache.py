"""Build outputs cached by content: an unchanged tutorial is built once per kernel.

Under software emulation a libbpf build costs 5 to 20 s in the guest (clang,
bpftool); a warm re-run of an unchanged tutorial should cost none of it. A
build is reused only when everything it was made from is the same:
- the tutorial's sources (every file of bpf/<name>/, path and the bytes a copy
  of the directory holds there: a link's target's bytes),
- its build commands, and whether the lab put vmlinux.h in for it,
- the lab's own guest tools a build can run (ecc sets the clang flags and the
  BTF kept for ecli: a fix to it must build again),
- the running kernel: its release and the sha256 of its BTF
  (/sys/kernel/btf/vmlinux, read in the guest, what vmlinux.h is made from),
- the toolchain: the guest root's dpkg status, i.e. the version of every
  package in it (clang, llvm, bpftool, libbpf, gcc, headers, ...).
Any change gives another key, so it builds again. Only successful builds are
stored: a failing build runs every time, and its own compiler error is the
verdict.

Entries are `builds/<key>.tar` (the build directory as the guest left it,
written by the guest with tar(1)) and `builds/<key>.json` (its sha256, size,
what it was built from, the build log). The host never unpacks the tar: it
hands it back to a guest, which does; the sha256 is checked on every use.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError

BUILDS = "builds"
KEY_FORMAT = 2


class SourceError(LabError):
    """A tutorial's directory holds something a copy of it would not describe by its
    own bytes: a link out of the directory (a host file would travel into the guest),
    a dangling link, a link to a directory, or a special file."""


@dataclass(frozen=True)
class BuildInputs:
    """What one build is made from; its key is the digest of all of it."""

    sources: dict[str, str]  # relative path -> sha256 of its bytes
    commands: tuple[str, ...]
    vmlinux_h: str | None
    release: str
    kernel_btf: str  # sha256 of the running kernel's /sys/kernel/btf/vmlinux
    toolchain: str  # sha256 of the guest root's dpkg status
    tools: dict[str, str]  # the lab's guest tools: file name -> sha256 of its bytes

    def key(self) -> str:
        text = json.dumps([KEY_FORMAT, sorted(self.sources.items()), list(self.commands),
                           self.vmlinux_h, self.release, self.kernel_btf, self.toolchain,
                           sorted(self.tools.items())])
        return hashlib.sha256(text.encode()).hexdigest()


def source_digests(program: Path) -> dict[str, str]:
    """sha256 of every file a copy of the tutorial's directory holds, by relative
    path. The copy (shutil.copytree, then cp -r in the guest) takes a link's
    target's bytes, so that is what is keyed; a link out of the directory is
    refused (SourceError), as is anything a copy would not take as plain bytes."""
    root = program.resolve()
    found: dict[str, str] = {}
    for path in sorted(program.rglob("*")):
        relative = path.relative_to(program).as_posix()
        if path.is_symlink():
            found[relative] = _sha256(_link_target(root, path, relative).read_bytes())
        elif path.is_file():
            found[relative] = _sha256(path.read_bytes())
        elif not path.is_dir():
            raise SourceError(f"{program}: {relative} is not a regular file, a directory "
                              "or a link to a file inside the tutorial's directory")
    return found


def _link_target(root: Path, link: Path, relative: str) -> Path:
    """The file inside the tutorial's directory a link leads to, or SourceError."""
    target = link.resolve()
    if not target.is_relative_to(root):
        raise SourceError(f"{root}: {relative} links to {os.readlink(link)!r}, outside the "
                          "tutorial's directory: the copy would carry that file into the guest; "
                          "put the file itself in the directory")
    if not target.is_file():
        raise SourceError(f"{root}: {relative} links to {os.readlink(link)!r}, which is not a "
                          "regular file inside the tutorial's directory")
    return target


def toolchain_digest(rootfs: Path) -> str:
    """sha256 of the guest root's dpkg status: every package's version."""
    return hashlib.sha256((rootfs / "var" / "lib" / "dpkg" / "status").read_bytes()).hexdigest()


class BuildCache:
    """The stored builds under <cache>/builds."""

    def __init__(self, cache: Path) -> None:
        self.root = cache / BUILDS

    def lookup(self, key: str) -> Path | None:
        """The tar of a stored build whose bytes are still what was stored, else None
        (a damaged entry is removed so the build runs and stores it again)."""
        tar, meta = self._paths(key)
        try:
            recorded = json.loads(meta.read_text())
            data = tar.read_bytes()
        except (OSError, ValueError):
            return None
        if not isinstance(recorded, dict) or recorded.get("sha256") != _sha256(data):
            for path in (tar, meta):
                path.unlink(missing_ok=True)
            return None
        return tar

    def build_log(self, key: str) -> str:
        """The log of the build that made the entry, as it was stored."""
        try:
            recorded = json.loads(self._paths(key)[1].read_text())
        except (OSError, ValueError):
            return ""
        log = recorded.get("build_log", "") if isinstance(recorded, dict) else ""
        return log if isinstance(log, str) else ""

    def store(self, key: str, tar: bytes, about: dict[str, object]) -> None:
        """Keep a successful build: the tar first, then its record (the record is
        what makes an entry count, so a half-written entry is never used)."""
        self.root.mkdir(parents=True, exist_ok=True)
        path, meta = self._paths(key)
        _write_atomic(path, tar)
        record = {**about, "sha256": _sha256(tar), "size": len(tar)}
        _write_atomic(meta, json.dumps(record, indent=1, sort_keys=True).encode())

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.root / f"{key}.tar", self.root / f"{key}.json"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write beside the target, then rename: a reader sees the old file or the new."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

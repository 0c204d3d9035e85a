"""The BPF toolchain of a guest root, as its lock pins it: what a report names.

A tutorial built on bookworm's clang 14 and libbpf 1.1 is not the same claim as
one built on trixie's clang 19 and libbpf 1.5, so each cell says which it was.
Read from the lock, not from the guest: the lock is what the root was checked
against when it was built (lab.cache.rootfs), and reading it costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Debian's `clang` is a metapackage (1:14.0-55.7~deb12u1): the compiler is clang-<major>.
VERSIONED_CLANG = re.compile(r"clang-(\d+)")
TOOLS = (("libbpf", "libbpf1"), ("bpftool", "bpftool"))


def upstream_version(debian_version: str) -> str:
    """1:14.0.6-12 -> 14.0.6; 7.1.0+6.1.176-1 -> 7.1.0: no epoch, revision or +suffix."""
    version = debian_version.split(":", 1)[-1]
    version = version.rsplit("-", 1)[0] if "-" in version else version
    return re.split(r"[+~]", version, maxsplit=1)[0]


def toolchain(versions: Mapping[str, str]) -> str:
    """`clang 19.1.7, libbpf 1.5.0, bpftool 7.5.0` from a root's package versions
    (a tool the root lacks is left out)."""
    clangs = sorted((int(match.group(1)), name) for name in versions
                    if (match := VERSIONED_CLANG.fullmatch(name)))
    parts = [f"clang {upstream_version(versions[clangs[-1][1]])}"] if clangs else []
    parts += [f"{tool} {upstream_version(versions[package])}" for tool, package in TOOLS
              if package in versions]
    return ", ".join(parts)

"""Find the Debian mirror this machine already uses.

Reusing the system's apt mirror means the lab fetches kernels from a host the
user already trusts and can reach (corporate proxies, snapshots, local caches),
without the lab hard-coding any mirror.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from debian.deb822 import Deb822

from lab.errors import LabError

ENV_VAR = "LAB_DEBIAN_MIRROR"

# Suites that only the Debian archive itself publishes; third-party repositories
# use their own names (e.g. "nodistro", "cloud-sdk-bookworm").
DEBIAN_SUITES = frozenset(
    {
        "buster",
        "bullseye",
        "bookworm",
        "trixie",
        "forky",
        "duke",
        "sid",
        "oldoldstable",
        "oldstable",
        "stable",
        "testing",
        "unstable",
    }
)
SUITE_SUFFIXES = ("", "-updates", "-backports")
SUPPORTED_SCHEMES = frozenset({"http", "https", "file"})


@dataclass(frozen=True)
class SourceEntry:
    """One apt source, normalised from either file format."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    signed_by: str = ""
    enabled: bool = True


def debian_mirror(environ: Mapping[str, str] = os.environ, apt_dir: Path = Path("/etc/apt")) -> str:
    """Return the Debian mirror URL: $LAB_DEBIAN_MIRROR, else the first one apt uses."""
    override = environ.get(ENV_VAR, "").strip()
    if override:
        return override.rstrip("/")
    for entry in iter_entries(apt_dir):
        uri = _debian_uri(entry)
        if uri is not None:
            return uri.rstrip("/")
    raise LabError(
        f"no Debian mirror found in the apt sources under {apt_dir} "
        f"(sources.list, sources.list.d/*.list, sources.list.d/*.sources); "
        f"set {ENV_VAR} to a Debian mirror URL, e.g. the URL of your usual Debian mirror"
    )


def iter_entries(apt_dir: Path) -> Iterator[SourceEntry]:
    """Yield apt source entries in the order apt reads them."""
    main_list = apt_dir / "sources.list"
    if main_list.is_file():
        yield from parse_one_line(_read(main_list))
    parts = apt_dir / "sources.list.d"
    if not parts.is_dir():
        return
    for path in sorted(parts.iterdir()):
        if path.suffix == ".list" and path.is_file():
            yield from parse_one_line(_read(path))
        elif path.suffix == ".sources" and path.is_file():
            yield from parse_deb822(_read(path))


def _read(path: Path) -> str:
    """Read a sources file, tolerating odd bytes so one bad file cannot hide the rest."""
    return path.read_text(encoding="utf-8", errors="replace")


def parse_one_line(text: str) -> Iterator[SourceEntry]:
    """Parse the classic ``deb [opts] uri suite [components]`` format."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        entry = _parse_one_line_entry(line)
        if entry is not None:
            yield entry


_OPTIONS = re.compile(r"^(\S+)\s+\[([^\]]*)\]\s*(.*)$")


def _parse_one_line_entry(line: str) -> SourceEntry | None:
    """Parse one non-comment line; None when it is malformed."""
    options: dict[str, str] = {}
    match = _OPTIONS.match(line)
    if match:
        kind, opts, rest = match.groups()
        options = _parse_options(opts)
        words = [kind, *rest.split()]
    else:
        words = line.split()
    if len(words) < 3:
        return None
    return SourceEntry(
        types=(words[0],),
        uris=(words[1],),
        suites=(words[2],),
        signed_by=options.get("signed-by", ""),
        enabled=options.get("enabled", "yes").lower() != "no",
    )


def _parse_options(opts: str) -> dict[str, str]:
    """Parse ``key=value`` words from a one-line entry's ``[...]`` block."""
    result: dict[str, str] = {}
    for word in opts.split():
        key, sep, value = word.partition("=")
        if sep:
            result[key.lower()] = value
    return result


def parse_deb822(text: str) -> Iterator[SourceEntry]:
    """Parse the deb822 ``.sources`` format (comment lines are dropped by the parser)."""
    for stanza in Deb822.iter_paragraphs(text.splitlines(keepends=True), use_apt_pkg=False):
        fields = {key.lower(): value for key, value in stanza.items()}
        yield SourceEntry(
            types=tuple(fields.get("types", "").split()),
            uris=tuple(fields.get("uris", "").split()),
            suites=tuple(fields.get("suites", "").split()),
            signed_by=fields.get("signed-by", "").strip(),
            enabled=fields.get("enabled", "yes").strip().lower() != "no",
        )


def _debian_uri(entry: SourceEntry) -> str | None:
    """Return the entry's first usable Debian (non-security) URI, if it has one."""
    if not entry.enabled or "deb" not in entry.types:
        return None
    if not any(_is_plain_debian_suite(suite, entry.signed_by) for suite in entry.suites):
        return None
    for uri in entry.uris:
        parsed = urlparse(uri)
        if parsed.scheme in SUPPORTED_SCHEMES and not _is_security_path(parsed.path):
            return uri
    return None


def _is_plain_debian_suite(suite: str, signed_by: str) -> bool:
    """True for a Debian release suite; security suites never carry kernels we want."""
    suite = suite.rstrip("/")
    if suite.endswith("-security") or "/updates" in suite:
        return False
    if any(suite == base + sfx for base in DEBIAN_SUITES for sfx in SUITE_SUFFIXES):
        return True
    # An unknown (future) codename still counts when apt trusts it via Debian's keyring.
    return "debian-archive" in signed_by


def _is_security_path(path: str) -> bool:
    """True when the URI points at a security archive (e.g. .../debian-security)."""
    return path.rstrip("/").endswith("-security")

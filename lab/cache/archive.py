"""Read a Debian archive, trusting only what the archive keyring vouches for.

Chain of trust: the keyring verifies InRelease, InRelease pins the sha256 of
Packages.xz, Packages.xz pins the sha256 of every .deb. Each link is checked
before the next one is used, so a hostile mirror can at worst refuse service.
"""

from __future__ import annotations

import email.utils
import lzma
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from debian.deb822 import Packages, Release
from debian.debian_support import Version

from lab.cache.cache_lock import cache_lock
from lab.cache.download import download
from lab.errors import LabError, PackageNotFound, SignatureError

ALLOW_EXPIRED = "LAB_ALLOW_EXPIRED_INDEX"
DEFAULT_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
STDERR_TAIL_LINES = 10
PACKAGE_FIELDS = ["Package", "Version", "Filename", "SHA256", "Size", "Depends"]
SIGNATURE_VERDICTS = frozenset(
    {"GOODSIG", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG", "ERRSIG", "NO_PUBKEY"}
)


@dataclass(frozen=True)
class PackageRecord:
    """The fields of one Packages stanza the lab needs to fetch and verify a .deb."""

    name: str
    version: str
    filename: str
    sha256: str
    size: int
    depends: str


class DebianArchive:
    """One suite/component/arch of a Debian mirror, verified from InRelease down."""

    def __init__(
        self,
        mirror: str,
        suite: str,
        cache_dir: Path,
        *,
        keyring: Path = DEFAULT_KEYRING,
        component: str = "main",
        arch: str = "amd64",
        pinned: bool = False,
    ) -> None:
        self.mirror = mirror.rstrip("/")
        # The caller checks every package it takes against a sha256 of its own (the
        # lock's): a stale index can then delay news but not substitute a package.
        self.pinned = pinned
        self.suite = suite
        self.cache_dir = cache_dir
        self.keyring = keyring
        self.component = component
        self.arch = arch
        self._index: dict[str, list[PackageRecord]] | None = None
        self._past_valid_until = False

    def __repr__(self) -> str:
        return (
            f"DebianArchive({self.mirror!r}, {self.suite!r}, "
            f"component={self.component!r}, arch={self.arch!r})"
        )

    @property
    def _where(self) -> str:
        """Human description of this archive for error messages."""
        return f"{self.suite}/{self.component}/binary-{self.arch} on {self.mirror}"

    @property
    def _index_dir(self) -> Path:
        return self.cache_dir / "indexes" / self.suite

    def index(self) -> dict[str, list[PackageRecord]]:
        """Map package name to its records; verified once, then kept in memory."""
        if self._index is None:
            # One lock for the pair, so InRelease and Packages.xz come from one download.
            with cache_lock(self._index_dir, f"the {self.suite} index"):
                release = self._verified_release()
                packages_xz = self._fetch_packages_index(release)
                self._index = parse_packages(packages_xz)
        return self._index

    def used_past_valid_until(self) -> bool:
        """Whether the index the lab verified and uses is past its Valid-Until (and
        was accepted: LAB_ALLOW_EXPIRED_INDEX=1, or a pinned archive). A tool that
        reads the same suite for the lab (mmdebstrap's apt) must then be told the
        same (Acquire::Check-Valid-Until false), and only then."""
        self.index()
        return self._past_valid_until

    def find(self, name: str, version: str | None = None) -> PackageRecord:
        """The record for name at version, or its newest version when version is None."""
        records = self.index().get(name, [])
        if version is None and records:
            return max(records, key=lambda record: Version(record.version))
        for record in records:
            if record.version == version:
                return record
        available = ", ".join(sorted((r.version for r in records), key=Version)) or "none"
        raise PackageNotFound(
            f"package {name} version {version or '(any)'} not found in {self._where} "
            f"(available versions: {available}); check the name/version or choose "
            f"another suite or mirror (LAB_DEBIAN_MIRROR)"
        )

    def find_regex(self, pattern: str) -> list[PackageRecord]:
        """All records whose package name fully matches pattern, sorted by name then version."""
        regex = re.compile(pattern)
        found = [r for name, recs in self.index().items() if regex.fullmatch(name) for r in recs]
        return sorted(found, key=lambda r: (r.name, Version(r.version)))

    def fetch(self, record: PackageRecord) -> Path:
        """Download record's .deb into the cache, verified against the signed index."""
        basename = PurePosixPath(record.filename).name
        if basename in ("", ".", ".."):
            raise LabError(
                f"package {record.name} {record.version} has an unusable "
                f"Filename {record.filename!r} in {self._where}"
            )
        return download(
            f"{self.mirror}/{record.filename}",
            self.cache_dir / "debs" / basename,
            sha256=record.sha256,
            size=record.size,
            label=f"{record.name} {record.version}",
        )

    def _verified_release(self) -> Release:
        """Download InRelease and return its signature-checked content."""
        inrelease = download(
            f"{self.mirror}/dists/{self.suite}/InRelease",
            self._index_dir / "InRelease",
            label=f"{self.suite} InRelease",
        )
        release = Release(verify_inrelease(inrelease, self.keyring))
        self._check_suite(release, inrelease)
        self._check_valid_until(release, inrelease)
        return release

    def _check_suite(self, release: Release, inrelease: Path) -> None:
        """Refuse a validly signed InRelease of another suite (a replay/downgrade attack)."""
        names = {release.get("Suite", ""), release.get("Codename", "")} - {""}
        if names and self.suite not in names:
            raise SignatureError(
                f"{inrelease} is signed but describes suite {' / '.join(sorted(names))}, "
                f"not {self.suite}; the mirror {self.mirror} serves the wrong file "
                f"(pick another mirror with LAB_DEBIAN_MIRROR)"
            )

    def _check_valid_until(self, release: Release, inrelease: Path) -> None:
        """Refuse an index past its Valid-Until, as apt does: a mirror replaying an
        old, validly signed InRelease could otherwise hide newer packages forever."""
        value = release.get("Valid-Until")
        if value is None:
            return
        until = parse_release_date(value)
        if until is None:
            raise SignatureError(
                f"{inrelease} has a Valid-Until the lab cannot read ({value!r}); "
                f"pick another mirror with LAB_DEBIAN_MIRROR"
            )
        if until <= _now():
            if expired_index_allowed() or self.pinned:
                why = (f"{ALLOW_EXPIRED}=1" if expired_index_allowed() else
                       "every package taken from it must match the lock's sha256")
                print(f"warning: {inrelease} expired on {value} (its Valid-Until); used anyway: "
                      f"{why}", file=sys.stderr, flush=True)
                self._past_valid_until = True
                return
            raise SignatureError(
                f"{inrelease} expired on {value} (its Valid-Until): {self.mirror} serves a "
                f"stale {self.suite} index; pick another mirror with LAB_DEBIAN_MIRROR, or, "
                f"for a snapshot mirror you trust, set {ALLOW_EXPIRED}=1 (apt's "
                "Acquire::Check-Valid-Until=false)"
            )

    def _fetch_packages_index(self, release: Release) -> Path:
        """Download Packages.xz, verified against the hash InRelease pins for it."""
        name = f"{self.component}/binary-{self.arch}/Packages.xz"
        entry = next((e for e in release.get("SHA256", []) if e.get("name") == name), None)
        if entry is None:
            raise LabError(
                f"the signed InRelease of {self.suite} on {self.mirror} lists no SHA256 "
                f"for {name}; check the suite, component and architecture"
            )
        return download(
            f"{self.mirror}/dists/{self.suite}/{name}",
            self._index_dir / name,
            sha256=entry["sha256"],
            size=int(entry["size"]),
            label=f"{self.suite} {name}",
        )


def expired_index_allowed() -> bool:
    """The escape hatch apt has for snapshot mirrors, off unless asked for by name."""
    return os.environ.get(ALLOW_EXPIRED, "") == "1"


def verify_inrelease(inrelease: Path, keyring: Path) -> str:
    """Return inrelease's signed text, only if gpgv finds a good signature by a key in
    keyring and no bad one (see judge_signatures)."""
    if not keyring.is_file():
        raise SignatureError(
            f"cannot verify {inrelease}: keyring {keyring} does not exist; "
            f"install the debian-archive-keyring package or pass another keyring"
        )
    # A private homedir keeps the user's own trustedkeys out of the trust decision,
    # and keeps the verified text private to this process.
    with tempfile.TemporaryDirectory(prefix="lab-gpgv-") as home:
        plain = Path(home) / "Release"
        result = _run_gpgv(home, keyring, inrelease, plain)
        refusal = judge_signatures(result.stdout)
        if refusal is None and plain.is_file():
            return plain.read_text(encoding="utf-8")
    tail = "\n".join(result.stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
    raise SignatureError(
        f"{inrelease} is not validly signed by a key in {keyring} "
        f"({refusal or f'gpgv exit {result.returncode}'}); the mirror may be tampered "
        f"with or the keyring outdated. gpgv said:\n{tail}"
    )


def judge_signatures(status: str) -> str | None:
    """None if gpgv's --status-fd output shows a good signature by a keyring key and
    no bad one; else why not.

    Debian signs InRelease with several keys, and apt accepts it when one of them
    is in its keyring: gpgv then exits 2 for the others (NO_PUBKEY). Every signature
    covers the same text, so one GOODSIG+VALIDSIG proves it; signatures by unknown,
    expired or revoked keys add nothing but take nothing away. A BADSIG means the
    text or a signature was altered: refused, whatever else is good.
    """
    signatures = _signature_blocks(status)
    if any("BADSIG" in block for block in signatures):
        return "a signature does not match the signed text (BADSIG)"
    if any("GOODSIG" in block and "VALIDSIG" in block for block in signatures):
        return None
    seen = sorted({word for block in signatures for word in block} & SIGNATURE_VERDICTS)
    return f"no good signature by a key in the keyring (gpgv status: {', '.join(seen) or 'none'})"


def _signature_blocks(status: str) -> list[set[str]]:
    """The status keywords of each signature (each starts with NEWSIG)."""
    blocks: list[set[str]] = [set()]
    for line in status.splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "[GNUPG:]":
            continue
        if words[1] == "NEWSIG":
            blocks.append(set())
        blocks[-1].add(words[1])
    return [block for block in blocks if block]


def _run_gpgv(
    home: str, keyring: Path, inrelease: Path, plain: Path
) -> subprocess.CompletedProcess[str]:
    """Run gpgv, its machine-readable status on stdout; an absolute --keyring path
    stops gpgv looking inside its homedir."""
    command = ["gpgv", "--homedir", home, "--keyring", str(keyring.resolve()), "--status-fd", "1"]
    command += ["--output", str(plain), str(inrelease)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def parse_release_date(value: str) -> datetime | None:
    """A Release date ('Sat, 03 Dec 2026 08:12:34 UTC') as an aware datetime, or None."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def parse_packages(packages_xz: Path) -> dict[str, list[PackageRecord]]:
    """Parse an xz-compressed Packages file into name -> records (file order)."""
    index: dict[str, list[PackageRecord]] = {}
    with lzma.open(packages_xz, "rb") as stream:
        paragraphs = Packages.iter_paragraphs(stream, fields=PACKAGE_FIELDS, use_apt_pkg=False)
        for paragraph in paragraphs:
            record = _record(paragraph)
            if record is not None:
                index.setdefault(record.name, []).append(record)
    return index


def _record(paragraph: Packages) -> PackageRecord | None:
    """One PackageRecord, or None for a stanza that cannot be fetched and verified."""
    try:
        return PackageRecord(
            name=paragraph["Package"],
            version=paragraph["Version"],
            filename=paragraph["Filename"],
            sha256=paragraph["SHA256"].lower(),
            size=int(paragraph["Size"]),
            depends=paragraph.get("Depends", ""),
        )
    except (KeyError, ValueError):
        return None

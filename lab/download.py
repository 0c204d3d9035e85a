"""Verified downloads with a checksum-keyed cache.

Files land at their final path only after their checksum matched, so a
half-written or tampered file is never mistaken for a good cached one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests
from tqdm import tqdm

from lab.errors import IntegrityError, LabError

CHUNK = 1 << 20
TIMEOUT_SECONDS = 60
ENV_HINT = "retry, or pick another mirror with LAB_DEBIAN_MIRROR"


class Readable(Protocol):
    """What _copy needs from a source: a file object or urllib3's raw response."""

    def read(self, amt: int, /) -> bytes: ...


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large .debs do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    label: str | None = None,
) -> Path:
    """Fetch url to dest, publishing it only once sha256/size match; reuse a good dest."""
    if sha256 is not None and _is_cached(dest, sha256, size):
        return dest
    label = label or _basename(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f"{dest.name}.part-{os.getpid()}")
    try:
        with _open_source(url) as (stream, remote_size):
            total = size if size is not None else remote_size
            _log(f"downloading {label} ({_megabytes(total)})")
            actual_sha, actual_size = _copy(stream, part, total, label)
        _check(url, sha256, size, actual_sha, actual_size)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    _log(f"done {label} -> {dest}")
    return dest


def _is_cached(dest: Path, sha256: str, size: int | None) -> bool:
    """True when dest already holds exactly the expected bytes."""
    if not dest.is_file():
        return False
    if size is not None and dest.stat().st_size != size:
        return False
    return sha256_of(dest) == sha256.lower()


def _basename(url: str) -> str:
    """Last path component of a URL, used as the default progress label."""
    return unquote(urlparse(url).path.rstrip("/").rsplit("/", 1)[-1]) or url


def _megabytes(total: int | None) -> str:
    """Human size for the log line."""
    return "size unknown" if total is None else f"{total / 1e6:.1f} MB"


def _log(message: str) -> None:
    """One plain line on stderr, so non-interactive logs still show progress."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _open_source(url: str) -> Iterator[tuple[Readable, int | None]]:
    """Open url for streaming; yields the byte stream and its size if known."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        with _open_file_url(url) as opened:
            yield opened
    elif scheme in ("http", "https"):
        with _open_http(url) as opened:
            yield opened
    else:
        raise LabError(
            f"cannot download {url}: unsupported URL scheme {scheme!r} "
            f"(use http://, https:// or file://)"
        )


@contextlib.contextmanager
def _open_file_url(url: str) -> Iterator[tuple[Readable, int | None]]:
    """Local file:// source, used by tests and by locally mounted mirrors."""
    path = Path(url2pathname(urlparse(url).path))
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise LabError(f"cannot download {url}: {exc.strerror or exc}") from exc
    with handle:
        yield handle, path.stat().st_size


@contextlib.contextmanager
def _open_http(url: str) -> Iterator[tuple[Readable, int | None]]:
    """HTTP(S) source; turns transport and status errors into LabError."""
    try:
        response = requests.get(url, stream=True, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise LabError(f"cannot download {url}: {exc}; check the network or {ENV_HINT}") from exc
    with response:
        if response.status_code != 200:
            raise LabError(
                f"cannot download {url}: HTTP {response.status_code} "
                f"{response.reason}; check the URL or {ENV_HINT}"
            )
        length = response.headers.get("Content-Length")
        response.raw.decode_content = True
        yield response.raw, int(length) if length and length.isdigit() else None


def _copy(stream: Readable, part: Path, total: int | None, label: str) -> tuple[str, int]:
    """Copy stream into part with a progress bar; returns (sha256, bytes written)."""
    digest = hashlib.sha256()
    written = 0
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=label,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        leave=False,
    )
    with bar, part.open("wb") as out:
        for chunk in iter(lambda: stream.read(CHUNK), b""):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), written


def _check(
    url: str, sha256: str | None, size: int | None, actual_sha: str, actual_size: int
) -> None:
    """Raise IntegrityError unless the downloaded bytes are what was promised."""
    sha_ok = sha256 is None or actual_sha == sha256.lower()
    size_ok = size is None or actual_size == size
    if sha_ok and size_ok:
        return
    expected = f"sha256 {sha256 or '(any)'}" + (f", {size} bytes" if size is not None else "")
    raise IntegrityError(
        f"{url} failed verification: expected {expected}, "
        f"got sha256 {actual_sha}, {actual_size} bytes; the file was discarded. "
        f"The mirror may be out of sync or tampered with: {ENV_HINT}"
    )

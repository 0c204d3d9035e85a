"""Verified downloads with a checksum-keyed cache.

Files land at their final path only after their checksum matched, so a
half-written or tampered file is never mistaken for a good cached one. Each
destination is locked (lab.cache.cache_lock) while it is fetched, so two lab
processes never download the same file over each other: the second waits and
reuses it. A download is bounded by LAB_DOWNLOAD_DEADLINE and retried a few
times on a dropped or stalled connection; whatever still fails is a
DownloadError naming the URL and the settings that help. It is bounded in size
too: a mirror that sends more than the signed index promised is cut off at the
first byte too many, not written to disk until the checksum rejects it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests
import urllib3.exceptions
from tqdm import tqdm

from lab.cache.cache_lock import cache_lock, require_writable, try_cache_lock
from lab.errors import IntegrityError, LabError

CHUNK = 1 << 20
READ_CHUNK = 1 << 16  # small reads, so the deadline is checked often on a slow link
CONNECT_TIMEOUT_SECONDS = 15
READ_TIMEOUT_SECONDS = 60  # one stalled read; the whole download has DEADLINE_ENV
ATTEMPTS = 4
BACKOFF_SECONDS = 2.0  # doubled after each failed attempt
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEADLINE_ENV = "LAB_DOWNLOAD_DEADLINE"
DEFAULT_DEADLINE_SECONDS = 900.0  # a 70 MB kernel at 100 kB/s still makes it
ENV_HINT = "retry, or pick another mirror with LAB_DEBIAN_MIRROR"
PART_FILE = re.compile(r"(?P<name>.+)\.part-(?P<pid>\d+)")
# A file whose size nobody promised (InRelease: about 150 kB) may be this large.
UNPROMISED_LIMIT = 32 << 20

# What a dropped, reset or stalled connection raises: from requests while
# connecting, from urllib3/http.client/socket while the body is read.
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class DownloadError(LabError):
    """A file could not be fetched: the message names the URL and what to change."""


class _Transient(Exception):
    """One attempt failed in a way another attempt may not (never leaves this module)."""


class Readable(Protocol):
    """What _copy needs from a source: a file object or urllib3's raw response."""

    def read(self, amt: int, /) -> bytes: ...


@dataclass
class Deadline:
    """The time one download may take, all attempts and pauses included."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def remaining(self) -> float:
        return self.seconds - self.elapsed()


def download_deadline(environ: Mapping[str, str] = os.environ) -> float:
    """LAB_DOWNLOAD_DEADLINE in seconds (default 900): a hung mirror ends the run."""
    value = environ.get(DEADLINE_ENV, "").strip()
    if not value:
        return DEFAULT_DEADLINE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise LabError(f"{DEADLINE_ENV}={value!r} is not a positive number of seconds")
    return seconds


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
    label = label or _basename(url)
    with cache_lock(dest, f"downloading {dest.name}") as writable:
        if sha256 is not None and _is_cached(dest, sha256, size):
            return dest
        require_writable(writable, dest, "it has to be downloaded")
        remove_stale_parts(dest)
        part = dest.with_name(f"{dest.name}.part-{os.getpid()}")
        try:
            actual_sha, actual_size = _fetch(url, part, size, label)
            _check(url, sha256, size, actual_sha, actual_size)
            os.replace(part, dest)
        finally:
            part.unlink(missing_ok=True)
    _log(f"done {label} -> {dest}")
    return dest


def remove_stale_parts(dest: Path) -> None:
    """Delete the `<name>.part-<pid>` files of killed downloads in dest's directory:
    their pid is not running, and nobody holds <name>'s lock (a pid from another
    PID namespace sharing the cache looks dead; its lock does not). The caller
    holds dest's own lock."""
    for path in dest.parent.iterdir():
        match = PART_FILE.fullmatch(path.name)
        if match is None or _pid_runs(int(match["pid"])):
            continue
        target = dest.parent / match["name"]
        if target == dest:
            path.unlink(missing_ok=True)
            continue
        with try_cache_lock(target) as free:
            if free:
                path.unlink(missing_ok=True)


def _pid_runs(pid: int) -> bool:
    """True if a process with this pid exists here (signal 0 only checks)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fetch(url: str, part: Path, size: int | None, label: str) -> tuple[str, int]:
    """Copy url into part, retrying a failed connection with backoff within the
    deadline; returns (sha256, bytes)."""
    deadline = Deadline(download_deadline())
    attempt = 0
    while True:
        attempt += 1
        try:
            return _attempt(url, part, size, label, deadline, announce=attempt == 1)
        except _Transient as error:
            failure = str(error)
        pause = BACKOFF_SECONDS * 2 ** (attempt - 1)
        if attempt == ATTEMPTS or deadline.remaining() <= pause:
            raise DownloadError(_gave_up(url, failure, attempt, deadline))
        _log(f"{label}: {failure}; trying again in {pause:g} s "
             f"(attempt {attempt + 1} of {ATTEMPTS})")
        time.sleep(pause)


def _gave_up(url: str, failure: str, attempts: int, deadline: Deadline) -> str:
    """The final word on a download: what failed, how often, and what to change."""
    tried = f"gave up after {attempts} attempt(s) in {deadline.elapsed():.0f} s"
    setting = f"{DEADLINE_ENV}={deadline.seconds:g} s"
    if attempts < ATTEMPTS:
        return (f"cannot download {url}: {failure} ({tried}: {setting} leaves no time for "
                f"another); raise {DEADLINE_ENV} for a slow link, or pick another mirror "
                f"with LAB_DEBIAN_MIRROR")
    return (f"cannot download {url}: {failure} ({tried}); check the network, or pick "
            f"another mirror with LAB_DEBIAN_MIRROR ({setting} bounds each download)")


def _attempt(url: str, part: Path, size: int | None, label: str, deadline: Deadline,
             announce: bool) -> tuple[str, int]:
    """One try: open, copy, and make sure the whole body arrived."""
    with _open_source(url, deadline) as (stream, remote_size):
        total = size if size is not None else remote_size
        limit = size if size is not None else UNPROMISED_LIMIT
        if remote_size is not None and remote_size > limit:
            raise _too_large(url, size, f"the server announces {remote_size} bytes")
        if announce:
            _log(f"downloading {label} ({_megabytes(total)})")
        actual_sha, written = _copy(stream, part, total, label, url, deadline, limit, size)
    if remote_size is not None and written < remote_size:
        raise _Transient(f"the connection closed after {written} of {remote_size} bytes")
    return actual_sha, written


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
def _open_source(url: str, deadline: Deadline) -> Iterator[tuple[Readable, int | None]]:
    """Open url for streaming; yields the byte stream and its size if known."""
    scheme = urlparse(url).scheme
    if scheme == "file":
        with _open_file_url(url) as opened:
            yield opened
    elif scheme in ("http", "https"):
        with _open_http(url, deadline) as opened:
            yield opened
    else:
        raise DownloadError(
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
        raise DownloadError(f"cannot download {url}: {exc.strerror or exc}") from exc
    with handle:
        yield handle, path.stat().st_size


@contextlib.contextmanager
def _open_http(url: str, deadline: Deadline) -> Iterator[tuple[Readable, int | None]]:
    """HTTP(S) source: a failed connection or a server error is worth another
    attempt; any other status is final. Each read waits at most READ_TIMEOUT_SECONDS,
    and never past the deadline."""
    read_timeout = max(0.1, min(READ_TIMEOUT_SECONDS, deadline.remaining()))
    try:
        response = requests.get(url, stream=True,
                                timeout=(CONNECT_TIMEOUT_SECONDS, read_timeout))
    except TRANSIENT as exc:
        raise _Transient(_describe(exc)) from exc
    except requests.RequestException as exc:
        raise DownloadError(f"cannot download {url}: {exc}; check the URL or {ENV_HINT}") from exc
    with response:
        if response.status_code in RETRY_STATUSES:
            raise _Transient(f"HTTP {response.status_code} {response.reason}")
        if response.status_code != 200:
            raise DownloadError(
                f"cannot download {url}: HTTP {response.status_code} "
                f"{response.reason}; check the URL or {ENV_HINT}"
            )
        response.raw.decode_content = True
        yield response.raw, _body_length(response)


def _body_length(response: requests.Response) -> int | None:
    """Content-Length, when it is the length of the bytes we will read (not encoded)."""
    length = response.headers.get("Content-Length", "")
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    return int(length) if length.isdigit() and not encoded else None


def _read(stream: Readable, most: int) -> bytes:
    """One read of the body, at most `most` bytes; a connection that drops or stalls
    mid-body is transient. read1 returns what one receive brings, so a server
    trickling bytes cannot keep a read (and the deadline check after it) waiting for
    a whole chunk."""
    read = getattr(stream, "read1", stream.read)
    try:
        return bytes(read(max(1, min(READ_CHUNK, most))))
    except TRANSIENT as exc:
        raise _Transient(_describe(exc)) from exc


def _describe(error: BaseException) -> str:
    """A one-line reason for a transport error; urllib3's ProtocolError carries
    (message, cause), and its message says it all."""
    first = error.args[0] if error.args else None
    text = first if isinstance(first, str) and len(error.args) == 2 else str(error)
    return f"{type(error).__name__}: {text or 'no details'}"


def _too_large(url: str, size: int | None, what: str) -> IntegrityError:
    expected = (f"the index promises {size} bytes" if size is not None else
                f"a file of unpromised size may have at most {UNPROMISED_LIMIT} bytes")
    return IntegrityError(f"{url} is larger than expected: {what}, {expected}; the download "
                          f"was stopped and discarded. The mirror may be out of sync or "
                          f"tampered with: {ENV_HINT}")


def _copy(stream: Readable, part: Path, total: int | None, label: str, url: str,
          deadline: Deadline, limit: int, size: int | None) -> tuple[str, int]:
    """Copy stream into part with a progress bar; returns (sha256, bytes written).
    Reads at most limit + 1 bytes: one byte more than promised ends the download."""
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
        while chunk := _read(stream, limit + 1 - written):
            if written + len(chunk) > limit:
                raise _too_large(url, size, f"more than {limit} bytes arrived")
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            bar.update(len(chunk))
            if deadline.remaining() <= 0:
                raise DownloadError(
                    f"cannot download {url}: it did not finish within {DEADLINE_ENV}="
                    f"{deadline.seconds:g} s ({written} bytes so far); raise {DEADLINE_ENV} "
                    f"for a slow link, or pick a nearer mirror with LAB_DEBIAN_MIRROR"
                )
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

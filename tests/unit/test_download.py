"""Tests for verified downloads (file:// and a local HTTP server; no network)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import multiprocessing
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import lab.cache.download
from lab.cache.cache_lock import cache_lock
from lab.cache.download import ATTEMPTS, DownloadError, download, download_deadline, sha256_of
from lab.errors import IntegrityError, LabError

PAYLOAD = b"kernel bytes " * 1000
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "src" / "linux-image.deb"
    path.parent.mkdir()
    path.write_bytes(PAYLOAD)
    return path


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Serve a directory on 127.0.0.1; yields (base URL, directory)."""
    root = tmp_path / "www"
    root.mkdir()

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_sha256_of(source: Path) -> None:
    assert sha256_of(source) == PAYLOAD_SHA


def test_file_url_verified(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "out" / "k.deb"
    result = download(source.as_uri(), dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD), label="k")
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert leftovers(dest.parent) == ["k.deb"]
    err = capsys.readouterr().err
    assert "downloading k (0.0 MB)" in err
    assert "done k" in err


def test_wrong_sha256_raises_and_leaves_nothing(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "k.deb"
    with pytest.raises(IntegrityError) as info:
        download(source.as_uri(), dest, sha256="0" * 64)
    message = str(info.value)
    assert source.as_uri() in message
    assert "0" * 64 in message
    assert PAYLOAD_SHA in message
    assert leftovers(dest.parent) == []


def test_wrong_size_raises(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "out" / "k.deb"
    with pytest.raises(IntegrityError, match="bytes"):
        download(source.as_uri(), dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD) + 1)
    assert leftovers(dest.parent) == []


def test_mismatch_keeps_previous_dest(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "k.deb"
    dest.write_bytes(b"old good copy")
    with pytest.raises(IntegrityError):
        download(source.as_uri(), dest, sha256="1" * 64)
    assert dest.read_bytes() == b"old good copy"


def test_existing_good_file_not_downloaded(tmp_path: Path) -> None:
    dest = tmp_path / "k.deb"
    dest.write_bytes(PAYLOAD)
    missing = (tmp_path / "does-not-exist.deb").as_uri()
    assert download(missing, dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD)) == dest


def test_existing_bad_file_is_replaced(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "k.deb"
    dest.write_bytes(b"stale")
    download(source.as_uri(), dest, sha256=PAYLOAD_SHA)
    assert dest.read_bytes() == PAYLOAD


def test_without_checksum_downloads(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "k.deb"
    download(source.as_uri(), dest)
    assert dest.read_bytes() == PAYLOAD


def test_missing_file_url_is_lab_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="cannot download"):
        download((tmp_path / "nope").as_uri(), tmp_path / "dest")


def test_unsupported_scheme(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="unsupported URL scheme"):
        download("ftp://127.0.0.1/x", tmp_path / "dest")


def test_http_ok(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    (root / "k.deb").write_bytes(PAYLOAD)
    dest = tmp_path / "k.deb"
    download(f"{base}/k.deb", dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_http_404_names_status_and_url(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = http_root
    dest = tmp_path / "k.deb"
    with pytest.raises(LabError) as info:
        download(f"{base}/missing.deb", dest)
    assert "404" in str(info.value)
    assert f"{base}/missing.deb" in str(info.value)
    assert not isinstance(info.value, IntegrityError)
    assert leftovers(tmp_path) == ["www"]


def test_http_tampered(http_root: tuple[str, Path], tmp_path: Path) -> None:
    base, root = http_root
    (root / "k.deb").write_bytes(PAYLOAD + b"evil")
    with pytest.raises(IntegrityError, match=r"k\.deb"):
        download(f"{base}/k.deb", tmp_path / "k.deb", sha256=PAYLOAD_SHA)
    assert leftovers(tmp_path) == ["www"]


@dataclass
class Script:
    """What a faulty server does on each request: "ok", "drop" (half the body, then
    hang up), "stall" (half the body, then silence), "trickle" (a few bytes at a
    time, never done) or "503"; the last one repeats."""

    plan: list[str] = field(default_factory=lambda: ["ok"])
    requests: int = 0


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler],
            stop: threading.Event) -> Iterator[int]:
    """A local HTTP server of handler, on a port of its own, for the block's length;
    stop is set first on the way out, so a handler that waits on it lets go."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def faulty(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Script]]:
    """A server on 127.0.0.1 serving PAYLOAD at /k.deb as scripted; stops itself."""
    script = Script()
    stop = threading.Event()
    monkeypatch.setattr(lab.cache.download, "BACKOFF_SECONDS", 0.01)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            mode = script.plan[min(script.requests, len(script.plan) - 1)]
            script.requests += 1
            if mode == "503":
                self.send_response(503)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            if mode == "ok":
                self.wfile.write(PAYLOAD)
                return
            if mode == "trickle":
                for offset in range(0, len(PAYLOAD), 10):
                    if stop.wait(0.01):
                        break
                    self.wfile.write(PAYLOAD[offset:offset + 10])
                    self.wfile.flush()
                return
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])
            self.wfile.flush()
            if mode == "stall":
                stop.wait(10)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    with serving(Handler, stop) as port:
        yield f"http://127.0.0.1:{port}/k.deb", script


def test_a_connection_dropped_mid_body_is_a_download_error_naming_url_and_settings(
        faulty: tuple[str, Script], tmp_path: Path) -> None:
    url, script = faulty
    script.plan = ["drop"]
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA, size=len(PAYLOAD))
    message = str(info.value)
    assert message.startswith(f"cannot download {url}: ")
    assert f"gave up after {ATTEMPTS} attempt(s)" in message
    assert "LAB_DEBIAN_MIRROR" in message
    assert "LAB_DOWNLOAD_DEADLINE=900 s" in message
    assert script.requests == ATTEMPTS
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("first", ["drop", "503"])
def test_a_failed_attempt_is_retried(faulty: tuple[str, Script], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], first: str) -> None:
    url, script = faulty
    script.plan = [first, "ok"]
    download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA, size=len(PAYLOAD), label="k")
    assert (tmp_path / "k.deb").read_bytes() == PAYLOAD
    assert script.requests == 2
    assert f"trying again in 0.01 s (attempt 2 of {ATTEMPTS})" in capsys.readouterr().err
    assert leftovers(tmp_path) == ["k.deb"]


def test_a_stalled_download_ends_at_the_deadline(
        faulty: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, script = faulty
    script.plan = ["stall"]
    monkeypatch.setenv("LAB_DOWNLOAD_DEADLINE", "1")
    started = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA)
    assert time.monotonic() - started < 5
    assert url in str(info.value)
    assert "LAB_DOWNLOAD_DEADLINE=1 s leaves no time for another" in str(info.value)
    assert leftovers(tmp_path) == []


def test_a_trickling_download_ends_at_the_deadline(
        faulty: tuple[str, Script], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read gets a few bytes, so no read times out: only the deadline ends it."""
    url, script = faulty
    script.plan = ["trickle"]
    monkeypatch.setenv("LAB_DOWNLOAD_DEADLINE", "0.5")
    started = time.monotonic()
    with pytest.raises(DownloadError) as info:
        download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA)
    assert time.monotonic() - started < 3
    assert f"cannot download {url}: it did not finish within LAB_DOWNLOAD_DEADLINE=0.5 s" in (
        str(info.value))
    assert script.requests == 1
    assert leftovers(tmp_path) == []


def test_download_deadline_setting() -> None:
    assert download_deadline({}) == 900
    assert download_deadline({"LAB_DOWNLOAD_DEADLINE": "30"}) == 30
    for bad in ("0", "-5", "soon", "inf", "nan"):
        with pytest.raises(LabError, match=f"LAB_DOWNLOAD_DEADLINE='{bad}' is not a positive"):
            download_deadline({"LAB_DOWNLOAD_DEADLINE": bad})


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_stale_part_files_of_dead_processes_are_removed(source: Path, tmp_path: Path) -> None:
    debs = tmp_path / "debs"
    debs.mkdir()
    gone = dead_pid()
    stale = [debs / f"k.deb.part-{gone}", debs / f"other.deb.part-{gone}"]
    kept = [debs / f"live.deb.part-{os.getpid()}",  # a download running now
            debs / f"busy.deb.part-{gone}",  # its pid is not ours to see, but it holds a lock
            debs / "notes.part-x", debs / "other.deb"]
    for path in stale + kept:
        path.write_bytes(b"partial")
    with cache_lock(debs / "busy.deb", "a download in another PID namespace"):
        download(source.as_uri(), debs / "k.deb", sha256=PAYLOAD_SHA)
    assert leftovers(debs) == sorted(["k.deb", *(p.name for p in kept)])


def hold_then_write(dest: Path, ready: multiprocessing.synchronize.Event) -> None:
    with cache_lock(dest, "test"):
        ready.set()
        time.sleep(0.5)
        dest.write_bytes(PAYLOAD)


def test_a_download_in_progress_elsewhere_is_waited_for_and_reused(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dest = tmp_path / "debs" / "k.deb"
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    other = context.Process(target=hold_then_write, args=(dest, ready))
    other.start()
    try:
        assert ready.wait(10)
        nowhere = (tmp_path / "not-there.deb").as_uri()  # fetching would fail
        assert download(nowhere, dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD)) == dest
    finally:
        other.join(10)
    assert other.exitcode == 0
    assert dest.read_bytes() == PAYLOAD
    err = capfd.readouterr().err
    assert (f"waiting for another lab process (pid {other.pid}) to finish with downloading "
            f"k.deb (lock {dest}.lock)") in err
    assert leftovers(dest.parent) == ["k.deb"]


@dataclass
class Flood:
    """A server that sends more than promised: `announce` as its Content-Length (None:
    none, the body ends when the connection closes), then bytes until stopped."""

    announce: int | None = None
    sent: int = 0


@pytest.fixture
def flood() -> Iterator[tuple[str, Flood]]:
    state = Flood()
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            if state.announce is not None:
                self.send_header("Content-Length", str(state.announce))
            self.end_headers()
            block = b"x" * (1 << 16)
            try:
                while not stop.is_set() and state.sent < 1 << 30:
                    self.wfile.write(block)
                    state.sent += len(block)
            except OSError:
                pass  # the client hung up: what the lab should do at once
            self.close_connection = True

    with serving(Handler, stop) as port:
        yield f"http://127.0.0.1:{port}/InRelease", state


def test_a_body_larger_than_promised_is_cut_off_at_the_first_byte_too_many(
        flood: tuple[str, Flood], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index says 1,000 bytes; the mirror sends without end. The download fails
    at once, having written at most 1,001 bytes, not when the deadline or the
    checksum catches it."""
    url, state = flood
    monkeypatch.setenv("LAB_DOWNLOAD_DEADLINE", "20")
    largest = []
    real_copy = lab.cache.download._copy

    def copy(*args: Any, **kwargs: Any) -> tuple[str, int]:
        try:
            return real_copy(*args, **kwargs)
        finally:
            part = args[1]
            largest.append(part.stat().st_size if part.exists() else 0)

    monkeypatch.setattr(lab.cache.download, "_copy", copy)
    started = time.monotonic()
    with pytest.raises(IntegrityError, match="larger than expected: more than 1000 bytes "
                                             "arrived, the index promises 1000 bytes"):
        download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA, size=1000)
    assert time.monotonic() - started < 5
    assert largest and max(largest) <= 1000
    assert leftovers(tmp_path) == []


def test_an_announced_size_above_the_promise_is_refused_before_reading(
        flood: tuple[str, Flood], tmp_path: Path) -> None:
    url, state = flood
    state.announce = 64 << 20
    with pytest.raises(IntegrityError, match=f"the server announces {64 << 20} bytes, "
                                             "the index promises 1000 bytes"):
        download(url, tmp_path / "k.deb", sha256=PAYLOAD_SHA, size=1000)
    assert leftovers(tmp_path) == []


def test_a_file_of_unpromised_size_is_bounded_too(
        flood: tuple[str, Flood], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url, state = flood
    monkeypatch.setattr(lab.cache.download, "UNPROMISED_LIMIT", 100_000)
    with pytest.raises(IntegrityError, match="may have at most 100000 bytes"):
        download(url, tmp_path / "InRelease")
    assert state.sent < 64 << 20
    assert leftovers(tmp_path) == []

"""Tests for verified downloads (file:// and a local HTTP server; no network)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.download import download, sha256_of
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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

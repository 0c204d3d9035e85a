"""Tests for DebianArchive against a tiny signed archive built in tmp_path."""

from __future__ import annotations

import hashlib
import lzma
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.archive import DebianArchive, PackageRecord
from lab.errors import IntegrityError, PackageNotFound, SignatureError

SUITE = "bookworm"
PACKAGES_XZ = "main/binary-amd64/Packages.xz"
FAKE_DEBS = {
    ("linux-image-6.1.0-1-amd64", "6.1.4-1"): b"old kernel",
    ("linux-image-6.1.0-1-amd64", "6.1.10-1"): b"new kernel",
    ("linux-headers-6.1.0-1-amd64", "6.1.10-1"): b"headers",
}


@dataclass(frozen=True)
class GpgKeys:
    """A throwaway GnuPG home holding a trusted and an untrusted signing key."""

    home: Path
    trusted: str
    untrusted: str
    keyring: Path


def gpg(home: Path, *args: str) -> str:
    """Run gpg non-interactively in home; return stdout."""
    result = subprocess.run(
        [
            "gpg",
            "--batch",
            "--homedir",
            str(home),
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def make_key(home: Path, uid: str) -> str:
    """Generate an ed25519 signing key; return its fingerprint."""
    gpg(home, "--quick-gen-key", uid, "ed25519", "sign", "never")
    listing = gpg(home, "--with-colons", "--list-keys", uid)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GpgKeys]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    trusted = make_key(home, "Lab Test Archive <archive@lab.invalid>")
    untrusted = make_key(home, "Mallory <mallory@lab.invalid>")
    keyring = home / "archive-keyring.gpg"
    subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--export", "--output", str(keyring), trusted],
        check=True,
        capture_output=True,
    )
    yield GpgKeys(home, trusted, untrusted, keyring)
    subprocess.run(
        ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, capture_output=True
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def deb_path(name: str, version: str) -> str:
    return f"pool/main/l/linux/{name}_{version}_amd64.deb"


def packages_text() -> str:
    stanzas = []
    for (name, version), content in FAKE_DEBS.items():
        stanzas.append(
            f"Package: {name}\nVersion: {version}\nArchitecture: amd64\n"
            f"Depends: initramfs-tools | linux-initramfs-tool, kmod\n"
            f"Filename: {deb_path(name, version)}\nSize: {len(content)}\n"
            f"SHA256: {sha256(content)}\nDescription: fake {name}\n"
        )
    return "\n".join(stanzas)


def release_text(files: dict[str, bytes], suite: str = SUITE) -> str:
    header = (
        f"Origin: Debian\nLabel: Debian\nSuite: {suite}\nCodename: {suite}\n"
        "Date: Sat, 01 Jan 2000 00:00:00 UTC\nArchitectures: amd64\n"
        "Components: main\nDescription: fake archive\nSHA256:"
    )
    lines = [header]
    lines += [f" {sha256(data)} {len(data):>8} {name}" for name, data in files.items()]
    return "\n".join(lines) + "\n"


def build_archive(root: Path, keys: GpgKeys, signer: str | None = None, suite: str = SUITE) -> Path:
    """Write pool/ and dists/<SUITE>/ under root, InRelease signed by signer."""
    for (name, version), content in FAKE_DEBS.items():
        path = root / deb_path(name, version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    dists = root / "dists" / SUITE
    packages = packages_text().encode()
    files = {"main/binary-amd64/Packages": packages, PACKAGES_XZ: lzma.compress(packages)}
    for name, data in files.items():
        (dists / name).parent.mkdir(parents=True, exist_ok=True)
        (dists / name).write_bytes(data)
    (dists / "Release").write_text(release_text(files, suite))
    gpg(
        keys.home,
        "--local-user",
        signer or keys.trusted,
        "--clearsign",
        "--output",
        str(dists / "InRelease"),
        str(dists / "Release"),
    )
    return root


@pytest.fixture
def mirror(tmp_path: Path, keys: GpgKeys) -> Path:
    return build_archive(tmp_path / "mirror", keys)


def open_archive(mirror: Path, tmp_path: Path, keys: GpgKeys) -> DebianArchive:
    return DebianArchive(mirror.as_uri() + "/", SUITE, tmp_path / "cache", keyring=keys.keyring)


def test_tools_present() -> None:
    assert shutil.which("gpg")
    assert shutil.which("gpgv")


def test_find_newest(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    record = open_archive(mirror, tmp_path, keys).find("linux-image-6.1.0-1-amd64")
    # 6.1.10 > 6.1.4 only under Debian version ordering, not string ordering.
    assert record.version == "6.1.10-1"
    assert record.depends == "initramfs-tools | linux-initramfs-tool, kmod"
    assert record.size == len(b"new kernel")


def test_find_exact_version(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    record = open_archive(mirror, tmp_path, keys).find("linux-image-6.1.0-1-amd64", "6.1.4-1")
    assert record == PackageRecord(
        name="linux-image-6.1.0-1-amd64",
        version="6.1.4-1",
        filename=deb_path("linux-image-6.1.0-1-amd64", "6.1.4-1"),
        sha256=sha256(b"old kernel"),
        size=len(b"old kernel"),
        depends="initramfs-tools | linux-initramfs-tool, kmod",
    )


def test_package_not_found(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    archive = open_archive(mirror, tmp_path, keys)
    with pytest.raises(PackageNotFound, match="no-such-package"):
        archive.find("no-such-package")
    with pytest.raises(PackageNotFound, match=r"9\.9.*bookworm.*6\.1\.4-1, 6\.1\.10-1"):
        archive.find("linux-image-6.1.0-1-amd64", "9.9")


def test_find_regex(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    found = open_archive(mirror, tmp_path, keys).find_regex(r"linux-(image|headers)-6\.1\.0-1-.*")
    assert [(r.name, r.version) for r in found] == [
        ("linux-headers-6.1.0-1-amd64", "6.1.10-1"),
        ("linux-image-6.1.0-1-amd64", "6.1.4-1"),
        ("linux-image-6.1.0-1-amd64", "6.1.10-1"),
    ]
    assert open_archive(mirror, tmp_path, keys).find_regex("linux-image") == []


def test_fetch_verified(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    archive = open_archive(mirror, tmp_path, keys)
    path = archive.fetch(archive.find("linux-image-6.1.0-1-amd64"))
    assert path == tmp_path / "cache" / "debs" / "linux-image-6.1.0-1-amd64_6.1.10-1_amd64.deb"
    assert path.read_bytes() == b"new kernel"


def test_tampered_deb(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    archive = open_archive(mirror, tmp_path, keys)
    record = archive.find("linux-image-6.1.0-1-amd64")
    (mirror / record.filename).write_bytes(b"NEW KERNEL")  # same size, other bytes
    basename = "linux-image-6.1.0-1-amd64_6.1.10-1_amd64.deb"
    with pytest.raises(IntegrityError, match=re.escape(basename)):
        archive.fetch(record)
    assert not (tmp_path / "cache" / "debs" / basename).exists()


def test_tampered_packages_index(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    evil = packages_text().replace("6.1.10-1", "6.1.99-1").encode()
    (mirror / "dists" / SUITE / PACKAGES_XZ).write_bytes(lzma.compress(evil))
    with pytest.raises(IntegrityError, match=r"Packages\.xz"):
        open_archive(mirror, tmp_path, keys).index()


def test_inrelease_signed_by_other_key(tmp_path: Path, keys: GpgKeys) -> None:
    mirror = build_archive(tmp_path / "mirror", keys, signer=keys.untrusted)
    with pytest.raises(SignatureError) as info:
        open_archive(mirror, tmp_path, keys).index()
    message = str(info.value)
    assert "InRelease" in message
    assert str(keys.keyring) in message
    assert "gpgv" in message


def test_inrelease_modified_after_signing(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    inrelease = mirror / "dists" / SUITE / "InRelease"
    inrelease.write_text(inrelease.read_text().replace("fake archive", "evil archive"))
    with pytest.raises(SignatureError, match="InRelease"):
        open_archive(mirror, tmp_path, keys).index()


def test_inrelease_of_another_suite(tmp_path: Path, keys: GpgKeys) -> None:
    mirror = build_archive(tmp_path / "mirror", keys, suite="sid")
    with pytest.raises(SignatureError, match="describes suite sid"):
        open_archive(mirror, tmp_path, keys).index()


def test_missing_keyring(mirror: Path, tmp_path: Path) -> None:
    archive = DebianArchive(
        mirror.as_uri(), SUITE, tmp_path / "cache", keyring=tmp_path / "no-keyring.gpg"
    )
    with pytest.raises(SignatureError, match=r"no-keyring\.gpg"):
        archive.index()


def test_index_cached_in_memory_and_on_disk(mirror: Path, tmp_path: Path, keys: GpgKeys) -> None:
    archive = open_archive(mirror, tmp_path, keys)
    assert archive.index() is archive.index()
    cached = tmp_path / "cache" / "indexes" / SUITE / PACKAGES_XZ
    before = cached.stat()
    (mirror / "dists" / SUITE / PACKAGES_XZ).unlink()  # a re-download would now fail
    open_archive(mirror, tmp_path, keys).index()
    assert cached.stat().st_ino == before.st_ino
    assert cached.stat().st_mtime_ns == before.st_mtime_ns

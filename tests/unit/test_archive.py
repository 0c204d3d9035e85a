"""Tests for DebianArchive against a tiny signed archive built in tmp_path."""

from __future__ import annotations

import base64
import hashlib
import lzma
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.cache.archive import DebianArchive, PackageRecord, judge_signatures, parse_release_date
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


def release_text(
    files: dict[str, bytes], suite: str = SUITE, valid_until: str | None = None
) -> str:
    until = f"Valid-Until: {valid_until}\n" if valid_until else ""
    header = (
        f"Origin: Debian\nLabel: Debian\nSuite: {suite}\nCodename: {suite}\n"
        f"Date: Sat, 01 Jan 2000 00:00:00 UTC\n{until}Architectures: amd64\n"
        "Components: main\nDescription: fake archive\nSHA256:"
    )
    lines = [header]
    lines += [f" {sha256(data)} {len(data):>8} {name}" for name, data in files.items()]
    return "\n".join(lines) + "\n"


def build_archive(root: Path, keys: GpgKeys, signer: str | None = None, suite: str = SUITE,
                  *, also_signer: str | None = None, valid_until: str | None = None) -> Path:
    """Write pool/ and dists/<SUITE>/ under root, InRelease signed by signer (and
    also_signer: Debian signs with several keys)."""
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
    (dists / "Release").write_text(release_text(files, suite, valid_until))
    signers = [signer or keys.trusted, *([also_signer] if also_signer else [])]
    gpg(
        keys.home,
        *(option for key in signers for option in ("--local-user", key)),
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


def test_inrelease_signed_by_a_trusted_and_an_unknown_key_is_accepted(
        tmp_path: Path, keys: GpgKeys) -> None:
    """gpgv exits 2 (no public key for the second signature); apt accepts it, and
    so must the lab: Debian's InRelease carries signatures by several keys."""
    mirror = build_archive(tmp_path / "mirror", keys, also_signer=keys.untrusted)
    inrelease = (mirror / "dists" / SUITE / "InRelease").read_text()
    assert inrelease.count("BEGIN PGP SIGNATURE") == 1
    assert open_archive(mirror, tmp_path, keys).find("linux-image-6.1.0-1-amd64").version == (
        "6.1.10-1")


def test_an_unknown_key_first_and_the_trusted_one_second_is_accepted(
        tmp_path: Path, keys: GpgKeys) -> None:
    mirror = build_archive(tmp_path / "mirror", keys, signer=keys.untrusted,
                           also_signer=keys.trusted)
    assert open_archive(mirror, tmp_path, keys).find("linux-image-6.1.0-1-amd64")


def armored_signature(clearsigned: str) -> bytes:
    """The binary signature packets of a clearsigned text."""
    armor = clearsigned.split("-----BEGIN PGP SIGNATURE-----\n", 1)[1]
    armor = armor.split("-----END PGP SIGNATURE-----", 1)[0]
    body = armor.split("\n\n", 1)[1] if "\n\n" in armor else armor
    lines = [line for line in body.splitlines() if line and not line.startswith("=")]
    return base64.b64decode("".join(lines))


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def with_signatures(clearsigned: str, packets: bytes) -> str:
    """clearsigned with its signature block replaced by packets."""
    text = clearsigned.split("-----BEGIN PGP SIGNATURE-----", 1)[0]
    encoded = base64.b64encode(packets).decode()
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    checksum = base64.b64encode(crc24(packets).to_bytes(3, "big")).decode()
    return (text + "-----BEGIN PGP SIGNATURE-----\n\n" + "\n".join(lines)
            + f"\n={checksum}\n-----END PGP SIGNATURE-----\n")


def test_a_bad_signature_next_to_a_good_one_is_refused(tmp_path: Path, keys: GpgKeys) -> None:
    """One good signature is enough, but a BADSIG anywhere means something was
    altered: here a trusted key's signature of another text is appended."""
    mirror = build_archive(tmp_path / "mirror", keys)
    inrelease = mirror / "dists" / SUITE / "InRelease"
    good = inrelease.read_text()
    other = tmp_path / "Other"
    other.write_text(release_text({}, SUITE))
    gpg(keys.home, "--local-user", keys.trusted, "--clearsign", "--output",
        str(tmp_path / "Other.asc"), str(other))
    foreign = armored_signature((tmp_path / "Other.asc").read_text())
    inrelease.write_text(with_signatures(good, armored_signature(good) + foreign))
    with pytest.raises(SignatureError, match=r"BADSIG"):
        open_archive(mirror, tmp_path, keys).index()


def release_date(when: datetime) -> str:
    return when.strftime("%a, %d %b %Y %H:%M:%S UTC")


def test_an_expired_valid_until_is_refused(tmp_path: Path, keys: GpgKeys,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAB_ALLOW_EXPIRED_INDEX", raising=False)
    past = release_date(datetime.now(UTC) - timedelta(days=2))
    mirror = build_archive(tmp_path / "mirror", keys, valid_until=past)
    with pytest.raises(SignatureError) as info:
        open_archive(mirror, tmp_path, keys).index()
    message = str(info.value)
    assert f"expired on {past} (its Valid-Until)" in message
    assert "LAB_DEBIAN_MIRROR" in message
    assert "LAB_ALLOW_EXPIRED_INDEX=1" in message


def test_an_expired_index_is_used_only_when_the_user_allows_it_by_name(
        tmp_path: Path, keys: GpgKeys, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    past = release_date(datetime.now(UTC) - timedelta(days=2))
    mirror = build_archive(tmp_path / "mirror", keys, valid_until=past)
    monkeypatch.setenv("LAB_ALLOW_EXPIRED_INDEX", "yes")  # only "1" counts
    with pytest.raises(SignatureError):
        open_archive(mirror, tmp_path / "a", keys).index()
    monkeypatch.setenv("LAB_ALLOW_EXPIRED_INDEX", "1")
    assert open_archive(mirror, tmp_path / "b", keys).find("linux-image-6.1.0-1-amd64")
    assert f"expired on {past} (its Valid-Until); used anyway" in capsys.readouterr().err


def test_a_valid_until_in_the_future_is_accepted(tmp_path: Path, keys: GpgKeys) -> None:
    future = release_date(datetime.now(UTC) + timedelta(days=7))
    mirror = build_archive(tmp_path / "mirror", keys, valid_until=future)
    assert open_archive(mirror, tmp_path, keys).find("linux-image-6.1.0-1-amd64")


def test_an_unreadable_valid_until_is_refused(tmp_path: Path, keys: GpgKeys) -> None:
    mirror = build_archive(tmp_path / "mirror", keys, valid_until="someday")
    with pytest.raises(SignatureError, match="Valid-Until the lab cannot read"):
        open_archive(mirror, tmp_path, keys).index()


def test_parse_release_date() -> None:
    assert parse_release_date("Sat, 03 Dec 2026 08:12:34 UTC") == datetime(
        2026, 12, 3, 8, 12, 34, tzinfo=UTC)
    assert parse_release_date("Sat, 03 Dec 2026 08:12:34 +0100") == datetime(
        2026, 12, 3, 7, 12, 34, tzinfo=UTC)
    assert parse_release_date("not a date") is None


GOOD = ["[GNUPG:] NEWSIG", "[GNUPG:] GOODSIG 4CBC A <a@x>", "[GNUPG:] VALIDSIG DABF 2026-11-26"]
UNKNOWN = ["[GNUPG:] NEWSIG", "[GNUPG:] ERRSIG AEB0 22 8 01 1795723888 9 84A4",
           "[GNUPG:] NO_PUBKEY AEB0"]
BAD = ["[GNUPG:] NEWSIG", "[GNUPG:] BADSIG 4CBC A <a@x>"]
EXPIRED_KEY = ["[GNUPG:] NEWSIG", "[GNUPG:] EXPKEYSIG 4CBC A <a@x>",
               "[GNUPG:] VALIDSIG DABF 2026-11-26"]


@pytest.mark.parametrize(("blocks", "accepted"), [
    ([GOOD], True),
    ([GOOD, UNKNOWN], True),
    ([UNKNOWN, GOOD], True),
    ([GOOD, EXPIRED_KEY], True),
    ([UNKNOWN], False),
    ([EXPIRED_KEY], False),
    ([GOOD, BAD], False),
    ([BAD, GOOD], False),
    ([["[GNUPG:] NEWSIG", "[GNUPG:] GOODSIG 4CBC A <a@x>"]], False),  # no VALIDSIG
    ([["[GNUPG:] NEWSIG", "[GNUPG:] GOODSIG 4CBC"], ["[GNUPG:] NEWSIG", "[GNUPG:] VALIDSIG D"]],
     False),  # GOODSIG and VALIDSIG of two different signatures
    ([], False),
], ids=["good", "good+unknown", "unknown+good", "good+expired-key", "unknown", "expired-key",
        "good+bad", "bad+good", "goodsig-without-validsig", "split-good", "nothing"])
def test_judge_signatures(blocks: list[list[str]], accepted: bool) -> None:
    status = "\n".join(["[GNUPG:] PLAINTEXT 74 0", *(line for b in blocks for line in b)])
    assert (judge_signatures(status) is None) is accepted


def test_an_expired_index_serves_packages_pinned_by_sha256_with_a_warning(
        tmp_path: Path, keys: GpgKeys, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Fetching what the lock pins checks each .deb against the lock's sha256: a
    stale index cannot substitute one. Looking for the newest version still refuses."""
    monkeypatch.delenv("LAB_ALLOW_EXPIRED_INDEX", raising=False)
    past = release_date(datetime.now(UTC) - timedelta(days=2))
    mirror = build_archive(tmp_path / "mirror", keys, valid_until=past)
    pinned = DebianArchive(mirror.as_uri(), SUITE, tmp_path / "a", keyring=keys.keyring,
                           pinned=True)
    assert pinned.find("linux-image-6.1.0-1-amd64")
    assert "must match the lock's sha256" in capsys.readouterr().err
    with pytest.raises(SignatureError, match="expired on"):
        open_archive(mirror, tmp_path / "b", keys).index()


@pytest.mark.parametrize(("days", "allowed", "pinned", "past"), [
    (-2, "1", False, True),
    (-2, "", True, True),
    (+7, "1", True, False),
    (None, "1", True, False),
], ids=["expired-allowed", "expired-pinned", "valid", "no-valid-until"])
def test_the_archive_says_whether_it_uses_an_index_past_its_valid_until(
        tmp_path: Path, keys: GpgKeys, monkeypatch: pytest.MonkeyPatch,
        days: int | None, allowed: str, pinned: bool, past: bool) -> None:
    """What the guest root's build passes on to mmdebstrap's apt: exactly when the
    lab itself accepted an expired index of that suite."""
    monkeypatch.setenv("LAB_ALLOW_EXPIRED_INDEX", allowed)
    until = None if days is None else release_date(datetime.now(UTC) + timedelta(days=days))
    mirror = build_archive(tmp_path / "mirror", keys, valid_until=until)
    archive = DebianArchive(mirror.as_uri(), SUITE, tmp_path / "c", keyring=keys.keyring,
                            pinned=pinned)
    assert archive.used_past_valid_until() is past

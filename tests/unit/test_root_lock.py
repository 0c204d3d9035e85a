"""Tests for lab.cache.root_lock: the guest root's lock, read and written, held
against the recipe, the suite's verified index and the built root's dpkg status."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cache.archive import PackageRecord
from lab.cache.root_lock import (
    LockedPackage,
    RootLock,
    apt_preferences,
    check_index,
    installed_versions,
    load_root_lock,
    lock_of,
    lock_path,
    lock_problem,
    status_differences,
    write_root_lock,
)
from lab.errors import IntegrityError, LabError, PackageNotFound


def sha(name: str, version: str = "1.0") -> str:
    return f"{sum(map(ord, name + version)):064x}"


def lock(path: Path = Path("vm/rootfs.lock"), **versions: str) -> RootLock:
    packages = versions or {"bash": "5.2", "libc6": "2.36", "clang": "14.0"}
    return RootLock("bookworm", "minbase", ("bash", "clang"),
                    tuple(LockedPackage(name, version, sha(name, version))
                          for name, version in sorted(packages.items())), path)


class Index:
    """A suite's verified index: name -> [(version, sha256)]."""

    def __init__(self, **versions: str) -> None:
        self.records = {name: PackageRecord(name, version, f"pool/{name}.deb",
                                            sha(name, version), 1, "")
                        for name, version in versions.items()}

    def find(self, name: str, version: str | None = None) -> PackageRecord:
        record = self.records.get(name)
        if record is None or version not in (None, record.version):
            raise PackageNotFound(f"package {name} version {version or '(any)'} not found")
        return record


def test_a_lock_is_written_and_read_back(tmp_path: Path) -> None:
    written = lock(tmp_path / "rootfs.lock")
    write_root_lock(written)
    text = written.path.read_text()
    assert text.startswith("# Written by `lab rootfs lock`")
    assert load_root_lock(written.path) == written
    assert [p.name for p in tmp_path.iterdir()] == ["rootfs.lock"], "no partial file left"


def test_the_recipes_lock_lies_beside_it_and_a_missing_one_is_none(tmp_path: Path) -> None:
    assert lock_path(Path("/p/vm/rootfs.toml")) == Path("/p/vm/rootfs.lock")
    assert load_root_lock(tmp_path / "rootfs.lock") is None


@pytest.mark.parametrize("body", [
    "suite = \n",
    'suite = "bookworm"\n',
    'suite = "bookworm"\nvariant = "minbase"\nrequested = ["bash"]\n'
    '[[packages]]\npackage = "bash"\n',
], ids=["bad-toml", "no-packages", "package-without-version"])
def test_a_malformed_lock_says_to_lock_again(tmp_path: Path, body: str) -> None:
    path = tmp_path / "rootfs.lock"
    path.write_text(body)
    with pytest.raises(LabError, match=r"not a valid guest root lock .*run `lab rootfs lock`"):
        load_root_lock(path)


def test_a_lock_that_asks_for_a_package_it_does_not_pin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rootfs.lock"
    path.write_text('suite = "bookworm"\nvariant = "minbase"\nrequested = ["bash", "gcc"]\n'
                    '[[packages]]\npackage = "bash"\nversion = "5.2"\nsha256 = "aa"\n')
    with pytest.raises(LabError, match="asks for gcc but pins no version of it"):
        load_root_lock(path)


def test_the_digest_names_every_pin_and_nothing_else() -> None:
    base = lock()
    assert lock(Path("/elsewhere")).digest() == base.digest()
    assert lock(bash="5.2", libc6="2.36", clang="14.1").digest() != base.digest()
    other_sha = RootLock(base.suite, base.variant, base.requested,
                         (*base.packages[:-1], LockedPackage("libc6", "2.36", "ee" * 32)))
    assert other_sha.digest() != base.digest()


def test_the_lock_must_pin_exactly_the_package_set_asked_for() -> None:
    path = Path("vm/rootfs.lock")
    assert lock_problem(lock(), "bookworm", "minbase", ("clang", "bash"), path) is None
    assert lock_problem(None, "bookworm", "minbase", ("bash",), path) == (
        "vm/rootfs.lock does not exist; run `lab rootfs lock` to pin what the archive has now")
    problem = lock_problem(lock(), "bookworm", "minbase", ("bash", "strace"), path)
    assert problem == (
        "vm/rootfs.lock was made for another package set (asked for now but not locked: "
        "strace; locked but no longer asked for: clang: the recipe or a scenario's "
        "guest_packages changed); run `lab rootfs lock` to pin what the archive has now")
    assert "pins a bookworm minbase root, the recipe asks for trixie minbase" in str(
        lock_problem(lock(), "trixie", "minbase", ("bash", "clang"), path))


def test_a_lock_the_index_carries_passes() -> None:
    check_index(lock(), Index(bash="5.2", libc6="2.36", clang="14.0").find, "bookworm")


def test_a_replayed_older_index_is_refused_naming_what_it_lacks() -> None:
    """The index a mirror replays from an earlier point release has older versions:
    every locked version it lacks is named, with what it has instead."""
    older = Index(bash="5.1", libc6="2.36", clang="13.0")
    with pytest.raises(LabError) as info:
        check_index(lock(), older.find, "bookworm (http://mirror)")
    message = str(info.value)
    assert message.startswith(
        "vm/rootfs.lock pins 2 package version(s) that the signed bookworm (http://mirror) "
        "index does not carry: bash 5.2 (the index has 5.1); clang 14.0 (the index has 13.0).")
    assert "Debian published a point release" in message
    assert "run `lab rootfs lock`" in message
    assert "a replayed index: pick another mirror with LAB_DEBIAN_MIRROR" in message


def test_a_package_gone_from_the_index_is_named() -> None:
    with pytest.raises(LabError, match=r"libc6 2\.36 \(the index has no such package\)"):
        check_index(lock(), Index(bash="5.2", clang="14.0").find, "bookworm")


def test_a_locked_version_with_another_sha256_is_refused() -> None:
    index = Index(bash="5.2", libc6="2.36", clang="14.0")
    index.records["clang"] = PackageRecord("clang", "14.0", "pool/c.deb", "ee" * 32, 1, "")
    with pytest.raises(IntegrityError, match=r"other sha256s than vm/rootfs.lock for clang "
                                             r"14\.0 \(index sha256 e+, lock"):
        check_index(lock(), index.find, "bookworm")


def test_apt_is_pinned_to_every_locked_version() -> None:
    assert apt_preferences(lock()) == (
        "Package: bash\nPin: version 5.2\nPin-Priority: 1001\n\n"
        "Package: clang\nPin: version 14.0\nPin-Priority: 1001\n\n"
        "Package: libc6\nPin: version 2.36\nPin-Priority: 1001\n")


def dpkg_status(root: Path, *stanzas: tuple[str, str, str]) -> Path:
    status = root / "var" / "lib" / "dpkg" / "status"
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text("\n".join(f"Package: {name}\nStatus: {state}\nPriority: optional\n"
                                f"Version: {version}\nDescription: x\n continued\n"
                                for name, version, state in stanzas))
    return root


def test_installed_versions_are_read_from_the_dpkg_status(tmp_path: Path) -> None:
    root = dpkg_status(tmp_path, ("bash", "5.2", "install ok installed"),
                       ("gone", "1", "deinstall ok config-files"),
                       ("libc6", "2.36", "install ok installed"))
    assert installed_versions(root) == {"bash": "5.2", "libc6": "2.36"}
    with pytest.raises(LabError, match="cannot read the dpkg status"):
        installed_versions(tmp_path / "nothing")


def test_each_difference_from_the_lock_is_named() -> None:
    assert status_differences(lock(), {"bash": "5.2", "libc6": "2.36", "clang": "14.0"}) == []
    assert status_differences(lock(), {"bash": "5.1", "libc6": "2.36", "gcc": "12"}) == [
        "bash is 5.1, the lock says 5.2",
        "clang 14.0 is locked but not installed",
        "gcc 12 is installed but not locked",
    ]


def test_a_lock_is_made_from_what_was_installed_and_the_index(tmp_path: Path) -> None:
    index = Index(bash="5.2", libc6="2.36", clang="14.0", unused="1")
    made = lock_of("bookworm", "minbase", ("clang", "bash", "bash"),
                   {"libc6": "2.36", "bash": "5.2", "clang": "14.0"}, index.find,
                   tmp_path / "rootfs.lock")
    assert made == lock()
    assert made.path == tmp_path / "rootfs.lock"
    with pytest.raises(LabError, match=r"bash 5\.3 was installed but is not in the verified"):
        lock_of("bookworm", "minbase", ("bash",), {"bash": "5.3"}, index.find, made.path)


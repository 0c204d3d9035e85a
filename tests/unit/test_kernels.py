"""Tests for lab.cache.kernels without network: tiny kernel .debs built with dpkg-deb
stand in for Debian's, and a fake DebianArchive for the mirror."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import lab.cache.kernels
from lab.cache.archive import PackageRecord
from lab.cache.catalog import LockedDeb, LockedKernel
from lab.cache.download import download
from lab.cache.kernels import fetch_debs, fetch_kernel, kernel_dir
from lab.errors import IntegrityError, LabError, PackageNotFound

RELEASE = "6.1.0-99-amd64"
VERSION = "6.1.999-1"
PACKAGE = f"linux-image-{RELEASE}-unsigned"
FILENAME = f"pool/main/l/linux/{PACKAGE}_{VERSION}_amd64.deb"
MIRROR = "http://mirror.invalid/debian"
BOOT = {"vmlinuz": b"fake bzImage", "config": b"CONFIG_BPF=y\n", "System.map": b"0 T _text\n"}

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None or shutil.which("depmod") is None,
                                reason="needs dpkg-deb and depmod")


def build_deb(where: Path, name: str, files: dict[str, bytes]) -> Path:
    """A .deb named name holding files (paths relative to /)."""
    root = where / f"root-{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {VERSION}\nArchitecture: amd64\n"
        "Maintainer: lab tests <lab@example.invalid>\nDescription: fake kernel part\n")
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    deb = where / f"{name}.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
                   check=True, capture_output=True)
    return deb


def image_files(modules_prefix: str) -> dict[str, bytes]:
    """Boot files in /boot, one module under <modules_prefix>/modules/<release>."""
    files = {f"boot/{name}-{RELEASE}": content for name, content in BOOT.items()}
    files[f"{modules_prefix}/modules/{RELEASE}/kernel/dummy.ko"] = b"\x7fELF not a module"
    return files


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("debs")
    modules = f"usr/lib/modules/{RELEASE}"
    return {
        "lib": build_deb(where, "image-lib", image_files("lib")),
        "usr/lib": build_deb(where, "image-usr-lib", image_files("usr/lib")),
        # a split kernel (Debian 7.x): boot files inside the modules directory
        "binary": build_deb(where, "binary", {f"{modules}/{n}": c for n, c in BOOT.items()}),
        "modules": build_deb(where, "modules", {f"{modules}/kernel/dummy.ko": b"\x7fELF"}),
        "no-vmlinuz": build_deb(where, "no-vmlinuz", {
            k: v for k, v in image_files("lib").items() if "vmlinuz" not in k}),
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def locked_deb(deb: Path, name: str = PACKAGE, sha: str | None = None) -> LockedDeb:
    return LockedDeb(name, VERSION, f"pool/main/l/linux/{name}_{VERSION}_amd64.deb",
                     sha if sha is not None else sha256(deb), deb.stat().st_size)


def pinned(*boot: LockedDeb) -> LockedKernel:
    return LockedKernel(line="6.1", suite="bookworm", release=RELEASE, version=VERSION,
                        boot=boot, headers=())


def put_in_cache(cache: Path, deb: Path, pin: LockedDeb) -> Path:
    target = cache / "debs" / Path(pin.filename).name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(deb, target)
    return target


def cached_kernel(cache: Path, *debs: Path) -> LockedKernel:
    """A kernel whose boot debs are all in <cache>/debs/ with the locked sha256."""
    pins = [locked_deb(deb, f"{PACKAGE}-part{i}" if i else PACKAGE) for i, deb in enumerate(debs)]
    for deb, pin in zip(debs, pins, strict=True):
        put_in_cache(cache, deb, pin)
    return pinned(*pins)


class FakeArchive:
    """Stands in for DebianArchive; find/fetch are set per test, by default they fail."""

    created: list[tuple[str, str, Path]]
    find_impl: Callable[[str, str | None], PackageRecord] | None = None
    fetch_impl: Callable[[PackageRecord], Path] | None = None

    def __init__(self, mirror: str, suite: str, cache_dir: Path, *, pinned: bool = False,
                 arch: str = "amd64") -> None:
        self.mirror = mirror
        type(self).created.append((mirror, suite, cache_dir))

    def find(self, name: str, version: str | None = None) -> PackageRecord:
        find = type(self).find_impl
        if find is None:
            raise AssertionError("the archive's index must not be read here")
        return find(name, version)

    def fetch(self, record: PackageRecord) -> Path:
        fetch = type(self).fetch_impl
        if fetch is None:
            raise AssertionError("nothing may be downloaded here")
        return fetch(record)

    def index(self) -> dict[str, list[PackageRecord]]:
        raise AssertionError("the archive's index must not be read here")


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> type[FakeArchive]:
    fake = type("Archive", (FakeArchive,), {"created": []})
    monkeypatch.setattr(lab.cache.kernels, "DebianArchive", fake)
    return fake


def assert_debian_layout(cache: Path, kernel: LockedKernel) -> None:
    root = kernel_dir(cache, kernel)
    assert root == cache / "kernels" / f"{RELEASE}_{VERSION}"
    modules = root / "lib" / "modules" / RELEASE
    for name, content in BOOT.items():
        assert (modules / name).read_bytes() == content
    assert (modules / "kernel" / "dummy.ko").is_file()
    assert os.readlink(modules / "build") == f"/usr/src/linux-headers-{RELEASE}"
    assert os.readlink(modules / "source") == "/usr/src/linux-headers-6.1.0-99-common"
    assert (modules / "modules.dep").is_file(), "depmod ran on the unpacked modules"
    assert "kernel/dummy.ko" in (modules / "modules.dep").read_text()
    assert not (root / "usr" / "lib" / "modules").exists()
    assert (root / ".lab-stamp.json").is_file()
    assert sorted(p.name for p in (cache / "kernels").iterdir()) == [root.name], \
        "no staging directory or lock file is left"


def kernels_left(cache: Path) -> list[str]:
    """What is in <cache>/kernels (no lock files or staging may stay behind)."""
    where = cache / "kernels"
    return sorted(p.name for p in where.iterdir()) if where.exists() else []


@pytest.mark.parametrize("layout", [["lib"], ["usr/lib"], ["binary", "modules"]],
                         ids=["lib-modules", "usr-lib-modules", "split-packages"])
def test_cached_debs_with_right_sha_unpack_to_the_layout_without_the_archive(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path],
        layout: list[str]) -> None:
    kernel = cached_kernel(tmp_path, *(debs[name] for name in layout))

    build = fetch_kernel(tmp_path, MIRROR, kernel)

    assert build.release == RELEASE
    assert build.root == kernel_dir(tmp_path, kernel)
    assert build.image == build.root / "lib" / "modules" / RELEASE / "vmlinuz"
    assert build.config.read_bytes() == BOOT["config"]
    assert_debian_layout(tmp_path, kernel)


def test_an_unpacked_kernel_is_reused_without_the_debs(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path],
        capsys: pytest.CaptureFixture[str]) -> None:
    kernel = cached_kernel(tmp_path, debs["lib"])
    first = fetch_kernel(tmp_path, MIRROR, kernel)
    shutil.rmtree(tmp_path / "debs")
    inode = first.image.stat().st_ino
    capsys.readouterr()
    assert fetch_kernel(tmp_path, MIRROR, kernel) == first
    assert first.image.stat().st_ino == inode, "not unpacked again"
    assert capsys.readouterr().err == ""


def test_a_stale_partial_directory_is_replaced(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    kernel = cached_kernel(tmp_path, debs["lib"])
    (tmp_path / "kernels" / f"{kernel.cache_name}.partial" / "junk").mkdir(parents=True)
    build = fetch_kernel(tmp_path, MIRROR, kernel)
    assert not (build.root / "junk").exists()
    assert_debian_layout(tmp_path, kernel)


def test_debs_without_the_release_modules_are_refused(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    kernel = dataclasses.replace(cached_kernel(tmp_path, debs["lib"]), release="6.1.0-98-amd64")
    with pytest.raises(LabError, match=f"{PACKAGE} holds no lib/modules/6.1.0-98-amd64"):
        fetch_kernel(tmp_path, MIRROR, kernel)
    assert kernels_left(tmp_path) == []


def test_debs_without_a_kernel_image_are_refused(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    kernel = cached_kernel(tmp_path, debs["no-vmlinuz"])
    with pytest.raises(LabError) as info:
        fetch_kernel(tmp_path, MIRROR, kernel)
    assert str(info.value) == (f"the kernel packages hold neither vmlinuz in lib/modules/{RELEASE} "
                               f"nor boot/vmlinuz-{RELEASE}")
    assert not kernel_dir(tmp_path, kernel).exists()


def test_wrong_cached_sha_fetches_the_pinned_deb_from_the_archive(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    pin = locked_deb(debs["lib"])
    stale = put_in_cache(tmp_path, debs["usr/lib"], pin)  # another file under that name
    good = PackageRecord(PACKAGE, VERSION, pin.filename, pin.sha256, pin.size, "")
    asked: list[tuple[str, str | None]] = []

    def find(name: str, version: str | None) -> PackageRecord:
        asked.append((name, version))
        return good

    def fetch(record: PackageRecord) -> Path:
        assert record == good
        shutil.copy(debs["lib"], stale)
        return stale

    archive.find_impl, archive.fetch_impl = staticmethod(find), staticmethod(fetch)
    kernel = pinned(pin)
    fetch_kernel(tmp_path, MIRROR, kernel)
    assert asked == [(PACKAGE, VERSION)]
    assert archive.created == [(MIRROR, "bookworm", tmp_path)]
    assert_debian_layout(tmp_path, kernel)


def test_pinned_version_gone_from_the_archive_says_to_relock(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    pin = locked_deb(debs["lib"], sha="00" * 32)
    cached = put_in_cache(tmp_path, debs["lib"], pin)

    def find(name: str, version: str | None) -> PackageRecord:
        raise PackageNotFound(f"package {name} version {version} not found")

    archive.find_impl = staticmethod(find)
    with pytest.raises(LabError) as info:
        fetch_kernel(tmp_path, MIRROR, pinned(pin))
    message = str(info.value)
    assert not isinstance(info.value, IntegrityError)
    assert f"the lock pins {PACKAGE} {VERSION} for kernel 6.1" in message
    assert f"{MIRROR} bookworm no longer carries it" in message
    assert "Run `lab kernels lock 6.1`" in message
    assert isinstance(info.value.__cause__, PackageNotFound)
    assert cached.exists()
    assert kernels_left(tmp_path) == []


def test_archive_sha_differing_from_the_lock_is_an_integrity_error(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    lock_sha, index_sha = "11" * 32, "22" * 32
    pin = locked_deb(debs["lib"], sha=lock_sha)

    def find(name: str, version: str | None) -> PackageRecord:
        return PackageRecord(name, version or "", pin.filename, index_sha, pin.size, "")

    archive.find_impl = staticmethod(find)
    with pytest.raises(IntegrityError) as info:
        fetch_kernel(tmp_path, MIRROR, pinned(pin))
    message = str(info.value)
    assert f"{pin.filename}: the signed index says sha256 {index_sha}" in message
    assert f"the lock says {lock_sha}; refusing to use it" in message
    assert kernels_left(tmp_path) == []


def test_fetch_debs_returns_each_cached_deb_in_lock_order(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    kernel = cached_kernel(tmp_path, debs["binary"], debs["modules"])
    paths = fetch_debs(tmp_path, MIRROR, kernel, kernel.boot)
    assert paths == [tmp_path / "debs" / Path(d.filename).name for d in kernel.boot]
    assert [sha256(p) for p in paths] == [sha256(debs["binary"]), sha256(debs["modules"])]


class FileMirror:
    """The fake archive's find/fetch backed by a file:// mirror and the real download():
    records every package fetched, so a test sees what was downloaded again."""

    def __init__(self, where: Path, cache: Path, archive: type[FakeArchive]) -> None:
        self.where, self.cache = where, cache
        self.records: dict[str, PackageRecord] = {}
        self.fetched: list[str] = []
        archive.find_impl = staticmethod(self.find)
        archive.fetch_impl = staticmethod(self.fetch)

    def publish(self, deb: Path, pin: LockedDeb) -> None:
        (self.where / pin.filename).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(deb, self.where / pin.filename)
        self.records[pin.package] = PackageRecord(pin.package, pin.version, pin.filename,
                                                  pin.sha256, pin.size, "")

    def find(self, name: str, version: str | None) -> PackageRecord:
        return self.records[name]

    def fetch(self, record: PackageRecord) -> Path:
        self.fetched.append(record.name)
        return download((self.where / record.filename).as_uri(),
                        self.cache / "debs" / Path(record.filename).name,
                        sha256=record.sha256, size=record.size)


def mirrored_kernel(tmp_path: Path, archive: type[FakeArchive], deb: Path) -> tuple[
        LockedKernel, FileMirror]:
    pin = locked_deb(deb)
    mirror = FileMirror(tmp_path / "mirror", tmp_path, archive)
    mirror.publish(deb, pin)
    return pinned(pin), mirror


def tamper_vmlinuz(root: Path) -> None:
    image = root / "lib" / "modules" / RELEASE / "vmlinuz"
    image.write_bytes(image.read_bytes().upper())  # same size, other bytes


def truncate_module(root: Path) -> None:
    module = root / "lib" / "modules" / RELEASE / "kernel" / "dummy.ko"
    module.write_bytes(module.read_bytes()[:4])


def remove_stamp(root: Path) -> None:
    (root / ".lab-stamp.json").unlink()


def change_inputs(root: Path) -> None:
    stamp = json.loads((root / ".lab-stamp.json").read_text())
    stamp["inputs"] = "0" * 64
    (root / ".lab-stamp.json").write_text(json.dumps(stamp))


@pytest.mark.parametrize(("fault", "reason"), [
    (tamper_vmlinuz, f"the content of lib/modules/{RELEASE}/vmlinuz changed"),
    (truncate_module, f"a file under lib/modules/{RELEASE}/kernel was added, removed, resized"),
    (remove_stamp, "it has no completion stamp (an interrupted build"),
    (change_inputs, "it was built from other inputs than the ones pinned now"),
], ids=["tampered-vmlinuz", "truncated-module", "missing-stamp", "other-inputs"])
def test_a_damaged_cached_kernel_is_detected_and_fetched_again(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path],
        capsys: pytest.CaptureFixture[str], fault: Callable[[Path], None], reason: str) -> None:
    kernel, mirror = mirrored_kernel(tmp_path, archive, debs["lib"])
    build = fetch_kernel(tmp_path, MIRROR, kernel)
    assert mirror.fetched == [PACKAGE]
    shutil.rmtree(tmp_path / "debs")  # so "again" means from the mirror, verified again
    fault(build.root)
    capsys.readouterr()

    assert fetch_kernel(tmp_path, MIRROR, kernel) == build

    err = capsys.readouterr().err
    assert f"not using the cached kernel {build.root}: {reason}" in err
    assert mirror.fetched == [PACKAGE, PACKAGE]
    assert_debian_layout(tmp_path, kernel)
    assert fetch_kernel(tmp_path, MIRROR, kernel) == build
    assert "not using" not in capsys.readouterr().err, "the new copy is trusted"


def test_what_a_killed_unpack_left_is_swept(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path]) -> None:
    kernel = cached_kernel(tmp_path, debs["lib"])
    root = kernel_dir(tmp_path, kernel)
    leftovers = [root.with_name(f".{root.name}.build-x1y2z3"),
                 root.with_name(f".{root.name}.discard-12345")]
    for leftover in leftovers:
        (leftover / "tree" / "lib").mkdir(parents=True)
    fetch_kernel(tmp_path, MIRROR, kernel)
    assert_debian_layout(tmp_path, kernel)


def fetch_in_child(cache: Path, kernel: LockedKernel, go: multiprocessing.synchronize.Event,
                   log: Path) -> None:
    """One of two lab processes: fetch the kernel, check what it got, exit 0 if good."""
    with log.open("w") as out, contextlib.redirect_stderr(out):
        assert go.wait(10)
        build = fetch_kernel(cache, MIRROR, kernel)
        for name, content in BOOT.items():
            assert (build.modules / name).read_bytes() == content
        assert (build.modules / "modules.dep").is_file()


def test_two_processes_fetching_one_kernel_build_it_once_and_both_get_it(
        tmp_path: Path, archive: type[FakeArchive], debs: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    kernel, mirror = mirrored_kernel(tmp_path, archive, debs["lib"])
    unpacks = tmp_path / "unpacks"
    original = lab.cache.kernels._place_boot_files

    def slow_place_boot_files(staging: Path, modules: Path, release: str) -> None:
        with unpacks.open("a") as count:
            count.write(f"{os.getpid()}\n")
        time.sleep(0.3)  # a window in which the other process could trample this one
        original(staging, modules, release)

    monkeypatch.setattr(lab.cache.kernels, "_place_boot_files", slow_place_boot_files)
    context = multiprocessing.get_context("fork")
    go = context.Event()
    logs = [tmp_path / f"process-{i}.log" for i in range(2)]
    processes = [context.Process(target=fetch_in_child, args=(tmp_path, kernel, go, log))
                 for log in logs]
    for process in processes:
        process.start()
    go.set()
    for process in processes:
        process.join(30)
    output = "\n".join(f"--- {log.name}:\n{log.read_text()}" for log in logs)
    assert [p.exitcode for p in processes] == [0, 0], output
    assert len(unpacks.read_text().splitlines()) == 1, "one unpacked, the other reused it"
    assert "waiting for another lab process" in output
    assert f"(lock {kernel_dir(tmp_path, kernel)}.lock)" in output
    assert_debian_layout(tmp_path, kernel)

"""Tests for lab.cache.catalog: the shipped catalog and lock, choosing the newest image,
deriving lock entries, and writing and reading the lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cache.archive import PackageRecord
from lab.cache.catalog import (
    LOCK_HEADER,
    KernelLine,
    LockedDeb,
    LockedKernel,
    header_dependencies,
    load_catalog,
    load_lock,
    lock_entry,
    locked,
    newest_image,
    write_lock,
)
from lab.errors import LabError, PackageNotFound

VM_DIR = Path(__file__).resolve().parents[2] / "vm"


def record(name: str, version: str, depends: str = "", sha: str = "ab" * 32,
           size: int = 1000) -> PackageRecord:
    return PackageRecord(name=name, version=version,
                         filename=f"pool/main/l/linux/{name}_{version}_amd64.deb",
                         sha256=sha, size=size, depends=depends)


def deb(name: str, version: str = "6.1.176-1", sha: str = "12" * 32) -> LockedDeb:
    return LockedDeb(name, version, f"pool/main/l/linux/{name}_{version}_amd64.deb", sha, 4242)


@pytest.fixture(scope="module")
def catalog() -> dict[str, KernelLine]:
    return load_catalog(VM_DIR / "kernels.toml")


@pytest.fixture
def line61(catalog: dict[str, KernelLine]) -> KernelLine:
    return catalog["6.1"]


def sample_lock() -> dict[str, LockedKernel]:
    return {
        "6.1": LockedKernel("6.1", "bookworm", "6.1.0-50-amd64", "6.1.176-1",
                            boot=(deb("linux-image-6.1.0-50-amd64-unsigned"),),
                            headers=(deb("linux-headers-6.1.0-50-amd64"),
                                     deb("linux-kbuild-6.1", sha="34" * 32))),
        "6.12": LockedKernel("6.12", "trixie", "6.12.48+deb13-amd64", "6.12.48-1",
                             boot=(deb("linux-image-6.12.48+deb13-amd64-unsigned", "6.12.48-1"),),
                             headers=(deb("linux-headers-6.12.48+deb13-amd64", "6.12.48-1"),)),
    }


class Finder:
    """archive.find over these records: exact version, or the last one when None."""

    def __init__(self, *records: PackageRecord) -> None:
        self.records = records
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, name: str, version: str | None) -> PackageRecord:
        self.asked.append((name, version))
        matching = [r for r in self.records if r.name == name and version in (None, r.version)]
        if not matching:
            raise PackageNotFound(f"package {name} version {version} not found")
        return matching[-1]


# --- the shipped files ----------------------------------------------------------

def test_shipped_catalog_has_the_61_line(line61: KernelLine) -> None:
    assert line61 == KernelLine(
        line="6.1", suite="bookworm",
        image=r"linux-image-(?P<abi>6\.1\.0-\d+)-amd64-unsigned",
        release="{abi}-amd64",
        boot=("linux-image-{abi}-amd64-unsigned",),
        headers=("linux-headers-{abi}-amd64",))


def test_shipped_lock_pins_every_catalog_line(catalog: dict[str, KernelLine]) -> None:
    lock = load_lock(VM_DIR / "kernels.lock")
    assert set(lock) == set(catalog)
    assert lock["6.1"].release == "6.1.0-50-amd64"
    assert lock["6.1"].package == "linux-image-6.1.0-50-amd64-unsigned"
    assert lock["6.1"].cache_name == "6.1.0-50-amd64_6.1.176-1"


@pytest.mark.parametrize("line", ["5.10", "6.1", "6.12", "7.2"])
def test_shipped_lock_entry_agrees_with_its_catalog_templates(
        catalog: dict[str, KernelLine], line: str) -> None:
    entry = load_lock(VM_DIR / "kernels.lock")[line]
    template = catalog[line]
    abi = entry.release.removesuffix("-amd64")
    assert template.release.format(abi=abi) == entry.release
    assert entry.suite == template.suite
    assert [d.package for d in entry.boot] == [t.format(abi=abi) for t in template.boot]
    assert entry.headers[0].package == template.headers[0].format(abi=abi)
    assert {d.version for d in (*entry.boot, *entry.headers)} == {entry.version}
    assert all(len(d.sha256) == 64 and d.size > 0 for d in (*entry.boot, *entry.headers))


def test_shipped_lock_is_what_write_lock_writes(tmp_path: Path) -> None:
    shipped = VM_DIR / "kernels.lock"
    rewritten = tmp_path / "kernels.lock"
    write_lock(rewritten, load_lock(shipped))
    assert rewritten.read_text() == shipped.read_text()


# --- newest_image -----------------------------------------------------------------

def test_newest_image_compares_debian_versions_not_strings(line61: KernelLine) -> None:
    # As strings, both "6.1.0-9" > "6.1.0-10" and "6.1.76-1" > "6.1.176-1": only a
    # Debian version comparison picks the newer ABI.
    old = record("linux-image-6.1.0-9-amd64-unsigned", "6.1.76-1")
    new = record("linux-image-6.1.0-10-amd64-unsigned", "6.1.176-1")
    assert newest_image(line61, [old, new]) == new
    assert newest_image(line61, [new, old]) == new


def test_newest_image_orders_debian_revisions(line61: KernelLine) -> None:
    records = [record("linux-image-6.1.0-50-amd64-unsigned", v)
               for v in ("6.1.176-1~bpo11+1", "6.1.176-1", "6.1.176-1+deb12u1", "6.1.176~rc1-1")]
    assert newest_image(line61, records).version == "6.1.176-1+deb12u1"


@pytest.mark.parametrize("other", [
    "linux-image-6.1.0-60-cloud-amd64-unsigned",
    "linux-image-6.1.0-60-rt-amd64-unsigned",
    "linux-image-6.1.0-60-amd64",
    "linux-image-6.1.0-60-amd64-unsigned-dbg",
    "xlinux-image-6.1.0-60-amd64-unsigned",
    "linux-headers-6.1.0-60-amd64",
])
def test_newest_image_ignores_other_flavours_and_packages(line61: KernelLine, other: str) -> None:
    plain = record("linux-image-6.1.0-50-amd64-unsigned", "6.1.176-1")
    newer_but_wrong = record(other, "6.1.999-1")
    assert line61.abi_of(other) is None
    assert newest_image(line61, [newer_but_wrong, plain]) == plain


def test_newest_image_without_candidates_says_the_catalog_needs_updating(
        line61: KernelLine) -> None:
    with pytest.raises(LabError, match="in bookworm: the catalog entry for this line needs upd"):
        newest_image(line61, [record("linux-image-6.1.0-60-cloud-amd64-unsigned", "6.1.1-1")])


# --- lock_entry and header_dependencies ------------------------------------------------

HEADERS_DEPENDS = ("linux-headers-6.1.0-10-common (= 6.1.38-2), linux-kbuild-6.1 (>= 6.1.38-2), "
                   "linux-compiler-gcc-12-x86, libc6 (>= 2.34)")


def test_header_dependencies_keeps_headers_and_kbuild_with_exact_pins() -> None:
    assert header_dependencies(HEADERS_DEPENDS) == [
        ("linux-headers-6.1.0-10-common", "6.1.38-2"), ("linux-kbuild-6.1", None)]


@pytest.mark.parametrize("depends", ["", "libc6 (>= 2.34)",
                                     "linux-kbuild-6.1 | linux-kbuild-6.2",
                                     "linux-headers-amd64-dummy-for-tests-x | gcc"])
def test_header_dependencies_skips_other_packages_and_alternatives(depends: str) -> None:
    assert header_dependencies(depends) == []


def test_lock_entry_derives_release_and_pins_image_headers_and_their_dependencies(
        line61: KernelLine) -> None:
    image = record("linux-image-6.1.0-10-amd64-unsigned", "6.1.38-2", sha="cd" * 32, size=42)
    headers = record("linux-headers-6.1.0-10-amd64", "6.1.38-2", depends=HEADERS_DEPENDS)
    common = record("linux-headers-6.1.0-10-common", "6.1.38-2")
    kbuild = record("linux-kbuild-6.1", "6.1.38-3")
    find = Finder(image, headers, common, record("linux-kbuild-6.1", "6.1.38-1"), kbuild)

    entry = lock_entry(line61, image, find)

    assert entry == LockedKernel(
        line="6.1", suite="bookworm", release="6.1.0-10-amd64", version="6.1.38-2",
        boot=(LockedDeb("linux-image-6.1.0-10-amd64-unsigned", "6.1.38-2", image.filename,
                        "cd" * 32, 42),),
        headers=(LockedDeb.of(headers), LockedDeb.of(common), LockedDeb.of(kbuild)))
    assert find.asked == [
        ("linux-image-6.1.0-10-amd64-unsigned", "6.1.38-2"),
        ("linux-headers-6.1.0-10-amd64", "6.1.38-2"),
        ("linux-headers-6.1.0-10-common", "6.1.38-2"),
        ("linux-kbuild-6.1", None)]


def test_lock_entry_of_a_split_kernel_pins_every_boot_package(
        catalog: dict[str, KernelLine]) -> None:
    line72 = catalog["7.2"]
    version, abi = "7.2.12-1", "7.2.12+deb14"
    image = record(f"linux-image-{abi}-amd64", version)
    parts = [record(f"linux-{part}-{abi}-amd64", version) for part in ("binary", "modules", "base")]
    headers = record(f"linux-headers-{abi}-amd64", version)
    entry = lock_entry(line72, image, Finder(image, *parts, headers))
    assert entry.release == "7.2.12+deb14-amd64"
    assert [d.package for d in entry.boot] == [
        "linux-binary-7.2.12+deb14-amd64", "linux-modules-7.2.12+deb14-amd64",
        "linux-base-7.2.12+deb14-amd64"]
    assert entry.package == "linux-binary-7.2.12+deb14-amd64"
    assert [d.package for d in entry.headers] == ["linux-headers-7.2.12+deb14-amd64"]


# --- write_lock / load_lock / locked ---------------------------------------------------

def test_write_lock_then_load_lock_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "kernels.lock"
    write_lock(path, sample_lock())
    assert load_lock(path) == sample_lock()
    text = path.read_text()
    assert text.startswith(LOCK_HEADER)
    assert text.index('[lines."6.1"]') < text.index('[lines."6.12"]')
    assert '[[lines."6.1".headers]]' in text
    assert not (tmp_path / "kernels.lock.tmp").exists()


def test_write_lock_replaces_an_existing_lock(tmp_path: Path) -> None:
    path = tmp_path / "kernels.lock"
    write_lock(path, sample_lock())
    only = {"6.1": sample_lock()["6.1"]}
    write_lock(path, only)
    assert load_lock(path) == only


def test_locked_returns_the_pinned_kernel() -> None:
    assert locked(sample_lock(), "6.12").release == "6.12.48+deb13-amd64"


def test_locked_with_an_unknown_line_lists_the_locked_lines() -> None:
    with pytest.raises(LabError) as info:
        locked(sample_lock(), "5.4")
    assert str(info.value) == "kernel line '5.4' is not in the lock (locked: 6.1, 6.12)"


def test_locked_on_an_empty_lock_says_none() -> None:
    with pytest.raises(LabError, match=r"\(locked: none\)"):
        locked({}, "6.1")


def test_load_lock_of_a_missing_file_says_to_run_lab_kernels_lock(tmp_path: Path) -> None:
    path = tmp_path / "kernels.lock"
    with pytest.raises(LabError) as info:
        load_lock(path)
    assert str(info.value) == f"{path} does not exist; run `lab kernels lock` to create it"


ENTRY = '[lines."6.1"]\nsuite = "bookworm"\nrelease = "6.1.0-50-amd64"\nversion = "6.1.176-1"\n'
BOOT_DEB = ('[[lines."6.1".boot]]\npackage = "linux-image-6.1.0-50-amd64-unsigned"\n'
            'version = "6.1.176-1"\nfilename = "pool/x.deb"\nsha256 = "00"\nsize = 1\n')


def test_well_formed_minimal_lock_loads(tmp_path: Path) -> None:
    path = tmp_path / "kernels.lock"
    path.write_text(ENTRY + "headers = []\n" + BOOT_DEB)
    assert load_lock(path)["6.1"].boot == (
        LockedDeb("linux-image-6.1.0-50-amd64-unsigned", "6.1.176-1", "pool/x.deb", "00", 1),)


@pytest.mark.parametrize("body", [
    ENTRY,
    ENTRY + BOOT_DEB,
    ENTRY + "headers = []\n" + BOOT_DEB.replace("size = 1\n", ""),
    ENTRY + "headers = []\n" + BOOT_DEB + 'colour = "blue"\n',
    '[lines."6.1"]\nboot = []\nheaders = []\n',
    'lines = "6.1"\n',
    '[lines]\n"6.1" = "bookworm"\n',
], ids=["no-packages", "no-headers", "deb-missing-size", "deb-extra-field", "no-release",
        "lines-not-a-table", "entry-not-a-table"])
def test_malformed_lock_is_a_lab_error_saying_to_relock(tmp_path: Path, body: str) -> None:
    path = tmp_path / "kernels.lock"
    path.write_text(body)
    with pytest.raises(LabError, match="run `lab kernels lock`") as info:
        load_lock(path)
    assert str(info.value).startswith(f"{path}: ")


def test_unreadable_lock_toml_is_a_lab_error(tmp_path: Path) -> None:
    path = tmp_path / "kernels.lock"
    path.write_text("[lines.\n")
    with pytest.raises(LabError, match="cannot read"):
        load_lock(path)


def test_catalog_entry_missing_fields_is_named(tmp_path: Path) -> None:
    path = tmp_path / "kernels.toml"
    path.write_text('[lines."6.1"]\nsuite = "bookworm"\nrelease = "{abi}-amd64"\n')
    with pytest.raises(LabError, match="line 6.1 lacks boot, headers, image"):
        load_catalog(path)


@pytest.mark.parametrize("line", ["../../victim", "/tmp/victim", "6.1/x", "..", ".hidden",
                                  "", "6.1 ", "a" * 33])
@pytest.mark.parametrize("file", ["kernels.toml", "kernels.lock"])
def test_a_line_name_that_is_not_one_path_component_is_refused(
        tmp_path: Path, line: str, file: str) -> None:
    # a line becomes lab-output/runs/<line>: the files that define lines may only name safe ones
    path = tmp_path / file
    path.write_text((VM_DIR / file).read_text().replace('[lines."6.1"]', f'[lines."{line}"]')
                    .replace('[lines."6.1".', f'[lines."{line}".'))
    load = load_catalog if file == "kernels.toml" else load_lock
    with pytest.raises(LabError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}: {line!r} is not a kernel line name")

"""Tests for lab.cache.boot_image: the vmlinux ELF comes out of a bzImage whatever
its compression, the PVH note is found (or not), and the boot image is built once,
checked on every use, and never stops a boot it cannot speed up."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import kernel_images as k
import pytest

from lab.cache import boot_image as module
from lab.cache.boot_image import (
    BOOT_IMAGES,
    BootImage,
    NotBootable,
    boot_image,
    has_pvh_note,
    uncompressed_kernel,
)
from lab.cache.cache_stamp import STAMP_NAME

RELEASE = "6.1.0-99-amd64"
METHODS = ["xz", "gzip", pytest.param("zstd", marks=pytest.mark.skipif(
    shutil.which("zstd") is None, reason="zstd(1) is not installed (lab doctor lists it)"))]
# 4 KiB that do not compress: a truncated payload cannot still hold the whole ELF
BODY = random.Random(0).randbytes(4096)


# --- uncompressed_kernel -------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("setup_sects", "payload_offset"), [(3, 0x3A0), (27, 0), (0, 0x10)])
def test_each_compression_gives_back_the_elf(method: str, setup_sects: int,
                                             payload_offset: int) -> None:
    # setup_sects 0 means 4 (boot protocol): the payload is found after 5 sectors
    elf = k.elf(body=BODY)
    image = k.bzimage(k.compress(elf, method), setup_sects, payload_offset)
    assert uncompressed_kernel(image) == elf


def test_the_payload_is_read_at_its_offset_not_at_the_first_magic() -> None:
    # the decompressor code before the payload holds an xz magic of its own
    elf = k.elf()
    image = bytearray(k.bzimage(k.compress(elf, "xz"), payload_offset=0x40))
    start = 4 * 512
    image[start:start + 6] = b"\xfd7zXZ\x00"
    assert uncompressed_kernel(bytes(image)) == elf


def test_an_unknown_payload_format_is_not_bootable_and_named_by_its_magic() -> None:
    image = k.bzimage(b"\x02\x21\x4c\x18" + b"lz4 frame, say")  # legacy lz4
    with pytest.raises(NotBootable, match=r"magic 02214c18"):
        uncompressed_kernel(image)


@pytest.mark.parametrize("image", [
    b"",
    b"\x7fELF" + b"\0" * 1000,                     # an ELF, not a bzImage
    b"MZ" + b"\0" * 0x300,                         # no HdrS where it belongs
    bytes(0x202) + b"HdrS",                        # HdrS, but too short for the payload fields
    bytes(0x201) + b"HdrS" + bytes(0x100),         # HdrS one byte early
])
def test_what_is_not_a_bzimage_is_not_bootable(image: bytes) -> None:
    with pytest.raises(NotBootable, match=r"not a bzImage \(no HdrS setup header\)"):
        uncompressed_kernel(image)


@pytest.mark.parametrize("method", METHODS)
def test_a_payload_that_is_not_an_elf_is_not_bootable(method: str) -> None:
    image = k.bzimage(k.compress(b"this is no ELF" * 20, method))
    with pytest.raises(NotBootable):
        uncompressed_kernel(image)


# --- has_pvh_note --------------------------------------------------------------

def test_the_pvh_note_is_found_among_the_other_xen_notes() -> None:
    assert has_pvh_note(k.elf())
    assert has_pvh_note(k.elf(notes=(("Xen", 18, b"\0\0\0\1"),)))


@pytest.mark.parametrize("notes", [
    (),                                           # no PT_NOTE segment at all
    k.XEN_NOTES[:3],                              # Xen notes, but not the PVH entry
    (("GNU", 3, b"\x12" * 20),),                  # a build id only
    (("Linux", 18, b"\0" * 4),),                  # type 18 of another owner
    (("Xen", 17, b"\0" * 4), ("Xenx", 18, b"\0" * 4)),
])
def test_an_elf_without_the_xen_pvh_note_has_none(notes: tuple[k.Note, ...]) -> None:
    assert not has_pvh_note(k.elf(notes=notes))


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x7fELF", b"\x7fELF\x02\x01\x01" + bytes(9),
                                  k.elf()[:70]])
def test_garbage_has_no_pvh_note(data: bytes) -> None:
    assert not has_pvh_note(data)


# --- boot_image ----------------------------------------------------------------

@pytest.fixture
def modules(tmp_path: Path) -> Path:
    directory = tmp_path / "kernels" / RELEASE / "lib" / "modules" / RELEASE
    directory.mkdir(parents=True)
    return directory


def vmlinuz(where: Path, elf: bytes | None = None, method: str = "xz") -> Path:
    path = where / "vmlinuz"
    path.write_bytes(k.bzimage(k.compress(k.elf() if elf is None else elf, method)))
    return path


def counting_builds(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Count _build calls (each one decompresses the image), still building for real."""
    calls: list[Path] = []
    real = module._build

    def build(entry: Path, *args: object) -> None:
        calls.append(entry)
        real(entry, *args)  # type: ignore[arg-type]
    monkeypatch.setattr(module, "_build", build)
    return calls


def test_the_image_is_built_once_with_its_modules_beside_it(
        tmp_path: Path, modules: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    cache, image = tmp_path / "cache", vmlinuz(tmp_path)
    builds = counting_builds(monkeypatch)

    first = boot_image(cache, image, RELEASE, modules)
    assert first.uncompressed and first.note == ""
    assert first.path.name == f"vmlinuz-{RELEASE}" and first.path.parent.name == "boot"
    entry = first.path.parents[1]
    assert entry.parent == cache / BOOT_IMAGES and entry.name.startswith(f"{RELEASE}_")
    assert first.path.read_bytes() == k.elf()
    link = entry / "lib" / "modules" / RELEASE
    assert link.is_symlink() and link.resolve() == modules.resolve()
    assert (entry / STAMP_NAME).is_file()
    before = os.stat(first.path)

    second = boot_image(cache, image, RELEASE, modules)
    assert second == first
    after = os.stat(second.path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(builds) == 1, "a good cached image was built again"
    # nothing is left beside the entry: no staging directory, no lock file
    assert sorted(p.name for p in (cache / BOOT_IMAGES).iterdir()) == [entry.name]
    assert capsys.readouterr().err == ""


def test_another_vmlinuz_of_the_same_release_gets_its_own_entry(
        tmp_path: Path, modules: Path) -> None:
    cache = tmp_path / "cache"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = boot_image(cache, vmlinuz(tmp_path / "a"), RELEASE, modules)
    other_elf = k.elf(body=b"\x90" * 300)
    second = boot_image(cache, vmlinuz(tmp_path / "b", other_elf), RELEASE, modules)
    assert first.path != second.path
    assert first.path.read_bytes() == k.elf() and second.path.read_bytes() == other_elf


@pytest.mark.parametrize("damage", ["one byte", "truncated", "removed", "link removed",
                                    "link elsewhere", "stamp removed"])
def test_a_damaged_entry_is_built_again(tmp_path: Path, modules: Path, damage: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cache, image = tmp_path / "cache", vmlinuz(tmp_path)
    elf = boot_image(cache, image, RELEASE, modules).path
    entry = elf.parents[1]
    link = entry / "lib" / "modules" / RELEASE
    if damage == "one byte":
        data = bytearray(elf.read_bytes())
        data[len(data) // 2] ^= 0x01
        elf.write_bytes(bytes(data))
    elif damage == "truncated":
        elf.write_bytes(elf.read_bytes()[:-1])
    elif damage == "removed":
        elf.unlink()
    elif damage == "link removed":
        link.unlink()
    elif damage == "link elsewhere":
        link.unlink()
        link.symlink_to(tmp_path)
    else:
        (entry / STAMP_NAME).unlink()
    builds = counting_builds(monkeypatch)

    again = boot_image(cache, image, RELEASE, modules)
    assert again.uncompressed and again.path == elf
    assert len(builds) == 1
    assert elf.read_bytes() == k.elf()
    assert link.resolve() == modules.resolve()


def test_the_modules_link_follows_the_modules_directory_given_now(
        tmp_path: Path, modules: Path) -> None:
    # a moved or copied cache: the same vmlinuz, its modules somewhere else now
    cache, image = tmp_path / "cache", vmlinuz(tmp_path)
    boot_image(cache, image, RELEASE, modules)
    moved = tmp_path / "elsewhere" / RELEASE
    moved.parent.mkdir()
    modules.rename(moved)
    again = boot_image(cache, image, RELEASE, moved)
    link = again.path.parents[1] / "lib" / "modules" / RELEASE
    assert link.resolve() == moved.resolve()


def test_a_kernel_without_the_pvh_note_boots_its_compressed_image(
        tmp_path: Path, modules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache, image = tmp_path / "cache", vmlinuz(tmp_path, k.elf(notes=k.XEN_NOTES[:3]))
    chosen = boot_image(cache, image, RELEASE, modules)
    assert chosen == BootImage(image, uncompressed=False, note=chosen.note)
    assert chosen.note == (f"booting the compressed image of {RELEASE}: its ELF has no PVH "
                           "entry note (CONFIG_PVH is off)")
    assert capsys.readouterr().err == chosen.note + "\n"
    # no entry, no half-built left-over: the next run tries again from nothing
    assert list((cache / BOOT_IMAGES).iterdir()) == []


def test_an_unreadable_payload_boots_the_compressed_image(tmp_path: Path,
                                                         modules: Path) -> None:
    image = tmp_path / "vmlinuz"
    image.write_bytes(k.bzimage(b"\x02\x21\x4c\x18" + bytes(64)))
    chosen = boot_image(tmp_path / "cache", image, RELEASE, modules)
    assert not chosen.uncompressed and chosen.path == image
    assert "magic 02214c18" in chosen.note


def test_a_file_that_is_no_bzimage_boots_as_it_is(tmp_path: Path, modules: Path) -> None:
    image = tmp_path / "vmlinuz"
    image.write_bytes(k.elf())
    chosen = boot_image(tmp_path / "cache", image, RELEASE, modules)
    assert (chosen.path, chosen.uncompressed) == (image, False)
    assert "not a bzImage" in chosen.note


def test_a_missing_vmlinuz_falls_back_without_raising(tmp_path: Path, modules: Path) -> None:
    missing = tmp_path / "no-such-vmlinuz"
    chosen = boot_image(tmp_path / "cache", missing, RELEASE, modules)
    assert (chosen.path, chosen.uncompressed) == (missing, False)
    assert chosen.note.startswith(f"booting the compressed image of {RELEASE}: ")
    assert str(missing) in chosen.note


def test_a_cache_it_cannot_write_falls_back(tmp_path: Path, modules: Path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache directory should be")
    chosen = boot_image(cache, vmlinuz(tmp_path), RELEASE, modules)
    assert not chosen.uncompressed and chosen.note


@pytest.mark.parametrize("method", METHODS)
def test_a_corrupt_payload_boots_the_compressed_image(tmp_path: Path, modules: Path,
                                                      method: str) -> None:
    payload = bytearray(k.compress(k.elf(body=BODY), method))
    payload[len(payload) // 2] ^= 0xFF
    image = tmp_path / "vmlinuz"
    image.write_bytes(k.bzimage(bytes(payload)))
    chosen = boot_image(tmp_path / "cache", image, RELEASE, modules)
    assert (chosen.path, chosen.uncompressed) == (image, False)
    assert chosen.note.startswith(f"booting the compressed image of {RELEASE}: ")


@pytest.mark.parametrize("method", METHODS)
def test_a_truncated_payload_is_not_bootable(method: str) -> None:
    # the header's length says where this payload ends: it is whole, but its stream is not
    payload = k.compress(k.elf(body=BODY), method)
    with pytest.raises(NotBootable):
        uncompressed_kernel(k.bzimage(payload[:len(payload) // 2], trailer=b""))


def test_an_xz_stream_without_its_footer_is_not_bootable_though_its_output_is_whole() -> None:
    # the block and the index are there, so all of the ELF comes out and the
    # recorded size matches; only the end of the stream says it was cut
    elf = k.elf(body=BODY)
    stream = k.compress(elf, "xz")[:-4]
    payload = stream[:-12] + len(elf).to_bytes(4, "little")  # 12: the xz stream footer
    with pytest.raises(NotBootable, match="cut short"):
        uncompressed_kernel(k.bzimage(payload))


@pytest.mark.parametrize("method", METHODS)
def test_a_payload_running_past_the_end_of_the_file_is_not_bootable(method: str) -> None:
    image = k.bzimage(k.compress(k.elf(body=BODY), method), trailer=b"")
    with pytest.raises(NotBootable, match="runs past the end of the file"):
        uncompressed_kernel(image[:-1])


@pytest.mark.parametrize("method", METHODS)
def test_a_payload_of_another_size_than_it_records_is_not_bootable(method: str) -> None:
    # xz and zstd: the kernel's build appends the size; gzip: its own ISIZE trailer
    payload = bytearray(k.compress(k.elf(body=BODY), method))
    payload[-4] ^= 0x01
    with pytest.raises(NotBootable):
        uncompressed_kernel(k.bzimage(bytes(payload)))

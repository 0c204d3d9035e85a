"""Tests for lab.guestvm.vng_command: the virtme-ng argv built from a GuestSpec."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.guestvm.vng_command import GUEST_WORK_DIR, GuestSpec, vng_command

RELEASE = "6.1.0-50-amd64"
MODULES = Path(f"/cache/kernels/{RELEASE}_6.1.176-1/lib/modules/{RELEASE}")


def spec(accel: str = "kvm", **changes: object) -> GuestSpec:
    fields: dict[str, object] = dict(
        image=MODULES / "vmlinuz", modules=MODULES, release=RELEASE,
        rootfs=Path("/cache/rootfs/bookworm-0123456789abcdef"), work_dir=Path("/tmp/work"),
        accel=accel)
    fields.update(changes)
    return GuestSpec(**fields)  # type: ignore[arg-type]


def option_value(argv: list[str], option: str) -> str:
    assert argv.count(option) == 1, f"{option} appears once in {argv}"
    return argv[argv.index(option) + 1]


def test_argv_starts_with_vng_and_runs_the_kernel_image() -> None:
    argv = vng_command(spec())
    assert argv[0] == "vng"
    assert option_value(argv, "--run") == f"{MODULES}/vmlinuz"


def test_argv_boots_the_lab_root_over_9p() -> None:
    argv = vng_command(spec())
    assert option_value(argv, "--root") == "/cache/rootfs/bookworm-0123456789abcdef"
    assert "--force-9p" in argv


def test_argv_mounts_the_modules_read_only_over_usr_lib_modules() -> None:
    argv = vng_command(spec())
    assert option_value(argv, "--rodir") == f"/usr/lib/modules/{RELEASE}={MODULES}"


def test_argv_shares_the_work_dir_read_write_at_lab() -> None:
    assert GUEST_WORK_DIR == "/lab"
    assert option_value(vng_command(spec()), "--rwdir") == "/lab=/tmp/work"


def test_argv_carries_cpus_and_memory() -> None:
    argv = vng_command(spec(cpus=4, memory="3G"))
    assert option_value(argv, "--cpus") == "4"
    assert option_value(argv, "--memory") == "3G"


@pytest.mark.parametrize(("accel", "disabled"), [("kvm", False), ("tcg", True)])
def test_disable_kvm_only_for_tcg(accel: str, disabled: bool) -> None:
    assert ("--disable-kvm" in vng_command(spec(accel))) is disabled


def appended(argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == "--append"]


def test_extra_append_arguments_each_get_their_own_append_option() -> None:
    argv = vng_command(spec(extra_append=("loglevel=3", "nokaslr")))
    assert appended(argv)[-2:] == ["loglevel=3", "nokaslr"]


def test_a_panic_ends_the_vm_instead_of_rebooting_or_hanging_it() -> None:
    """virtme-ng adds these only to --exec runs; the lab drives an interactive shell."""
    argv = vng_command(spec())
    assert appended(argv)[0] == "panic=-1"
    assert "--qemu-opts=-no-reboot" in argv


def test_the_crypto_self_tests_are_skipped_at_boot() -> None:
    assert "cryptomgr.notests=1" in appended(vng_command(spec()))


def test_a_root_image_boots_as_a_read_only_squashfs_disk() -> None:
    argv = vng_command(spec(root_image=Path("/cache/root.squashfs")))
    assert argv[argv.index("--root-disk") + 1] == "/cache/root.squashfs"
    assert argv[argv.index("--root-fstype") + 1] == "squashfs"
    assert "--root" not in argv and "--rw" not in argv
    # the shares stay 9p, and virtme-ng does not try virtiofsd for each of them
    assert "--force-9p" in argv


def test_without_a_root_image_the_root_directory_is_shared() -> None:
    argv = vng_command(spec())
    assert argv[argv.index("--root") + 1] == str(spec().rootfs)
    assert "--root-disk" not in argv


def test_the_read_only_share_is_mounted_inside_the_work_dir() -> None:
    argv = vng_command(spec(ro_dir=Path("/tmp/ro")))
    assert argv[argv.index("--rwdir") + 1] == "/lab=/tmp/work"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--rodir"][-1] == "/lab/ro=/tmp/ro"


def test_extra_arguments_come_after_every_option_of_the_lab() -> None:
    argv = vng_command(spec(), ["--exec", "true"])
    assert argv[-2:] == ["--exec", "true"]

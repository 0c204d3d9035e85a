"""Tests for lab.guestvm.vng_command: the virtme-ng argv built from a GuestSpec."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
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


def qemu_opts(argv: list[str]) -> list[str]:
    return [arg.removeprefix("--qemu-opts=") for arg in argv if arg.startswith("--qemu-opts=")]


def exports(argv: list[str]) -> dict[str, dict[str, str]]:
    """The 9p exports in the QEMU options: each -fsdev's settings and its -device's tag,
    by the fsdev id."""
    opts, found = qemu_opts(argv), {}
    for flag, value in zip(opts, opts[1:], strict=False):
        if flag == "-fsdev":
            kind, *pairs = value.split(",")
            settings = dict(pair.split("=", 1) for pair in pairs)
            found[settings["id"]] = {"kind": kind, **settings}
        elif flag == "-device" and value.startswith("virtio-9p-pci,"):
            device = dict(pair.split("=", 1) for pair in value.split(",")[1:])
            found[device["fsdev"]]["tag"] = device["mount_tag"]
    return found


def mounts(argv: list[str]) -> list[tuple[str, str, str, str]]:
    """(tag, guest path, fstype, access) of each virtme_initmount<N>, in kernel
    command-line order: the order virtme-ng's init mounts them in."""
    args = appended(argv)
    found = []
    for arg in args:
        key, _, path = arg.partition("=")
        if key.startswith("virtme_initmount") and key.removeprefix("virtme_initmount").isdigit():
            found.append((key.replace("_", "."), path, args[args.index(f"{key}_fstype=9p")],
                          next(a for a in args if a.startswith(f"{key}_access="))))
    return found


def test_the_work_dir_is_shared_read_write_at_lab_with_a_mapped_security_model() -> None:
    """Not vng's --rwdir (security_model=none): a root guest's chmod 4755 and mknod
    would land on the host as a setuid file and a device node."""
    assert GUEST_WORK_DIR == "/lab"
    argv = vng_command(spec(ro_dir=Path("/tmp/ro")))
    assert "--rwdir" not in argv
    share = next(e for e in exports(argv).values() if e["path"] == "/tmp/work")
    assert share["kind"] == "local"
    assert share["security_model"] in ("mapped-file", "mapped-xattr")
    assert "readonly" not in share
    tags = {tag: (path, access) for tag, path, _, access in mounts(argv)}
    assert tags[share["tag"]] == ("/lab", f"{share['tag'].replace('.', '_')}_access=rw")


def test_the_ro_share_is_read_only_and_mounted_after_lab_which_holds_it() -> None:
    argv = vng_command(spec(ro_dir=Path("/tmp/ro")))
    ro = next(e for e in exports(argv).values() if e["path"] == "/tmp/ro")
    assert ro["readonly"] == "on"
    order = [path for _, path, _, _ in mounts(argv)]
    assert order.index("/lab") < order.index("/lab/ro")
    assert [a for a in argv if a.startswith("/lab")] == [], "no vng --rwdir/--rodir for them"


def test_the_export_tags_are_not_the_ones_vng_numbers_its_own_shares_with() -> None:
    """vng numbers its --rodir shares (the modules) virtme.initmount0, 1, ..."""
    argv = vng_command(spec(ro_dir=Path("/tmp/ro")))
    assert sorted(e["tag"] for e in exports(argv).values()) == [
        "virtme.initmount10", "virtme.initmount11"]
    assert argv.count("--rodir") == 1


def test_a_shell_without_ro_share_gets_lab_alone() -> None:
    argv = vng_command(spec())
    assert [path for _, path, _, _ in mounts(argv)] == ["/lab"]
    assert len(exports(argv)) == 1


@pytest.mark.parametrize("work_dir", ["/tmp/with space", "/tmp/a,b", "/tmp/$(reboot)", "rel"])
def test_a_share_path_a_shell_or_qemu_would_split_is_refused(work_dir: str) -> None:
    with pytest.raises(LabError, match="cannot share .* with the guest: its path may hold only"):
        vng_command(spec(work_dir=Path(work_dir)))


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


def test_extra_arguments_come_after_every_option_of_the_lab() -> None:
    argv = vng_command(spec(), ["--exec", "true"])
    assert argv[-2:] == ["--exec", "true"]

"""The architecture dimension: targets' names, the catalog and lock per architecture,
the guest root and the virtme-ng command of an arm64 guest, emulation on a foreign
host, and what the doctor asks for. No VM, no network."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import subprocess
from pathlib import Path

import pytest

import lab.guestvm.accel
from lab import doctor
from lab.arches import ARM64, DEFAULT_ARCH, X86_64, arches_named, split_target, target_name
from lab.cache.catalog import LockedDeb, LockedKernel, load_catalog, load_lock, write_lock
from lab.cache.rootfs import load_recipe, mmdebstrap_command, rootfs_dir
from lab.errors import LabError
from lab.guestvm.accel import choose_accel
from lab.guestvm.build_steps import clean_bash
from lab.guestvm.vng_command import GuestSpec, vng_command
from lab.kernel_choice import parse_kernels
from lab.scenario import load_scenarios
from lab.verdicts.matrix_report import markdown, read_column, write_json
from lab.verdicts.outcome import Outcome
from lab.verdicts.verdict import Cell, cell_for

VM_DIR = Path(__file__).resolve().parents[2] / "vm"
SCENARIOS = VM_DIR.parent / "scenarios"
ON_X86 = platform.machine() == "x86_64"


@pytest.mark.parametrize(("line", "arch", "name"), [
    ("6.1", X86_64, "6.1"), ("6.1", ARM64, "6.1-arm64"), ("7.2", ARM64, "7.2-arm64")])
def test_a_target_is_named_by_its_line_and_a_foreign_architecture(
        line: str, arch: object, name: str) -> None:
    assert target_name(line, arch) == name  # type: ignore[arg-type]
    assert split_target(name) == (line, arch)


def test_arch_options_repeat_and_comma_separate_and_default_to_x86_64() -> None:
    assert arches_named([]) == [X86_64]
    assert arches_named(["arm64,x86_64", "arm64"]) == [ARM64, X86_64]
    with pytest.raises(LabError, match="no architecture 'riscv'"):
        arches_named(["riscv"])


def test_the_catalog_has_every_line_on_both_architectures_with_their_packages() -> None:
    catalog = load_catalog(VM_DIR / "kernels.toml")

    lines = [name for name, entry in catalog.items() if entry.arch == "x86_64"]
    assert lines == ["5.10", "6.1", "6.12", "7.2"]
    assert [name for name, entry in catalog.items() if entry.arch == "arm64"] == [
        f"{line}-arm64" for line in lines]
    x86, arm = catalog["6.1"], catalog["6.1-arm64"]
    assert x86.image.endswith("-amd64-unsigned") and arm.image.endswith("-arm64-unsigned")
    assert (x86.release, arm.release) == ("{abi}-amd64", "{abi}-arm64")
    assert arm.boot == ("linux-image-{abi}-arm64-unsigned",)
    assert arm.suite == x86.suite == "bookworm"


def test_a_line_can_list_its_own_architectures(tmp_path: Path) -> None:
    catalog = tmp_path / "kernels.toml"
    catalog.write_text('arches = ["x86_64", "arm64"]\n'
                       '[lines."6.1"]\nsuite = "bookworm"\nimage = "i-{arch}"\nrelease = "r"\n'
                       'boot = []\nheaders = []\n'
                       '[lines."4.19"]\narches = ["x86_64"]\nsuite = "buster"\nimage = "i"\n'
                       'release = "r"\nboot = []\nheaders = []\n')
    assert list(load_catalog(catalog)) == ["6.1", "4.19", "6.1-arm64"]
    catalog.write_text(catalog.read_text().replace('["x86_64"]', '["sparc"]'))
    with pytest.raises(LabError, match="4.19's arches: no architecture 'sparc'"):
        load_catalog(catalog)


def locked(name: str, arch: str) -> LockedKernel:
    deb = LockedDeb("linux-image-6.1.0-50-arm64-unsigned", "6.1.176-1", "pool/x.deb",
                    "ab" * 32, 1)
    return LockedKernel(name, "bookworm", f"6.1.0-50-{arch}", "6.1.176-1", (deb,), (), arch)


def test_the_lock_keeps_each_targets_architecture_and_x86_64s_goes_unsaid(
        tmp_path: Path) -> None:
    lock = tmp_path / "kernels.lock"
    write_lock(lock, {"6.1": locked("6.1", "x86_64"), "6.1-arm64": locked("6.1-arm64", "arm64")})

    text = lock.read_text()
    assert text.count("arch = ") == 1 and 'arch = "arm64"' in text
    read = load_lock(lock)
    assert (read["6.1"].arch, read["6.1-arm64"].arch) == ("x86_64", "arm64")
    assert read["6.1-arm64"].architecture == ARM64


def test_a_lock_entry_whose_name_says_another_architecture_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "kernels.lock"
    write_lock(lock, {"6.1-arm64": locked("6.1-arm64", "x86_64")})
    with pytest.raises(LabError, match="6.1-arm64 is pinned for x86_64"):
        load_lock(lock)


def test_all_means_every_line_on_the_architectures_asked_for() -> None:
    catalog = load_catalog(VM_DIR / "kernels.toml")
    lock = {name: locked(name, entry.arch) for name, entry in catalog.items()}

    assert [k.line for k in parse_kernels(["all"], catalog, lock)] == [
        "5.10", "6.1", "6.12", "7.2"]
    assert [k.line for k in parse_kernels(["all"], catalog, lock, [ARM64])] == [
        "5.10-arm64", "6.1-arm64", "6.12-arm64", "7.2-arm64"]
    assert [k.line for k in parse_kernels(["6.1-arm64,6.1"], catalog, lock)] == [
        "6.1-arm64", "6.1"]


@pytest.mark.skipif(not ON_X86, reason="the foreign architecture of an x86_64 host")
def test_a_guest_of_another_architecture_is_emulated_without_a_probe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_probe(*args: object) -> object:
        raise AssertionError("KVM cannot run another architecture's guest: no probe")

    monkeypatch.setattr(lab.guestvm.accel, "run_probe", no_probe)
    choice = choose_accel("kvm", Path("/vmlinuz"), tmp_path, ARM64)
    assert choice.accel == "tcg"
    assert choice.reason.startswith("an arm64 guest on a x86_64 host is emulated")


def arm64_spec(**changes: object) -> GuestSpec:
    fields: dict[str, object] = dict(
        image=Path("/k/vmlinuz"), modules=Path("/k/lib/modules/6.1.0-50-arm64"),
        release="6.1.0-50-arm64", rootfs=Path("/c/rootfs/bookworm-arm64-0123"),
        work_dir=Path("/tmp/work"), ro_dir=Path("/tmp/ro"), accel="tcg", arch=ARM64,
        busybox=Path("/c/rootfs/bookworm-arm64-0123/usr/bin/busybox"))
    fields.update(changes)
    return GuestSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.skipif(not ON_X86, reason="the foreign architecture of an x86_64 host")
def test_an_arm64_guest_gets_its_arch_its_busybox_and_mmio_shares() -> None:
    argv = vng_command(arm64_spec())
    assert argv[argv.index("--arch") + 1] == "arm64"  # vng's name, not uname's
    assert argv[argv.index("--busybox") + 1] == "/c/rootfs/bookworm-arm64-0123/usr/bin/busybox"
    devices = [arg for arg in argv if "fsdev=" in arg]
    assert len(devices) == 2 and all("virtio-9p-device," in arg for arg in devices), devices

    x86 = vng_command(arm64_spec(arch=X86_64, busybox=None))
    assert "--arch" not in x86 and "--busybox" not in x86
    assert all("virtio-9p-pci," in arg for arg in x86 if "fsdev=" in arg)


def test_an_arm64_root_is_its_own_recipe_lock_and_cache_entry() -> None:
    x86 = load_recipe(VM_DIR / "rootfs.toml")
    arm = load_recipe(VM_DIR / "rootfs.toml", arch="arm64")

    assert arm.lock_file == VM_DIR / "rootfs.arm64.lock" and x86.lock_file == VM_DIR / "rootfs.lock"
    assert set(arm.packages) - set(x86.packages) == {"busybox-static"}
    assert "--arch=arm64" in mmdebstrap_command(arm, "http://mirror", Path("/t"))
    assert not any(a.startswith("--arch") for a in mmdebstrap_command(x86, "http://m", Path("/t")))
    assert rootfs_dir(Path("/c"), arm, []).name.startswith("bookworm-arm64-")
    # x86_64's key is the one before architectures: its roots and builds stay cached
    assert x86.lock is not None
    before = json.dumps([x86.suite, x86.variant, sorted(set(x86.packages)), [],
                         x86.lock.digest()])
    assert rootfs_dir(Path("/c"), x86, []).name == (
        f"bookworm-{hashlib.sha256(before.encode()).hexdigest()[:16]}")


@pytest.mark.skipif(not ON_X86, reason="the foreign architecture of an x86_64 host")
def test_the_doctor_asks_for_arm64s_emulators_only_when_arm64_is_asked_for() -> None:
    plain = {r.package for r in doctor.requirements()}
    arm = {r.package for r in doctor.requirements(arches=["arm64"])}
    assert arm - plain == {"qemu-system-arm", "qemu-user-static", "binfmt-support"}
    assert plain == {r.package for r in doctor.requirements(arches=[DEFAULT_ARCH.name])}


def test_a_report_with_both_architectures_names_each_columns_one() -> None:
    cells = [Cell(kernel, "minimal", "pass", "", "expect")
             for kernel in ("6.1-arm64", "6.1", "5.10", "5.10-arm64")]
    header = markdown(cells).splitlines()[0]
    assert header == ("| tutorial | Linux 5.10 (x86_64) | Linux 5.10 (arm64) | "
                      "Linux 6.1 (x86_64) | Linux 6.1 (arm64) |")
    assert markdown(cells[1:3]).splitlines()[0] == "| tutorial | Linux 5.10 | Linux 6.1 |"


def test_a_cell_says_its_architecture_and_a_column_cannot_contradict_its_kernel(
        tmp_path: Path) -> None:
    scenario = dataclasses.replace(load_scenarios(SCENARIOS)[0], known_drift=(),
                                   incompatible={})
    cell = cell_for(Outcome("minimal", stage="expect", passed=True), scenario, "6.1-arm64")
    assert cell.arch == "arm64"
    column = tmp_path / "6.1-arm64.json"
    write_json(column, [cell])
    assert read_column(column)[0].arch == "arm64"
    column.write_text(column.read_text().replace('"arch": "arm64"', '"arch": "x86_64"'))
    with pytest.raises(LabError, match="`arch` is 'x86_64' but kernel '6.1-arm64' names"):
        read_column(column)
    records = json.loads(column.read_text())
    del records[0]["arch"]
    column.write_text(json.dumps(records))
    assert read_column(column)[0].arch == "arm64", "an older column without it"


@pytest.mark.skipif(not ON_X86, reason="names the host's architecture")
def test_a_build_sees_the_kernels_name_of_its_architecture(tmp_path: Path) -> None:
    """What a build command written for every architecture relies on: the clean
    environment of every build has LAB_TARGET_ARCH, x86 here (arm64 on arm64)."""
    done = subprocess.run(["sh", "-c", clean_bash("-c 'echo arch=$LAB_TARGET_ARCH'")],
                          capture_output=True, text=True, check=True, cwd=tmp_path)
    assert done.stdout.strip() == "arch=x86"


@pytest.mark.skipif(not ON_X86, reason="arm64 is foreign only off arm64")
def test_the_doctor_checks_qemu_aarch64_in_binfmt_misc_and_says_how_to_turn_it_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = tmp_path / "binfmt_misc" / "qemu-aarch64"
    monkeypatch.setattr(doctor, "AARCH64_BINFMT", entry)
    monkeypatch.setattr(doctor, "missing", lambda wanted=None: [])  # every package present
    with pytest.raises(LabError, match="as root:\n  mount -t binfmt_misc .* && "
                                       "update-binfmts --enable qemu-aarch64"):
        doctor.doctor(install=False, arches=["arm64"])
    entry.parent.mkdir()
    (entry.parent / "register").touch()  # mounted: enabling is all that is left
    with pytest.raises(LabError, match="as root:\n  update-binfmts --enable qemu-aarch64$"):
        doctor.doctor(install=False, arches=["arm64"])
    entry.write_text("enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n")
    doctor.doctor(install=False, arches=["arm64"])
    doctor.doctor(install=False, arches=["x86_64"])  # not asked for: not looked at

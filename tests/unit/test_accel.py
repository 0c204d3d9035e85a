"""Tests for lab.guestvm.accel: probe verdicts and the per-boot cache of the auto choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lab.guestvm.accel
from lab.arches import Arch
from lab.guestvm.accel import PROBE_TIMEOUT_S, AccelChoice, choose_accel, judge_probe, probe_command

IMAGE = Path("/cache/kernels/6.1.0-50-amd64_6.1.176-1/lib/modules/6.1.0-50-amd64/vmlinuz")

PANIC = """\
[    1.234567] VFS: Cannot open root device "" or unknown-block(0,0): error -6
[    1.234890] Please append a correct "root=" boot option; here are the available partitions:
[    1.235001] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)
"""
QEMU_ABORT = ("qemu-system-x86_64: warning: host doesn't support requested feature: "
              "CPUID.80000001H:ECX.topoext [bit 22]\n"
              "qemu-system-x86_64: kvm_init_vcpu: kvm_arch_init_vcpu failed (0): "
              "Invalid argument\n")


# --- judge_probe --------------------------------------------------------------------

@pytest.mark.parametrize("output", ["", "SeaBIOS (version 1.16.2)\n"])
def test_timeout_means_tcg(output: str) -> None:
    choice = judge_probe(None, output)
    assert choice == AccelChoice("tcg", f"a KVM guest printed nothing useful in "
                                        f"{PROBE_TIMEOUT_S:.0f} s")


@pytest.mark.parametrize("output", [
    PANIC,
    "[    0.9] VFS: Unable to mount root fs on unknown-block(0,0)\n",
])
def test_panic_text_means_kvm(output: str) -> None:
    assert judge_probe(0, output) == AccelChoice("kvm", "a KVM guest booted to its first panic")


def test_qemu_abort_means_tcg_with_qemus_last_line() -> None:
    choice = judge_probe(1, QEMU_ABORT)
    assert choice.accel == "tcg"
    assert choice.reason == ("QEMU under KVM exited 1: qemu-system-x86_64: kvm_init_vcpu: "
                             "kvm_arch_init_vcpu failed (0): Invalid argument")


def test_qemu_exit_without_output_says_so() -> None:
    assert judge_probe(134, "  \n") == AccelChoice("tcg", "QEMU under KVM exited 134: no output")


def test_long_qemu_message_is_cut_to_200_characters() -> None:
    choice = judge_probe(1, "x" * 500)
    assert choice.reason == "QEMU under KVM exited 1: " + "x" * 200


def test_probe_command_uses_kvm_with_virtme_ngs_cpu_and_no_reboot() -> None:
    command = probe_command(IMAGE)
    assert command[0] == "qemu-system-x86_64"
    assert command[command.index("-machine") + 1] == "accel=kvm"
    assert command[command.index("-cpu") + 1] == "host,topoext=on"
    assert command[command.index("-kernel") + 1] == str(IMAGE)
    assert "panic=-1" in command[command.index("-append") + 1]
    assert "-no-reboot" in command


# --- choose_accel -------------------------------------------------------------------

@pytest.fixture
def host_key(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A settable host key, so no `which` runs and a new boot can be simulated."""
    key = ["boot-1:1700000000.0"]
    monkeypatch.setattr(lab.guestvm.accel, "_host_key", lambda arch: key[0])
    return key


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts probe runs; every probe says kvm works."""
    calls: list[Path] = []

    def run_probe(image: Path, arch: Arch) -> AccelChoice:
        calls.append(image)
        return AccelChoice("kvm", "a KVM guest booted to its first panic")

    monkeypatch.setattr(lab.guestvm.accel, "run_probe", run_probe)
    return calls


@pytest.mark.parametrize("requested", ["kvm", "tcg"])
def test_requested_accel_wins_without_probing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, requested: str) -> None:
    def no_probe(*args: object) -> AccelChoice:
        raise AssertionError("must not probe when LAB_ACCEL names the accelerator")

    monkeypatch.setattr(lab.guestvm.accel, "run_probe", no_probe)
    monkeypatch.setattr(lab.guestvm.accel, "_host_key", no_probe)
    assert choose_accel(requested, IMAGE, tmp_path) == AccelChoice(requested, "set by LAB_ACCEL")
    assert not (tmp_path / "accel-probe.json").exists()


def test_auto_probes_once_and_caches_the_verdict(
        tmp_path: Path, host_key: list[str], probes: list[Path]) -> None:
    cache = tmp_path / "cache"
    first = choose_accel("auto", IMAGE, cache)
    assert first == AccelChoice("kvm", "a KVM guest booted to its first panic")
    assert json.loads((cache / "accel-probe.json").read_text()) == {
        "key": "boot-1:1700000000.0", "accel": "kvm",
        "reason": "a KVM guest booted to its first panic"}

    second = choose_accel("auto", IMAGE, cache)
    assert second == AccelChoice("kvm", "a KVM guest booted to its first panic "
                                        "(probed earlier this boot)")
    assert probes == [IMAGE]


def test_auto_probes_again_after_a_reboot_or_qemu_change(
        tmp_path: Path, host_key: list[str], probes: list[Path]) -> None:
    choose_accel("auto", IMAGE, tmp_path)
    host_key[0] = "boot-2:1700000000.0"
    assert choose_accel("auto", IMAGE, tmp_path).reason == "a KVM guest booted to its first panic"
    assert len(probes) == 2
    assert json.loads((tmp_path / "accel-probe.json").read_text())["key"] == "boot-2:1700000000.0"


@pytest.mark.parametrize("content", ["{not json", '{"key": "boot-1:1700000000.0"}'])
def test_a_corrupt_cache_record_is_probed_over(
        tmp_path: Path, host_key: list[str], probes: list[Path], content: str) -> None:
    (tmp_path / "accel-probe.json").write_text(content)
    assert choose_accel("auto", IMAGE, tmp_path).accel == "kvm"
    assert len(probes) == 1

"""Tests for lab.doctor's logic: which packages the lab and the unit tests need, and
what it runs or tells the user. Nothing is installed: apt and euid are faked."""

from __future__ import annotations

import dataclasses
import platform
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import lab.doctor
from lab.doctor import (
    REQUIREMENTS,
    doctor,
    install_command,
    main,
    manual_install_hint,
    requirements,
)
from lab.errors import LabError

UNIT_TESTS = Path(__file__).resolve().parent
# Commands every Debian system has (Essential: yes), which apt never needs to add.
ESSENTIAL = {"bash", "sh", "cp", "true", "false", "ls", "rm", "echo", "cat"}
# The first string of `run([...`, `which(...` or `spawn(...`: a program the tests run.
PROGRAM = re.compile(r"""\b(?:run|which|spawn|Popen)\(\s*\[?\s*["']([\w.+-]+)["']""")


def programs_the_unit_tests_run() -> set[str]:
    found: set[str] = set()
    for path in UNIT_TESTS.glob("test_*.py"):
        found |= set(PROGRAM.findall(path.read_text()))
    return found - ESSENTIAL - {"python", "python3", "pytest"}


def test_every_program_the_unit_tests_run_comes_from_a_test_requirement() -> None:
    provided = {command for r in requirements(tests=True) for command in r.commands}
    seen = programs_the_unit_tests_run()
    assert {"gpg", "gpgv", "gpgconf", "dpkg-deb"} <= seen, "the scan finds the known ones"
    assert seen - provided == set()


def test_the_tests_need_gpg_and_its_agent_which_the_lab_itself_does_not() -> None:
    for_tests = {r.package for r in requirements(tests=True)}
    for_lab = {r.package for r in requirements()}
    assert {"gpg", "gpg-agent", "gpgconf", "gpgv", "dpkg", "kmod"} <= for_tests
    assert {"gpg", "gpg-agent", "gpgconf"}.isdisjoint(for_lab)
    assert {"qemu-system-x86", "mmdebstrap", "busybox-static"}.isdisjoint(for_tests), \
        "the unit tests boot nothing: their env must not pull in QEMU"
    both_arches = {r.package for r in requirements(arches=["x86_64", "arm64"])}
    if platform.machine() == "x86_64":  # arm64's emulators are what an x86_64 host needs
        assert for_lab | for_tests | both_arches == {r.package for r in REQUIREMENTS}


def test_install_command_and_the_hint_for_non_root() -> None:
    assert install_command(["gpg", "gpg-agent"]) == [
        "apt-get", "install", "-y", "--no-install-recommends", "gpg", "gpg-agent"]
    assert manual_install_hint(["gpg"]) == (
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends gpg")


class FakeHost:
    """Which packages are installed, the euid, and every command run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, absent: set[str], euid: int) -> None:
        self.absent = set(absent)
        self.commands: list[list[str]] = []
        faked = tuple(dataclasses.replace(r, present=self._presence(r.package))
                      for r in REQUIREMENTS)
        monkeypatch.setattr(lab.doctor, "REQUIREMENTS", faked)
        monkeypatch.setattr(lab.doctor.os, "geteuid", lambda: euid)
        monkeypatch.setattr(lab.doctor.subprocess, "run", self._run)

    def _presence(self, package: str) -> Callable[[], bool]:
        return lambda: package not in self.absent

    def _run(self, command: Sequence[str], **_: object) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        if command[:2] == ["apt-get", "install"]:
            self.absent -= set(command[4:])
        return subprocess.CompletedProcess(list(command), 0, "", "")


def test_nothing_missing_runs_no_apt_even_with_install(monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakeHost(monkeypatch, absent=set(), euid=1000)
    doctor(install=True, tests=True)
    assert host.commands == []


def test_non_root_gets_the_exact_command_and_an_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakeHost(monkeypatch, absent={"gpg", "gpg-agent", "qemu-system-x86"}, euid=1000)
    with pytest.raises(LabError) as info:
        doctor(install=True, tests=True)
    assert str(info.value) == (
        "missing host packages; install them with:\n  sudo apt-get update && "
        "sudo apt-get install -y --no-install-recommends gpg gpg-agent")
    assert host.commands == []


def test_root_installs_only_what_the_tests_miss(monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakeHost(monkeypatch, absent={"gpg", "gpg-agent", "qemu-system-x86"}, euid=0)
    doctor(install=True, tests=True)
    assert host.commands == [
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "--no-install-recommends", "gpg", "gpg-agent"],
    ]


def test_without_tests_the_lab_requirements_are_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakeHost(monkeypatch, absent={"gpg", "qemu-system-x86"}, euid=0)
    doctor(install=True)
    assert host.commands[-1] == [
        "apt-get", "install", "-y", "--no-install-recommends", "qemu-system-x86"]


def test_a_failing_apt_is_a_lab_error(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeHost(monkeypatch, absent={"gpg"}, euid=0)
    monkeypatch.setattr(lab.doctor.subprocess, "run",
                        lambda command, **_: subprocess.CompletedProcess(command, 100))
    with pytest.raises(LabError, match=r"`apt-get update -q` failed \(exit 100\)"):
        doctor(install=True, tests=True)


def test_main_is_what_tox_runs(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    FakeHost(monkeypatch, absent={"gpg-agent"}, euid=1000)
    assert main(["--install", "--tests"]) == 1
    err = capsys.readouterr().err
    assert "  missing  gpg-agent" in err
    assert "sudo apt-get install -y --no-install-recommends gpg-agent" in err
    assert main(["--install"]) == 0, "the lab itself does not need gpg-agent"


def test_tox_unit_env_runs_the_doctor_for_the_tests_first() -> None:
    tox_ini = (UNIT_TESTS.parents[1] / "tox.ini").read_text()
    unit = tox_ini.split("[testenv:unit]", 1)[1].split("\n[", 1)[0]
    assert re.search(r"commands_pre\s*=\s*\n\s+python -m lab\.doctor --install --tests\n", unit)

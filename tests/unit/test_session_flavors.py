"""KernelLab boots the flavor each scenario needs: its userland's root and its kernel
arguments after the lab's own; scenarios of one flavor share a guest, another
flavor powers it off and boots its own, and each outcome names its userland."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path

import pytest
from fake_guest import FakeGuest, fake_guests, fake_root, prepared_line

from lab.cache.build_cache import toolchain_digest
from lab.errors import GuestError, LabError
from lab.guestvm import session
from lab.guestvm.flavor import Flavor
from lab.guestvm.session import GuestRoot, KernelLab
from lab.guestvm.vng_command import GuestSpec, vng_command
from lab.scenario import Scenario, load_scenarios
from lab.settings import Settings
from lab.verdicts.stage import Stage

PROJECT = Path(__file__).resolve().parents[2]
LSM = ("lsm=landlock,bpf", "nokaslr")


@functools.cache
def base() -> Scenario:
    return load_scenarios(PROJECT / "scenarios")[0]


def variant(name: str, userland: str | None = None,
            kernel_cmdline: tuple[str, ...] = ()) -> Scenario:
    return dataclasses.replace(base(), name=name, userland=userland,
                               kernel_cmdline=kernel_cmdline)


class Booting:
    """A session of the 6.1 line over fake guests, remembering each guest's spec
    and which roots were prepared when."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 planned: Sequence[Scenario] = (), guest_append: tuple[str, ...] = (),
                 build_cache: bool = False, arch: str = "x86_64") -> None:
        self.booted: list[FakeGuest] = []
        self.specs: list[GuestSpec] = []
        self.prepared_for: list[list[str]] = []
        self.roots_built: list[str] = []
        self.root_arches: list[str] = []
        self.refuse: set[str] = set()  # userlands whose guest does not boot
        fake = fake_guests(self.booted)

        def prepare(settings: Settings, line: str, scenarios: Sequence[Scenario] = ()) -> object:
            self.prepared_for.append([s.name for s in scenarios])
            return prepared_line(tmp_path, arch=arch)

        def prepare_root(settings: Settings, userlands: object, userland: str,
                         root_arch: str) -> GuestRoot:
            self.roots_built.append(userland)
            self.root_arches.append(root_arch)
            return fake_root(tmp_path, userland)

        def boot(spec: GuestSpec, console_log: Path) -> FakeGuest:
            self.specs.append(spec)
            if any(str(spec.rootfs).endswith(f"-{name}") for name in self.refuse):
                raise GuestError("timed out waiting for the guest's shell", "[ 1.0] init died")
            return fake(spec, console_log)

        monkeypatch.setattr(session, "prepare", prepare)
        monkeypatch.setattr(session, "prepare_root", prepare_root)
        settings = Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                            accel="tcg", guest_append=guest_append, build_cache=build_cache)
        self.lab = KernelLab(settings, "6.1", boot_guest=boot, scenarios=planned)


def test_scenarios_of_one_flavor_share_a_guest_and_another_flavor_boots_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, also_plain = variant("plain"), variant("also-plain", userland="bookworm")
    newer = variant("newer", userland="trixie")
    run = Booting(tmp_path, monkeypatch, [plain, also_plain, newer, plain])
    with run.lab as lab:
        for scenario in (plain, also_plain, newer, newer, plain):
            lab.run(scenario)

    assert len(run.booted) == 3, "bookworm (two scenarios), trixie (two), bookworm again"
    assert all(guest.closed for guest in run.booted), "each guest is powered off for the next"
    assert [spec.rootfs.name for spec in run.specs] == ["rootfs", "rootfs-trixie", "rootfs"]
    assert [spec.root_image for spec in run.specs] == [
        tmp_path / "bookworm.img", tmp_path / "trixie.img", tmp_path / "bookworm.img"]


def test_a_userland_named_for_a_line_is_the_root_that_lines_guest_boots(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = dataclasses.replace(variant("here", userland="bookworm"),
                               userland_by_line=(("6.1", "trixie"),))
    elsewhere = dataclasses.replace(variant("elsewhere", userland="trixie"),
                                    userland_by_line=(("7.2", "bookworm"),))
    run = Booting(tmp_path, monkeypatch, [here, elsewhere])
    with run.lab as lab:
        outcomes = [lab.run(here), lab.run(elsewhere)]

    assert [spec.rootfs.name for spec in run.specs] == ["rootfs-trixie"], \
        "on 6.1 both run on trixie: the one named for 6.1, the default of the other"
    assert [outcome.userland for outcome in outcomes] == ["trixie", "trixie"]


def test_the_build_cache_key_is_the_toolchain_of_the_flavors_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)
    with run.lab as lab:
        lab.run(variant("plain"))
        assert lab.runner is not None
        plain_digest = lab.runner.toolchain
        lab.run(variant("newer", userland="trixie"))
        assert lab.runner is not None
        newer_digest = lab.runner.toolchain

    assert plain_digest == toolchain_digest(tmp_path / "rootfs")
    assert newer_digest == toolchain_digest(tmp_path / "rootfs-trixie")
    assert plain_digest != newer_digest


def test_kernel_arguments_come_after_the_labs_own_and_get_a_guest_of_their_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, lsm = variant("plain"), variant("lsm", kernel_cmdline=LSM)
    run = Booting(tmp_path, monkeypatch, guest_append=("loglevel=7",))
    with run.lab as lab:
        lab.run(plain)
        lab.run(lsm)
        lab.run(variant("lsm-again", kernel_cmdline=LSM))
        lab.run(variant("lsm-reordered", kernel_cmdline=LSM[::-1]))
        lab.run(plain)

    assert [spec.extra_append for spec in run.specs] == [
        ("loglevel=7",), ("loglevel=7", *LSM), ("loglevel=7", *LSM[::-1]), ("loglevel=7",)]
    argv = vng_command(run.specs[1])
    appended = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--append"]
    assert appended[-3:] == ["loglevel=7", *LSM]
    assert appended.index("panic=-1") < appended.index(LSM[0])
    assert [spec.rootfs.name for spec in run.specs] == ["rootfs"] * 4, "same userland"


def test_the_first_guest_has_the_first_planned_scenarios_flavor_and_roots_are_prepared_ahead(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    newer = variant("newer", userland="trixie", kernel_cmdline=("nokaslr",))
    run = Booting(tmp_path, monkeypatch, [newer, variant("plain")])
    with run.lab as lab:
        assert lab.flavor == Flavor("trixie", ("nokaslr",))
        assert run.prepared_for == [["newer", "plain"]], "prepare() saw the planned scenarios"
        lab.run(newer)

    assert len(run.booted) == 1
    assert run.specs[0].rootfs.name == "rootfs-trixie"
    assert run.specs[0].extra_append == ("nokaslr",)


def test_without_a_plan_the_default_userland_boots_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)
    with run.lab as lab:
        assert lab.flavor == Flavor("bookworm")
    assert run.specs[0].rootfs.name == "rootfs" and run.specs[0].extra_append == ()
    assert run.roots_built == [], "the default root came with the line"


def test_a_root_first_used_mid_run_is_built_for_the_lines_architecture(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch, arch="arm64")
    with run.lab as lab:
        lab.run(variant("newer", userland="trixie"))
    assert (run.roots_built, run.root_arches) == (["trixie"], ["arm64"])


def test_each_outcome_names_its_userland_and_the_toolchain_its_root_pins(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)
    with run.lab as lab:
        plain = lab.run(variant("plain"))
        newer = lab.run(variant("newer", userland="trixie"))

    assert (plain.userland, plain.toolchain) == ("bookworm", "clang of bookworm")
    assert (newer.userland, newer.toolchain) == ("trixie", "clang of trixie")


def test_an_unknown_userland_fails_its_scenario_at_preflight_naming_the_known_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)
    with run.lab as lab:
        lab.run(variant("plain"))
        outcome = lab.run(variant("odd", userland="sid"))
        after = lab.run(variant("plain-again"))

    assert outcome.stage == Stage.PREFLIGHT and not outcome.passed
    assert "`userland` 'sid': not a guest userland of this lab; the known ones are bookworm " \
           "(" in outcome.message
    assert "trixie (" in outcome.message
    assert len(run.booted) == 1, "nothing was booted or powered off for it"
    assert after.stage != Stage.BOOT


def test_a_flavor_that_cannot_boot_fails_its_own_scenarios_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)
    run.refuse.add("trixie")
    with run.lab as lab:
        first = lab.run(variant("newer", userland="trixie"))
        plain = lab.run(variant("plain"))
        second = lab.run(variant("newer-again", userland="trixie"))

    for outcome in (first, second):
        assert outcome.stage == Stage.BOOT
        assert outcome.message.startswith("kernel 6.1 could not be booted with trixie: timed out")
        assert outcome.console_tail == "[ 1.0] init died"
    assert plain.stage != Stage.BOOT and plain.userland == "bookworm"
    tried = [spec.rootfs.name for spec in run.specs]
    assert tried == ["rootfs", "rootfs-trixie", "rootfs"], "trixie is not booted again"


def test_a_root_that_cannot_be_built_fails_its_flavor_at_boot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = Booting(tmp_path, monkeypatch)

    def no_root(settings: Settings, userlands: object, userland: str, arch: str) -> GuestRoot:
        raise LabError("vm/rootfs-trixie.lock does not exist; run `lab rootfs lock`")

    monkeypatch.setattr(session, "prepare_root", no_root)
    with run.lab as lab:
        outcome = lab.run(variant("newer", userland="trixie"))
        plain = lab.run(variant("plain"))

    assert outcome.stage == Stage.BOOT
    assert "could not be booted with trixie: vm/rootfs-trixie.lock does not exist" in \
        outcome.message
    assert plain.stage != Stage.BOOT


def test_each_flavors_guest_builds_ahead_the_planned_scenarios_of_its_own_userland(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain, newer, lsm = variant("plain"), variant("newer", userland="trixie"), \
        variant("lsm", kernel_cmdline=LSM)
    asked: list[list[str]] = []

    def planned_jobs(scenarios: Sequence[Scenario], *_: object) -> list[object]:
        asked.append([s.name for s in scenarios])
        return []

    monkeypatch.setattr(session, "planned_jobs", planned_jobs)
    run = Booting(tmp_path, monkeypatch, [plain, newer, lsm], build_cache=True)
    with run.lab as lab:
        lab.prebuild([plain, newer, lsm, variant("odd", userland="sid")])
        assert asked == [["plain", "lsm"]], "the booted guest builds its userland's only"
        lab.run(newer)
        assert asked[1:] == [["newer"]], "the trixie guest builds the trixie ones on boot"

"""Scenarios bring their own guest packages, end to end through lab.guestvm.session.prepare:
the guest root is built from the recipe plus every declared package, and a name
that is not a package of the recipe's suite stops the line before the root is
built and before anything boots (the KVM probe is the first boot)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import lab.cache.rootfs
from lab.cache.archive import PackageRecord
from lab.cache.kernels import KernelBuild
from lab.cache.root_lock import LockedPackage, RootLock, write_root_lock
from lab.cache.rootfs import Recipe
from lab.errors import LabError, PackageNotFound
from lab.guestvm import session
from lab.guestvm.accel import AccelChoice
from lab.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
MIRROR = "http://deb.debian.org/debian"
SCENARIO = """\
summary = "a tutorial whose workload runs {tool}"
guest_packages = [{packages}]

[build]
commands = []

[load]
command = "python3 x.py"
ready = '^ready$'
capture = "output"

[[workload]]
run = "{tool}"
record = "runs"

[[expect]]
summary = "its pid"
for_each = "runs"
lines = ['pid ${{pid}}$']
"""


class Archive:
    """The recipe suite's index: these packages and no others."""

    mirror, suite, component, arch = MIRROR, "bookworm", "main", "amd64"

    def __init__(self, known: set[str]) -> None:
        self.known = known

    def find(self, name: str, version: str | None = None) -> PackageRecord:
        if name not in self.known:
            raise PackageNotFound(f"package {name} version (any) not found")
        return PackageRecord(name, "1.0", f"pool/{name}.deb", "00" * 32, 1, "")

    def used_past_valid_until(self) -> bool:
        return False


def lock_root(project: Path, *packages: str) -> None:
    """What `lab rootfs lock` would write for these packages (all at 1.0)."""
    write_root_lock(RootLock("bookworm", "minbase", packages,
                             tuple(LockedPackage(name, "1.0", "00" * 32) for name in packages),
                             project / "vm" / "rootfs.lock"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The real catalog and lock, a two-package recipe, one scenario declaring iproute2."""
    root = tmp_path / "project"
    (root / "vm").mkdir(parents=True)
    for name in ("kernels.toml", "kernels.lock"):
        shutil.copy(PROJECT / "vm" / name, root / "vm")
    (root / "vm" / "rootfs.toml").write_text('suite = "bookworm"\npackages = ["bash", "python3"]\n')
    (root / "scenarios").mkdir()
    (root / "scenarios" / "net.toml").write_text(SCENARIO.format(tool="ip link",
                                                                 packages='"iproute2"'))
    lock_root(root, "bash", "iproute2", "python3")
    return root


@pytest.fixture
def booted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """prepare() with the kernel, the archive, mmdebstrap and the KVM probe faked;
    returns what happened, in order."""
    events: list[str] = []
    kernel_root = tmp_path / "kernel"
    build = KernelBuild("6.1.0-50-amd64", kernel_root)
    build.modules.mkdir(parents=True)
    build.config.write_text("CONFIG_BPF=y\n")

    def mmdebstrap(recipe: Recipe, mirror: str, target: Path, *_: object) -> None:
        events.append("mmdebstrap " + " ".join(recipe.packages))
        (target / "usr" / "bin").mkdir(parents=True)
        (target / "etc").mkdir()
        assert recipe.lock is not None
        (target / "var" / "lib" / "dpkg").mkdir(parents=True)
        (target / "var" / "lib" / "dpkg" / "status").write_text("\n".join(
            f"Package: {p.package}\nStatus: install ok installed\nVersion: {p.version}\n"
            for p in recipe.lock.packages))

    def accel(*args: object) -> AccelChoice:
        events.append("boot (KVM probe)")
        return AccelChoice("tcg", "faked")

    monkeypatch.setattr(session, "debian_mirror", lambda: MIRROR)
    monkeypatch.setattr(session, "fetch_kernel", lambda cache, mirror, kernel: build)
    monkeypatch.setattr(session, "missing_options", lambda config, options: [])
    monkeypatch.setattr(session, "choose_accel", accel)
    monkeypatch.setattr(lab.cache.rootfs, "_mmdebstrap", mmdebstrap)
    monkeypatch.setattr(lab.cache.rootfs, "fetch_debs", lambda cache, mirror, kernel, debs: [])
    known = {"bash", "python3", "iproute2", "strace"}
    monkeypatch.setattr(lab.cache.rootfs, "suite_archive",
                        lambda mirror, suite, cache, **_: Archive(known))
    return events


def settings(project: Path, tmp_path: Path) -> Settings:
    return Settings(project=project, cache=tmp_path / "cache", output=tmp_path / "out",
                    accel="tcg")


def test_prepare_builds_the_recipe_plus_declared_packages_once_then_reuses_it(
        project: Path, tmp_path: Path, booted: list[str]) -> None:
    first = session.prepare(settings(project, tmp_path), "6.1")
    assert booted == ["mmdebstrap bash iproute2 python3", "boot (KVM probe)"]

    again = session.prepare(settings(project, tmp_path), "6.1")
    assert again.rootfs == first.rootfs
    assert booted[2:] == ["boot (KVM probe)"], "the same package set is not built again"

    (project / "scenarios" / "trace.toml").write_text(SCENARIO.format(
        tool="strace true", packages='"strace", "iproute2"'))
    lock_root(project, "bash", "iproute2", "python3", "strace")  # `lab rootfs lock`
    third = session.prepare(settings(project, tmp_path), "6.1")
    assert third.rootfs != first.rootfs
    assert booted[3:] == ["mmdebstrap bash iproute2 python3 strace", "boot (KVM probe)"]


def test_an_unknown_package_fails_prepare_before_the_root_is_built_and_any_boot(
        project: Path, tmp_path: Path, booted: list[str]) -> None:
    (project / "scenarios" / "typo.toml").write_text(SCENARIO.format(
        tool="ip link", packages='"iproute"'))
    with pytest.raises(LabError) as info:
        session.prepare(settings(project, tmp_path), "6.1")
    assert str(info.value).startswith(
        f"{project}/scenarios/typo.toml: `guest_packages` names 'iproute': not a package of "
        f"bookworm (main, amd64) on {MIRROR}")
    assert booted == []
    assert not list((tmp_path / "cache" / "rootfs").iterdir())


def add_trixie(project: Path, *packages: str) -> None:
    """vm/rootfs-trixie.toml asking for bash and python3, and its lock (what `lab rootfs
    lock trixie` would write)."""
    (project / "vm" / "rootfs-trixie.toml").write_text(
        'suite = "trixie"\npackages = ["bash", "python3"]\n')
    write_root_lock(RootLock("trixie", "minbase", packages,
                             tuple(LockedPackage(name, "2.0", "00" * 32) for name in packages),
                             project / "vm" / "rootfs-trixie.lock"))


def test_prepare_builds_the_root_of_every_userland_the_scenarios_use_each_with_its_packages(
        project: Path, tmp_path: Path, booted: list[str]) -> None:
    from lab.scenario import load_scenario

    add_trixie(project, "bash", "python3", "strace")
    (project / "scenarios" / "newer.toml").write_text(
        'userland = "trixie"\n' + SCENARIO.format(tool="strace true", packages='"strace"'))
    newer, net = (load_scenario(project / "scenarios" / f"{name}.toml")
                  for name in ("newer", "net"))

    prepared = session.prepare(settings(project, tmp_path), "6.1", [newer, net])

    assert booted == ["mmdebstrap bash python3 strace", "mmdebstrap bash iproute2 python3",
                      "boot (KVM probe)"], "each root with its own scenarios' packages only"
    assert list(prepared.roots) == ["trixie", "bookworm"]
    assert prepared.roots["trixie"].rootfs.name.startswith("trixie-")
    assert prepared.roots["bookworm"].rootfs.name.startswith("bookworm-")
    assert prepared.rootfs == prepared.roots["trixie"].rootfs, "the first one's is a shell's"

    only_default = session.prepare(settings(project, tmp_path), "6.1", [net])
    assert list(only_default.roots) == ["bookworm"]
    assert booted[3:] == ["boot (KVM probe)"], "both roots were cached"


def test_prepare_of_no_scenario_builds_only_the_default_root(
        project: Path, tmp_path: Path, booted: list[str]) -> None:
    add_trixie(project, "bash", "python3")
    prepared = session.prepare(settings(project, tmp_path), "6.1")
    assert list(prepared.roots) == ["bookworm"]
    assert booted == ["mmdebstrap bash iproute2 python3", "boot (KVM probe)"]

"""A stored build is what its key describes, whatever ran in the guest before it.

Every cell runs as root in the console's shell, so a cell can change what a later
build would use: the guest's copy of the lab's tools (/tmp/lab-tools), the
boot's shared vmlinux.h, or the compiler itself (virtme-ng lays a writable
overlay over the read-only root's /usr). The builds here are private copies of
shipped tutorials (fresh markers, so never in the cache before), built on their
own turn and ahead; what the cache then holds under each one's key must be a
build from the key's tools, the kernel's own BTF and the root's compiler, or
nothing.
"""

from __future__ import annotations

import dataclasses
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from private_tutorial import private_copy

from lab.cache.build_cache import BuildCache
from lab.guestvm.session import KernelLab
from lab.pytest_plugin.hooks import KERNELS, SETTINGS
from lab.scenario import Scenario, load_scenario, load_scenarios

FAULTS = Path(__file__).parent / "scenarios"
ECC_MARK, VMLINUX_H_MARK = "TAMPERED ECC RAN", "LAB_TAMPERED"


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelLab]:
    """One kernel line (the first --kernel), output kept apart, the build cache on."""
    kernels = request.config.stash[KERNELS]
    settings = dataclasses.replace(request.config.stash[SETTINGS], build_cache=True,
                                   output=tmp_path_factory.mktemp("build-integrity"))
    with KernelLab(settings, kernels[0]) as booted:
        assert booted.failure is None, booted.failure
        yield booted


@pytest.fixture(scope="module")
def ecc_tutorial(lab: KernelLab) -> Scenario:
    """A shipped tutorial whose build runs ecc on the boot's vmlinux.h."""
    for scenario in load_scenarios(lab.settings.scenarios_dir):
        if scenario.vmlinux_h is not None and any(c.startswith("ecc ") for c in scenario.build):
            return scenario
    raise AssertionError("no shipped tutorial builds with ecc and vmlinux.h")


def copy_of(tutorial: Scenario, lab: KernelLab, where: Path, name: str) -> Scenario:
    return private_copy(tutorial, lab.settings.project, where / name, name)


def stored_files(lab: KernelLab, scenario: Scenario) -> dict[str, bytes] | None:
    """The files of the build the cache holds under the scenario's key, or None."""
    assert lab.runner is not None
    tar = BuildCache(lab.settings.cache).lookup(lab.runner.build_key(scenario))
    if tar is None:
        return None
    with tarfile.open(tar) as archive:
        return {member.name.removeprefix("./"): archive.extractfile(member).read()  # type: ignore[union-attr]
                for member in archive.getmembers() if member.isfile()}


def tamper(lab: KernelLab, name: str) -> None:
    """Run the fault scenario that changes the guest; its step must have succeeded
    (it then fails at expect: it has no loader, so no trace)."""
    outcome = lab.run(load_scenario(FAULTS / f"{name}.toml"), load_program=False)
    assert outcome.stage == "expect", f"the tampering step failed: {outcome.message}"


def test_a_build_after_a_cell_changed_the_guests_lab_tools_runs_and_stores_the_keys_tools(
        lab: KernelLab, ecc_tutorial: Scenario, tmp_path: Path,
        measured: Callable[[str], None]) -> None:
    tamper(lab, "tamper-lab-tools")
    copy = copy_of(ecc_tutorial, lab, tmp_path, "integrity-tools")

    outcome = lab.run(copy)

    assert outcome.passed, f"{outcome.stage}: {outcome.message}"
    assert ECC_MARK not in outcome.logs["build"], "the build ran the guest's changed ecc"
    files = stored_files(lab, copy)
    assert files is not None, "a build from the key's own tools was not stored"
    assert "TAMPERED-ECC" not in files, "stored a build made by the changed ecc"
    measured("cell changes /tmp/lab-tools/ecc.py: the next build runs the read-only share's "
             "ecc (the key's) and is stored clean")


def test_a_build_after_a_cell_changed_the_boots_vmlinux_h_is_not_stored(
        lab: KernelLab, ecc_tutorial: Scenario, tmp_path: Path,
        measured: Callable[[str], None]) -> None:
    dumped = copy_of(ecc_tutorial, lab, tmp_path, "integrity-dumped")
    first = lab.run(dumped)  # this boot's vmlinux.h is dumped by now
    assert first.passed, f"{first.stage}: {first.message}"
    tamper(lab, "tamper-vmlinux-h")

    own_turn = copy_of(ecc_tutorial, lab, tmp_path, "integrity-own-turn")
    outcome = lab.run(own_turn)
    ahead = [copy_of(ecc_tutorial, lab, tmp_path, f"integrity-ahead-{i}") for i in (1, 2)]
    report = lab.prebuild(ahead)

    for scenario in (own_turn, *ahead):
        files = stored_files(lab, scenario)
        assert files is None or VMLINUX_H_MARK.encode() not in files["vmlinux.h"], \
            f"{scenario.name}: stored a build on a changed vmlinux.h under the clean key"
        assert files is None, f"{scenario.name}: stored though its vmlinux.h was changed"
    assert "lab: the build was not stored: the boot's vmlinux.h (./vmlinux.h) was " \
        in outcome.logs["build"]
    assert report is not None and set(report.refused) == {s.name for s in ahead}, report
    measured("cell changes the boot's vmlinux.h after its dump: later builds (own turn and "
             "ahead) are not stored, the build log says why")


def test_a_build_after_a_cell_replaced_the_guests_compiler_is_not_stored(
        lab: KernelLab, tmp_path: Path, measured: Callable[[str], None]) -> None:
    """Last in the module: the compiler stays replaced for the rest of the boot."""
    clang_tutorial = next(s for s in load_scenarios(lab.settings.scenarios_dir)
                          if s.vmlinux_h is None and any(c.startswith("clang ") for c in s.build))
    tamper(lab, "tamper-guest-root")
    copy = copy_of(clang_tutorial, lab, tmp_path, "integrity-root")

    outcome = lab.run(copy)

    assert "PLANTED CLANG RAN" in outcome.logs["build"], "the planted compiler did not run"
    assert stored_files(lab, copy) is None, "stored a build of a planted compiler under the key " \
        "of the root's own"
    assert "lab: the build was not stored: the guest root (" in outcome.logs["build"]
    measured("cell replaces /usr/bin/clang (the /usr overlay is writable): the next build is "
             "not stored, the build log says why")

"""Guest flavors for real: a scenario's kernel arguments reach the kernel of a guest
of its own, and a scenario of the trixie userland is built with that root's
toolchain. Not faults, but guests the lab must not share with other scenarios.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.guestvm.flavor import Flavor
from lab.guestvm.session import KernelLab
from lab.pytest_plugin.hooks import KERNELS, SETTINGS
from lab.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).parent / "scenarios"
ARGUMENT = "lsm=lockdown,yama,bpf"
LSMS = "lockdown,capability,yama,bpf"  # what 6.1 activates for it (lockdown is early)


@pytest.fixture(scope="module")
def lab(request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelLab]:
    """One kernel line (the first --kernel), its first guest of the default flavor."""
    settings = dataclasses.replace(request.config.stash[SETTINGS],
                                   output=tmp_path_factory.mktemp("flavors"))
    with KernelLab(settings, request.config.stash[KERNELS][0]) as booted:
        assert booted.failure is None, booted.failure
        yield booted


def scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.toml")


def tutorial(lab: KernelLab) -> Scenario:
    return load_scenario(lab.settings.scenarios_dir / "minimal.toml")


def cmdline(lab: KernelLab) -> str:
    assert lab.guest is not None
    return lab.guest.run("cat /proc/cmdline", timeout=30).output


def active_lsms(lab: KernelLab) -> str:
    assert lab.guest is not None
    return lab.guest.run("mountpoint -q /sys/kernel/security || mount -t securityfs securityfs "
                         "/sys/kernel/security; echo \"lsm=$(cat /sys/kernel/security/lsm)\"",
                         timeout=30).output.strip()


def test_kernel_arguments_reach_a_guest_of_their_own(lab: KernelLab) -> None:
    assert lab.run(tutorial(lab)).passed
    boots = lab.boots
    assert ARGUMENT not in cmdline(lab)
    default_lsms = active_lsms(lab)
    print(f"LSMs of the default guest: {default_lsms}")
    assert default_lsms.startswith("lsm=") and default_lsms != f"lsm={LSMS}"

    outcome = lab.run(scenario("kernel-cmdline"))

    assert outcome.passed, f"{outcome.stage}: {outcome.message}"
    assert lab.boots == boots + 1, "the default guest was not used for it"
    assert lab.flavor == Flavor("bookworm", (ARGUMENT,))
    assert [r["argument"] for r in outcome.records["cmdline"]] == [ARGUMENT]
    assert [r["lsms"] for r in outcome.records["lsms"]] == [LSMS]
    words = cmdline(lab).split()
    print(f"command line of the guest with them: {' '.join(words)}")
    own = [i for i, word in enumerate(words)
           if word in ("panic=-1", "cryptomgr.notests=1") or word.startswith("virtme_initmount")]
    assert len(own) >= 5 and words.index(ARGUMENT) > max(own), "after the lab's own arguments"

    after = lab.run(tutorial(lab))
    assert after.passed, f"{after.stage}: {after.message}"
    assert lab.boots == boots + 2, "the next scenario did not run in the guest with them"
    assert ARGUMENT not in cmdline(lab)


def test_a_trixie_scenario_is_built_with_trixies_toolchain(lab: KernelLab) -> None:
    trixie = scenario("trixie-toolchain")

    outcome = lab.run(trixie)

    assert outcome.passed, f"{outcome.stage}: {outcome.message}"
    assert outcome.userland == "trixie"
    assert outcome.toolchain.startswith("clang 19.1."), outcome.toolchain
    assert "libbpf 1.5" in outcome.toolchain and "bpftool 7.5" in outcome.toolchain
    assert outcome.records["clang"][0]["clang"] in outcome.toolchain
    assert outcome.records["bpftool"][0]["bpftool"] in outcome.toolchain
    assert lab.flavor == Flavor("trixie")


def test_the_same_program_does_not_build_on_the_default_userland(lab: KernelLab) -> None:
    """What the trixie cell proves: bookworm's libbpf 1.1 has no BPF_UPROBE."""
    outcome = lab.run(dataclasses.replace(scenario("trixie-toolchain"), userland=None))

    assert outcome.stage == "build" and not outcome.passed
    assert outcome.userland == "bookworm" and outcome.toolchain.startswith("clang 14.")
    assert "uprobe.bpf.c:14:25: error: expected identifier" in outcome.message, outcome.message
    assert "int BPF_UPROBE(on_kill, int pid, int sig)" in outcome.logs.get("build", "")

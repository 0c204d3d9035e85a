"""A kernel line whose first boot fails still gets its column: one fail cell per
scenario at stage `boot`, with the console tail, and it does not wait for timeouts.

The fault: LAB_GUEST_APPEND adds `rdinit=/nonexistent`, so the kernel finds no
init in virtme-ng's initramfs, and `root=mtd0`, a root it mounts without waiting
for a device (the guest's own `root=/dev/vda rootwait` would wait forever for a
disk whose driver is a module that never loads), fails to, and panics (panic=-1
and QEMU's -no-reboot end the VM at once); `console=ttyS0` (`ttyAMA0` on arm64)
puts the panic on the console the lab reads, since hvc0 needs a module that
never loads. The kernel cache is untouched. The same test runs on an arm64 line
(`tox -e faults-arm64`: --kernel 6.1-arm64), whose column must fail at boot too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from lab_child import LabChild

from lab.arches import split_target
from lab.cache.userlands import find_userlands
from lab.pytest_plugin.hooks import KERNELS
from lab.scenario import load_scenarios

PANIC = "rdinit=/nonexistent root=mtd0"
# every tutorial of the project, whatever its number: adding one needs no change here
PROJECT = Path(__file__).resolve().parents[2]
ALL = load_scenarios(PROJECT / "scenarios")
SCENARIOS = {s.name for s in ALL}
# a scenario that declares itself not runnable boots nothing, so its cell is judged before boot
NOT_RUNNABLE = {s.name for s in ALL if s.not_runnable}
# a guest per flavor (userland and kernel arguments): each has its own first boot
DEFAULT_USERLAND = find_userlands(PROJECT / "vm" / "rootfs.toml").default


def flavors(line: str) -> set[tuple[str | None, tuple[str, ...]]]:
    """A guest per flavor (userland and kernel arguments) on this line."""
    return {s.flavor_on(line, DEFAULT_USERLAND) for s in ALL if not s.not_runnable}


QUICK_S = 120.0  # two boot attempts that panic at once (~9 s each under TCG), no timeouts


def test_a_line_that_cannot_boot_gets_a_column_of_boot_failures(
        lab_child: Callable[..., LabChild], measured: Callable[[str], None],
        pytestconfig: pytest.Config) -> None:
    line = pytestconfig.stash[KERNELS][0]
    console = split_target(line)[1].console
    run = lab_child(env={"LAB_GUEST_APPEND": f"console={console} {PANIC}"})
    code = run.wait(QUICK_S + 60)
    took = time.monotonic() - run.started

    measured(f"first boot fails (kernel panic, {line}): pytest ended in {took:.1f} s "
             f"(exit {code})")
    assert code == 1, run.tail()  # tests failed: not a setup error, not a crash
    cells = run.column()
    assert {c["tutorial"] for c in cells} == SCENARIOS, run.tail()
    for cell in cells:
        if cell["tutorial"] in NOT_RUNNABLE:
            assert (cell["verdict"], cell["stage"]) == ("not-runnable", "preflight"), cell
            continue
        assert (cell["verdict"], cell["stage"]) == ("fail", "boot"), cell
        assert "could not be booted" in cell["reason"], cell
    assert f"Linux {split_target(line)[0]}" in (run.output / "lab-report.md").read_text()
    output = run.text()
    assert output.count("guest console (tail)") >= len(SCENARIOS - NOT_RUNNABLE), run.tail()
    assert "Kernel panic" in output
    boots = re.findall(r"booting \S+ \((?:kvm|tcg), ([^)]+)\)", output)
    assert len(boots) == len(flavors(line)), \
        "a first boot per flavor (retried inside), none per scenario"
    assert len(set(boots)) == len(boots), boots
    assert "error" not in output.strip().splitlines()[-1], "no setup errors: " + run.tail()
    assert not run.leftovers(), "QEMU (or vng) outlived the run"
    assert took < QUICK_S, "a panicking guest must end the boot at once, not at a timeout"

"""One kernel line, end to end: prepare it (kernel, guest root, acceleration),
boot it, and run scenarios in it, booting again if the guest died.

A plain class: the CLI and the pytest plugin both use it, and it works without
pytest.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from lab.accel import AccelChoice, choose_accel
from lab.apt_sources import debian_mirror
from lab.catalog import LockedKernel, load_lock, locked
from lab.errors import GuestError, LabError
from lab.kernels import KernelBuild, fetch_kernel
from lab.outcome import Outcome
from lab.preflight import VM_OPTIONS, describe_missing, missing_options, parse_config
from lab.rootfs import build_rootfs, load_recipe
from lab.runner import ScenarioRunner
from lab.scenario import Scenario
from lab.settings import Settings
from lab.vm import GuestVM
from lab.vng_command import GuestSpec


@dataclass(frozen=True)
class Prepared:
    kernel: LockedKernel
    build: KernelBuild
    rootfs: Path
    accel: AccelChoice
    config: dict[str, str]


def prepare(settings: Settings, line: str) -> Prepared:
    """Fetch the pinned kernel, build the guest root, choose KVM or TCG (all cached)."""
    lock = load_lock(settings.lock_file)
    kernel = locked(lock, line)
    mirror = debian_mirror()
    build = fetch_kernel(settings.cache, mirror, kernel)
    config = parse_config(build.config.read_text())
    missing = missing_options(config, VM_OPTIONS)
    if missing:
        raise LabError(describe_missing(kernel.release, missing, VM_OPTIONS)
                       + ": the lab cannot boot it under virtme-ng")
    rootfs = build_rootfs(settings.cache, mirror, load_recipe(settings.recipe_file),
                          list(lock.values()))
    accel = choose_accel(settings.accel, build.image, settings.cache)
    return Prepared(kernel, build, rootfs, accel, config)


def guest_spec(prepared: Prepared, work_dir: Path) -> GuestSpec:
    return GuestSpec(
        image=prepared.build.image,
        modules=prepared.build.modules,
        release=prepared.build.release,
        rootfs=prepared.rootfs,
        work_dir=work_dir,
        accel=prepared.accel.accel,
    )


class KernelLab:
    """A booted kernel line that runs scenarios; one per kernel per test session."""

    def __init__(self, settings: Settings, line: str) -> None:
        self.settings = settings
        self.line = line
        self.prepared = prepare(settings, line)
        self.work_dir = settings.output / "runs" / line
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True)
        self.boots = 0
        self._vm: GuestVM | None = None
        self._runner: ScenarioRunner | None = None

    @property
    def accel(self) -> AccelChoice:
        return self.prepared.accel

    @property
    def vm(self) -> GuestVM:
        """The running guest; a new one if it died or a scenario left programs loaded."""
        dirty = self._runner is not None and self._runner.needs_reboot
        if self._vm is None or not self._vm.alive or dirty:
            self._boot()
        assert self._vm is not None
        return self._vm

    def _boot(self) -> None:
        if self._vm is not None:
            print(f"kernel {self.line}: the guest died or is not clean; booting a new one",
                  file=sys.stderr)
            self._vm.close()
        spec = guest_spec(self.prepared, self.work_dir)
        print(f"booting {self.prepared.kernel.release} ({self.accel.accel})...",
              file=sys.stderr, flush=True)
        self._vm = GuestVM(spec, self.work_dir / "console.log").start()
        self.boots += 1
        print(f"kernel {self.line} booted in {self._vm.boot_seconds:.1f} s", file=sys.stderr,
              flush=True)
        self._runner = ScenarioRunner(self._vm, self.settings.project, self.prepared.config)

    def run(self, scenario: Scenario, *, load_program: bool = True) -> Outcome:
        """Run one scenario; a guest that cannot be (re)booted fails it at 'boot'."""
        try:
            self.vm  # noqa: B018  (boots, or boots again after a guest death)
        except LabError as error:
            tail = error.console_tail if isinstance(error, GuestError) else ""
            return Outcome(scenario.name, stage="boot", message=str(error), console_tail=tail)
        assert self._runner is not None
        return self._runner.run(scenario, load_program=load_program)

    def close(self) -> None:
        if self._vm is not None:
            self._vm.close()
            self._vm = None

"""One kernel line, end to end: prepare it (kernel, guest roots, acceleration),
boot it, and run scenarios in it, booting again if the guest died.

One guest runs at a time. It is booted with the flavor (lab.guestvm.flavor) the
next scenario needs: its userland's root and the scenario's kernel arguments
after the lab's own. Consecutive scenarios of one flavor share the guest; a
scenario of another flavor powers it off and boots its own.

A plain class: the CLI and the pytest plugin both use it, and it works without
pytest.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.arches import DEFAULT_ARCH, Arch, foreign
from lab.cache.apt_sources import debian_mirror
from lab.cache.boot_image import BootImage, boot_image
from lab.cache.build_cache import BuildCache, toolchain_digest
from lab.cache.catalog import LockedKernel, load_catalog, load_lock, locked
from lab.cache.guest_root import guest_root
from lab.cache.kernels import KernelBuild, fetch_kernel
from lab.cache.toolchain import toolchain
from lab.cache.userlands import Userlands, find_userlands
from lab.errors import GuestError, LabError
from lab.guest_text import visible
from lab.guestvm.accel import AccelChoice, choose_accel
from lab.guestvm.flavor import Flavor
from lab.guestvm.guest import BootedGuest
from lab.guestvm.prebuild import Prebuilder, PrebuildReport, planned_jobs
from lab.guestvm.run_dir import RunDir
from lab.guestvm.runner import ScenarioRunner
from lab.guestvm.vm import GuestVM
from lab.guestvm.vng_command import GuestSpec
from lab.guestvm.workspace import share_dirs
from lab.kernel_choice import choose_kernel
from lab.preflight import VM_OPTIONS, describe_missing, missing_options, parse_config
from lab.scenario import Scenario, load_scenarios
from lab.settings import DEFAULT_GUEST_CPUS, DEFAULT_SHARE_LIMIT, Settings
from lab.verdicts.outcome import Outcome
from lab.verdicts.stage import Stage

# Under KVM the guest decompresses its kernel in about 0.1 s, less than virtme-ng
# takes to read the release out of a 65 MB uncompressed image (strings(1), 0.8 s):
# the uncompressed PVH image pays only under emulation.
KVM_DECOMPRESSES_FAST = "under KVM the compressed image boots faster"
# busybox-static's, which the recipe adds for a guest not of the host's architecture
# (vm/rootfs.toml's [arches.*]): virtme-ng's initramfs runs it in the guest.
FOREIGN_BUSYBOX = "usr/bin/busybox"
# The PVH image is x86's; QEMU's aarch64 loader takes Debian's arm64 Image as it is.
ARM64_IMAGE = "the package's Image, which QEMU loads as it is"
# How a session boots a guest: its spec and console log in, a started guest out
# (unit tests give a fake one).
GuestFactory = Callable[[GuestSpec, Path], BootedGuest]


def boot_vm(spec: GuestSpec, console_log: Path) -> GuestVM:
    """A GuestVM booted under virtme-ng (lab.guestvm.vm)."""
    return GuestVM(spec, console_log).start()


@dataclass(frozen=True)
class GuestRoot:
    """One userland's guest root, ready to boot: its directory (whose dpkg status is
    the build cache's toolchain digest), its image, and the toolchain its lock pins."""

    userland: str
    rootfs: Path
    image: Path
    toolchain: str  # `clang 19.1.7, libbpf 1.5.0, bpftool 7.5.0` (lab.cache.toolchain)


@dataclass(frozen=True)
class Prepared:
    kernel: LockedKernel
    build: KernelBuild
    boot: BootImage
    roots: dict[str, GuestRoot]  # by userland; the first is what a shell boots
    accel: AccelChoice
    config: dict[str, str]
    userlands: Userlands

    @property
    def root(self) -> GuestRoot:
        return next(iter(self.roots.values()))

    @property
    def rootfs(self) -> Path:
        return self.root.rootfs

    @property
    def root_image(self) -> Path:
        return self.root.image


def prepare(settings: Settings, kernel: LockedKernel | str,
            scenarios: Sequence[Scenario] = ()) -> Prepared:
    """Fetch the pinned kernel, build the guest root of every known userland the
    scenarios use (the default one for none), choose KVM or TCG (all cached).
    A line given by name is looked up in the lock first. A scenario naming an
    unknown userland is left to fail on its own (Userlands.check)."""
    lock = load_lock(settings.lock_file)
    if isinstance(kernel, str):
        kernel = locked(lock, kernel)
    userlands = find_userlands(settings.recipe_file)
    mirror = debian_mirror()
    build = fetch_kernel(settings.cache, mirror, kernel)
    config = parse_config(build.config.read_text())
    missing = missing_options(config, VM_OPTIONS)
    if missing:
        raise LabError(describe_missing(kernel.release, missing, VM_OPTIONS)
                       + ": the lab cannot boot it under virtme-ng")
    roots = {userland: prepare_root(settings, userlands, userland, kernel.arch)
             for userland in userlands.needed(scenarios, kernel.line)}
    accel = choose_accel(settings.accel, build.image, settings.cache, kernel.architecture)
    boot = kernel_to_boot(accel.accel, build, settings.cache, kernel.architecture)
    return Prepared(kernel, build, boot, roots, accel, config, userlands)


def prepare_every_userland(settings: Settings, kernel: LockedKernel | str) -> Prepared:
    """prepare() for every scenario of the project: what a matrix does once, before
    its lines' children start, so that they do not each build a root in turn."""
    catalog = load_catalog(settings.catalog_file).keys()
    return prepare(settings, kernel, load_scenarios(settings.scenarios_dir, catalog))


def prepare_root(settings: Settings, userlands: Userlands, userland: str,
                 arch: str) -> GuestRoot:
    """One userland's root for one architecture, with the headers of every locked
    kernel of that architecture and the packages of every scenario it serves
    (lab.cache.guest_root), built if not cached."""
    recipe = userlands.recipe(userland, arch)
    scenarios = load_scenarios(settings.scenarios_dir, load_catalog(settings.catalog_file).keys())
    kernels = [kernel for kernel in load_lock(settings.lock_file).values() if kernel.arch == arch]
    rootfs, image = guest_root(settings.cache, debian_mirror(), recipe, kernels, scenarios)
    return GuestRoot(userland, rootfs, image,
                     toolchain(recipe.lock.versions()) if recipe.lock is not None else "")


def kernel_to_boot(accel: str, build: KernelBuild, cache: Path,
                   arch: Arch = DEFAULT_ARCH) -> BootImage:
    """The uncompressed PVH image under emulation, the package's image under KVM
    and on arm64 (whose package ships the Image uncompressed)."""
    if arch != DEFAULT_ARCH:
        return BootImage(build.image, uncompressed=False, note=ARM64_IMAGE)
    if accel != "tcg":
        return BootImage(build.image, uncompressed=False, note=KVM_DECOMPRESSES_FAST)
    return boot_image(cache, build.image, build.release, build.modules)


def guest_spec(prepared: Prepared, work_dir: Path, ro_dir: Path | None = None,
               extra_append: tuple[str, ...] = (),
               share_limit: int = DEFAULT_SHARE_LIMIT, root: GuestRoot | None = None,
               cpus: int = DEFAULT_GUEST_CPUS) -> GuestSpec:
    """How a guest of this line boots; root: the userland's (default: prepared.root)."""
    root = root or prepared.root
    return GuestSpec(
        image=prepared.boot.path,
        modules=prepared.build.modules,
        release=prepared.build.release,
        rootfs=root.rootfs,
        root_image=root.image,
        work_dir=work_dir,
        accel=prepared.accel.accel,
        ro_dir=ro_dir,
        extra_append=extra_append,
        share_limit=share_limit,
        cpus=cpus,
        arch=prepared.kernel.architecture,
        busybox=(root.rootfs / FOREIGN_BUSYBOX if foreign(prepared.kernel.architecture)
                 else None),
    )


class KernelLab:
    """A kernel line that runs scenarios in its guest; one per kernel per test session.

    Lifecycle: `start()` prepares and boots; `run()` makes sure the guest has the
    scenario's flavor and is clean (a new one when the last scenario left it dead,
    stuck or dirty) and runs a scenario; `close()` powers it off. A line that
    cannot be prepared or booted does not raise: every scenario gets a `boot`
    outcome with the reason and the console, so the line still has its column in
    the report. A flavor that cannot be booted (its root cannot be built, the
    kernel refuses its arguments) fails its own scenarios only.
    """

    def __init__(self, settings: Settings, kernel: LockedKernel | str,
                 boot_guest: GuestFactory = boot_vm, scenarios: Sequence[Scenario] = ()) -> None:
        """kernel: the lock's entry (lab.kernel_choice), or a line's name, checked
        against the catalog and the lock here, before anything touches the disk.
        The line's run directory is this object's until close() (lab.guestvm.run_dir).
        boot_guest: how a guest is booted (a GuestVM unless a test says otherwise).
        scenarios: those this line will run, in order: the roots prepared at start,
        the first guest's flavor, what each new flavor's guest builds ahead."""
        self.settings = settings
        self._boot_guest = boot_guest
        self._planned = list(scenarios)
        self.kernel = choose_kernel(settings, kernel) if isinstance(kernel, str) else kernel
        self.line = self.kernel.line
        self._run_dir = RunDir(settings.output, self.line)
        try:
            self.work_dir = self._run_dir.empty()
        except LabError:
            self._run_dir.release()
            raise
        self.boots = 0
        self.failure: str | None = None
        self.failure_tail = ""
        self.prepared: Prepared | None = None
        self._vm: BootedGuest | None = None
        self._runner: ScenarioRunner | None = None
        self._tried_ahead: set[str] = set()  # build keys tried by prebuild()
        self._flavor: Flavor | None = None  # of the guest booted, or to be booted next
        self._roots: dict[str, GuestRoot] = {}  # the userlands' roots prepared so far
        self._unbootable: dict[Flavor, tuple[str, str]] = {}  # why, and the console
        self._narrowed: BootedGuest | None = None  # the guest whose extra vCPUs are offline

    @property
    def accel(self) -> AccelChoice | None:
        return self.prepared.accel if self.prepared else None

    @property
    def guest(self) -> BootedGuest | None:
        """The booted guest: None before start(), after close() or when the line
        could not boot; replaced when ensure_clean() boots a new one."""
        return self._vm

    @property
    def runner(self) -> ScenarioRunner | None:
        """The runner of the booted guest (its build keys, whether it needs a reboot)."""
        return self._runner

    @property
    def flavor(self) -> Flavor | None:
        """The flavor of the booted guest (or of the next one to boot)."""
        return self._flavor

    def start(self) -> None:
        """Prepare and boot (the flavor asked for last, else the first planned
        scenario's); a failure is kept for the scenarios it concerns, not raised."""
        try:
            self._prepare()
            self._boot()
        except LabError as error:
            self._give_up(error)

    def _prepare(self) -> None:
        if self.prepared is None:
            self.prepared = prepare(self.settings, self.kernel, self._planned)
            self._roots.update(self.prepared.roots)
        if self._flavor is None:
            first = next((s for s in self._planned if self._known(s)), None)
            self._flavor = (self.flavor_of(first) if first is not None
                            else Flavor(self.prepared.userlands.default))

    def _known(self, scenario: Scenario) -> bool:
        assert self.prepared is not None
        return (self.prepared.userlands.of(scenario, self.prepared.kernel.line)
                in self.prepared.userlands.recipes)

    def flavor_of(self, scenario: Scenario) -> Flavor:
        """The flavor a scenario's guest is booted with; a LabError for a userland
        the lab does not know (naming the known ones). Needs the line prepared."""
        assert self.prepared is not None
        userlands = self.prepared.userlands
        userlands.check([scenario])
        return Flavor(userlands.of(scenario, self.prepared.kernel.line), scenario.kernel_cmdline)

    def _switch(self, flavor: Flavor) -> bool:
        """Make flavor the one the next guest boots with, powering off a guest of
        another flavor; whether it changed."""
        if flavor == self._flavor:
            return False
        if self._vm is not None and self._flavor is not None:
            print(f"kernel {self.line}: powering off the {self._flavor.describe()} guest; "
                  f"the next scenarios run on {flavor.describe()}", file=sys.stderr, flush=True)
        self._power_off()
        self._runner = None
        self._flavor = flavor
        self.failure, self.failure_tail = self._unbootable.get(flavor, (None, ""))
        return True

    def ensure_clean(self) -> None:
        """A new guest if the last one died, lost its console or kept programs loaded."""
        if self.failure is not None:
            return
        dirty = self._runner is not None and self._runner.needs_reboot
        if self._vm is None or not self._vm.alive or dirty:
            if self._vm is not None:
                print(f"kernel {self.line}: the guest died or is not clean; booting a new one",
                      file=sys.stderr, flush=True)
            self.start()

    def _give_up(self, error: LabError) -> None:
        """The line (or, once prepared, the flavor) cannot run: keep why (and the
        console) for every scenario it concerns."""
        self._power_off()
        what = "booted" if self.prepared else "prepared"
        flavor = self._flavor
        named = (f" with {flavor.describe()}" if self.prepared is not None and flavor is not None
                 and flavor != Flavor(self.prepared.userlands.default) else "")
        self.failure = f"kernel {self.line} could not be {what}{named}: {error}"
        self.failure_tail = error.console_tail if isinstance(error, GuestError) else ""
        if self.prepared is not None and flavor is not None:
            self._unbootable[flavor] = (self.failure, self.failure_tail)
        print(visible(self.failure), file=sys.stderr, flush=True)

    def _root(self, userland: str) -> GuestRoot:
        """The userland's root, prepared now if start() did not (a scenario of a
        userland no planned scenario named)."""
        assert self.prepared is not None
        if userland not in self._roots:
            self._roots[userland] = prepare_root(self.settings, self.prepared.userlands, userland,
                                                 self.prepared.kernel.arch)
        return self._roots[userland]

    def _boot(self) -> None:
        assert self.prepared is not None and self._flavor is not None
        self._power_off()
        self._runner = None
        root = self._root(self._flavor.userland)
        share, ro = share_dirs(self.work_dir)
        spec = guest_spec(self.prepared, share, ro,
                          (*self.settings.guest_append, *self._flavor.kernel_cmdline),
                          self.settings.share_limit, root,
                          self.settings.guest_cpus or DEFAULT_GUEST_CPUS)
        print(f"booting {self.prepared.kernel.release} ({self.prepared.accel.accel}, "
              f"{self._flavor.describe()})...", file=sys.stderr, flush=True)
        self._vm = self._boot_guest(spec, self.work_dir / "console.log")
        self.boots += 1
        print(f"kernel {self.line} booted in {self._vm.boot_seconds:.1f} s", file=sys.stderr,
              flush=True)
        builds = BuildCache(self.settings.cache) if self.settings.build_cache else None
        self._runner = ScenarioRunner(self._vm, self.settings.project, self.prepared.config,
                                      self.work_dir, ro, builds, toolchain_digest(root.rootfs))

    def prebuild(self, scenarios: Sequence[Scenario]) -> PrebuildReport | None:
        """Build ahead, on every vCPU, what the planned scenarios of the booted guest's
        userland would build on their turns (lab.guestvm.prebuild), into the build
        cache only; each build is tried ahead at most once per line. None: nothing
        to build ahead. The other userlands' are built ahead when their guest boots.

        A guest that dies or hangs meanwhile is replaced before the next scenario,
        and every scenario builds on its own turn, as without a prebuild."""
        runner, vm = self._runner, self._vm
        if runner is None or vm is None or runner.builds is None or not runner.usable:
            return None
        ours = [s for s in scenarios if self._known(s) and self._flavor is not None
                and self.flavor_of(s).userland == self._flavor.userland]
        jobs = [job for job in planned_jobs(ours, runner.build_inputs, runner.builds, self.line)
                if job.key not in self._tried_ahead]
        if not jobs:
            return None
        self._tried_ahead.update(job.key for job in jobs)
        parallel = vm.cpus
        print(f"kernel {self.line}: building {len(jobs)} tutorial(s) ahead, {parallel} at a "
              f"time: {', '.join(job.name for job in jobs)}", file=sys.stderr, flush=True)
        builder = Prebuilder(vm, self.work_dir, self.settings.project, runner.builds,
                             vm.release, parallel, runner.boot)
        try:
            report = builder.run(jobs)
        except GuestError as error:
            runner.needs_reboot = True
            print(f"kernel {self.line}: building ahead stopped ({visible(str(error)[:300])}); "
                  "each tutorial builds on its own turn, in a new guest",
                  file=sys.stderr, flush=True)
            return None
        print(visible(report.describe(self.line, parallel)), file=sys.stderr, flush=True)
        return report

    def run(self, scenario: Scenario, *, load_program: bool = True) -> Outcome:
        """Run one scenario on a clean guest of its flavor; a line (or flavor) that
        cannot boot fails it at 'boot', an unknown userland at 'preflight'.
        The outcome names the userland and the toolchain its root pins."""
        switched = False
        if self.prepared is None and self.failure is None:
            try:
                self._prepare()
            except LabError as error:
                self._give_up(error)
        if self.prepared is not None:
            try:
                switched = self._switch(self.flavor_of(scenario))
            except LabError as error:
                return Outcome(scenario.name, stage=Stage.PREFLIGHT, message=str(error))
        self.ensure_clean()
        if self.failure is not None or self._runner is None:
            return self._named(self._boot_outcome(scenario))
        if switched and self._planned:
            self.prebuild(self._planned)
        self._narrow()
        return self._named(self._runner.run(scenario, load_program=load_program))

    def _narrow(self) -> None:
        """Once the builds ahead are done, take the guest's extra vCPUs offline
        (LAB_RUN_CPUS): builds ahead on every vCPU, then the tutorials on the cores a
        guest has to itself (lab.schedule measured it against one vCPU throughout).
        Once per boot; a guest that refuses keeps its vCPUs (a slower run, not a
        wrong one)."""
        vm = self._vm
        keep = self.settings.run_cpus or 0
        if vm is None or not keep or keep >= vm.cpus or self._narrowed is vm:
            return
        self._narrowed = vm
        offline = " ".join(f"/sys/devices/system/cpu/cpu{n}/online" for n in range(keep, vm.cpus))
        try:
            result = vm.run(f"(for f in {offline}; do echo 0 > $f || exit 1; done)", 30)
            problem = "" if result.status == 0 else result.output
        except GuestError as error:  # the scenario's own run finds the guest as it is
            problem = str(error)
        if problem:
            print(f"kernel {self.line}: could not take vCPUs offline "
                  f"({visible(problem[:200])}); running on all of them", file=sys.stderr,
                  flush=True)
        else:
            print(f"kernel {self.line}: builds ahead done; {keep} of {vm.cpus} vCPUs left "
                  "online", file=sys.stderr, flush=True)

    def _named(self, outcome: Outcome) -> Outcome:
        """The outcome with the userland its guest ran (and the toolchain it pins)."""
        root = self._roots.get(self._flavor.userland) if self._flavor is not None else None
        if root is not None:
            outcome.userland, outcome.toolchain = root.userland, root.toolchain
        return outcome

    def _boot_outcome(self, scenario: Scenario) -> Outcome:
        """A line that cannot boot: the reason, with the console kept as evidence."""
        evidence = self.work_dir / scenario.name
        evidence.mkdir(parents=True, exist_ok=True)
        (evidence / "console-tail.log").write_text(self.failure_tail)
        return Outcome(scenario.name, stage=Stage.BOOT, message=self.failure or "no guest",
                       console_tail=self.failure_tail, evidence=evidence)

    def _power_off(self) -> None:
        if self._vm is not None:
            self._vm.close()
            self._vm = None

    def close(self) -> None:
        """Power the guest off and give the line's run directory up."""
        try:
            self._power_off()
        finally:
            self._run_dir.release()

    def __enter__(self) -> KernelLab:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

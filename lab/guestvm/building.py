"""The build stage on a scenario's own turn: build in the guest, or reuse a stored
build of the very same inputs (lab.cache.build_cache). A successful build is
stored only if its seal matches its key (lab.guestvm.build_seal); the steps are
the same a build ahead runs (lab.guestvm.build_steps).
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

from lab.cache.build_cache import BuildCache, BuildInputs
from lab.guestvm.build_seal import Boot, Seal, keep_build, private_name
from lab.guestvm.build_steps import (
    STEP_TIMEOUT_S,
    BuildStep,
    build_steps,
    clean_bash,
    step_command,
)
from lab.guestvm.cell import Cell, StageFailed
from lab.guestvm.guest import Guest
from lab.guestvm.vng_command import GUEST_RO_DIR, GUEST_WORK_DIR
from lab.guestvm.workspace import SHARE_DIR

LOG_TAIL_CHARS = 6000
# A long log keeps its start too: a compiler's first error, usually the cause,
# can be thousands of characters before the end (43-kfuncs on 6.1: 13 kB of
# errors that follow from its first).
LOG_HEAD_CHARS = 2000
MESSAGE_TAIL_CHARS = 3000


def log_excerpt(text: str, head: int = LOG_HEAD_CHARS, tail: int = LOG_TAIL_CHARS) -> str:
    """The start and the end of a log, whole lines; what lies between is counted,
    not kept."""
    if len(text) <= head + tail:
        return text
    start = text[:head].rpartition("\n")[0] or text[:head]
    end = text[-tail:].partition("\n")[2] or text[-tail:]
    left_out = len(text) - len(start) - len(end)
    return f"{start}\n[... {left_out} characters left out ...]\n{end}"


class Builder:
    """Builds scenarios in one guest, with the build cache if there is one."""

    def __init__(self, guest: Guest, run_dir: Path, ro_dir: Path, builds: BuildCache | None,
                 boot: Boot) -> None:
        self.guest = guest
        self.run_dir = run_dir
        self.ro_dir = ro_dir
        self.builds = builds
        self.boot = boot

    def build(self, cell: Cell, inputs: BuildInputs) -> str | None:
        """Build the scenario; the key when a stored build was reused instead."""
        scenario, work, key = cell.scenario, cell.work, inputs.key()
        fresh = f"rm -rf {work.guest} && mkdir -p {work.guest} && cd {work.guest}"
        stored = self.builds.lookup(key) if self.builds is not None and scenario.build else None
        if stored is not None:
            self._reuse(cell, stored, key, fresh)
            return key
        vmlinux_h = self.boot.vmlinux_h() if scenario.vmlinux_h is not None else None
        if scenario.vmlinux_h is not None and vmlinux_h is None:
            raise StageFailed("bpftool could not dump the kernel's BTF as vmlinux.h:\n"
                              + self.boot.failure)
        self.guest.check(f"{fresh} && cp -r {work.guest_src}/. .", 60)
        for step in build_steps(scenario):
            self._step(cell, step)
        if self.builds is not None and scenario.build:
            self._store(cell, key, Seal.of(inputs, scenario.vmlinux_h, self.boot.root,
                                           vmlinux_h))
        return None

    def _reuse(self, cell: Cell, stored: Path, key: str, fresh: str) -> None:
        """Unpack the stored build where the scenario builds, saying so in its log."""
        name = cell.scenario.name
        offered = self.ro_dir / "builds" / f"{name}.tar"
        offered.parent.mkdir(exist_ok=True)
        shutil.copyfile(stored, offered)
        self.guest.check(f"{fresh} && tar -xf {GUEST_RO_DIR}/builds/{name}.tar && "
                         f"echo 'lab: reused the stored build {key[:16]} (same sources, "
                         "commands, lab tools, kernel BTF and toolchain)' > "
                         + cell.work.guest_log("build"), 120)

    def _step(self, cell: Cell, step: BuildStep) -> None:
        result = self.guest.run(step_command(step, cell.work.guest_log("build")), STEP_TIMEOUT_S)
        if result.status != 0:
            raise StageFailed(f"build command {step.what} exited {result.status}:\n"
                              + log_excerpt(cell.log(self.guest, "build"), LOG_HEAD_CHARS,
                                            MESSAGE_TAIL_CHARS))

    def _store(self, cell: Cell, key: str, seal: Seal) -> None:
        """The build directory as a tar the guest writes to a name of its own, with
        its seal; the host stores its bytes if the seal matches the key, and says
        in the build log why not otherwise."""
        scenario, work = cell.scenario, cell.work
        archive = f"out/{scenario.name}/{private_name()}"
        script = self.ro_dir / "seals" / f"{archive.rsplit('/', 1)[1]}.sh"
        script.parent.mkdir(exist_ok=True)
        script.write_text(seal.script(f"{GUEST_WORK_DIR}/{archive}"))
        sealed = self.guest.run(
            f"cd {work.guest} && {clean_bash(f'{GUEST_RO_DIR}/seals/{script.name}')}", 120)
        if sealed.status != 0 or self.builds is None:
            return
        why = keep_build(self.builds, self.run_dir / SHARE_DIR, archive, key,
                         {"scenario": scenario.name, "release": self.guest.release,
                          "build_log": log_excerpt(cell.log(self.guest, "build"))},
                         seal, sealed.output)
        if why:
            self.guest.run(f"echo {shlex.quote(why)} >> {work.guest_log('build')}", 30)

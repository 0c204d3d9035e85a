"""The bare side of the benchmark: the vng command line one would write by hand,
and bench/bare_tutorials.sh doing the tutorials' work in one `vng --exec`."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from measured import BareRun, BenchError, Stages, VngRun

from lab.guestvm.guest_files import install_guest_files
from lab.guestvm.session import Prepared
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.workspace import share_dirs
from lab.scenario import Scenario
from lab.settings import Settings

BARE_SCRIPT = Path(__file__).resolve().parent / "bare_tutorials.sh"
BARE_MARKER = "bare-finished"  # touched in the share once the bare command exited 0
# what bare_tutorials.sh writes in the share as it starts, and just before it exits 0
BARE_STARTED, BARE_DONE = "out/times", "out/finished"
WATCH_POLL_S = 0.02
BOOT_TIMEOUT_S = 300.0
TUTORIALS_TIMEOUT_S = 1200.0


@dataclass(frozen=True)
class Bare:
    """A bare run's guest: the package's kernel image, the root, the shares."""

    image: Path
    modules: Path
    release: str
    rootfs: Path
    share: Path  # /lab, read-write
    ro: Path  # /lab/ro, read-only
    accel: str
    cpus: int = 2


def bare_guest(prepared: Prepared, work: Path, cpus: int = 2) -> Bare:
    share, ro = share_dirs(work)
    return Bare(prepared.build.image, prepared.build.modules, prepared.build.release,
                prepared.rootfs, share, ro, prepared.accel.accel, cpus)


def bare_argv(bare: Bare, command: str) -> list[str]:
    """The vng command line one would write by hand: the Debian package's kernel
    image, the root directory, the module tree and the shares the lab uses, the
    lab's CPUs and memory, 9p as vng's --root has it. Written out here, not
    vng_command(): the lab's own boot path and options must not speed up its
    baseline."""
    argv = ["vng", "--run", str(bare.image), "--root", str(bare.rootfs), "--force-9p",
            "--cpus", str(bare.cpus), "--memory", "2G",
            "--rodir", f"/usr/lib/modules/{bare.release}={bare.modules}",
            "--rwdir", f"/lab={bare.share}", "--rodir", f"/lab/ro={bare.ro}"]
    if bare.accel == "tcg":
        argv.append("--disable-kvm")
    return [*argv, "--exec", f"{command} && touch /lab/{BARE_MARKER}"]


def run_vng(bare: Bare, command: str, timeout: float, watch: Sequence[str] = ()) -> VngRun:
    """One `vng --exec`. Without a terminal virtme-ng runs the command on the console,
    shows none of its output and cannot return its status (it exits 255), so the
    command proves it finished by leaving a file in the shared directory: no file,
    no time. Meanwhile a thread notes when the `watch` files appear in the share."""
    marker = bare.share / BARE_MARKER
    marker.unlink(missing_ok=True)
    log = bare.share.parent / "vng.log"  # beside the shares, out of the guest's reach
    seen: dict[str, float] = {}
    stop = threading.Event()
    timed_out: list[bool] = []

    def watcher(started: float, group: int) -> None:
        while not stop.wait(WATCH_POLL_S):
            now = time.monotonic() - started
            for name in watch:
                if name not in seen and (bare.share / name).exists():
                    seen[name] = now
            if now > timeout:
                timed_out.append(True)
                os.killpg(group, signal.SIGKILL)
                return

    with open(log, "w") as out:
        started = time.monotonic()
        process = subprocess.Popen(bare_argv(bare, command), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        thread = threading.Thread(target=watcher, args=(started, process.pid), daemon=True)
        thread.start()
        try:
            process.wait()
        except BaseException:  # Ctrl-C, SIGTERM: no QEMU may outlive us
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        finally:
            total = time.monotonic() - started
            stop.set()
            thread.join()
    output = log.read_text(errors="replace")
    if timed_out:
        raise BenchError(f"bare: `{command}` still ran after {timeout:.0f} s: stopped\n"
                         f"vng's output, last lines:\n{output[-3000:]}")
    if not marker.exists():
        failed = read_untrusted(bare.share, "out/failed").strip()
        raise BenchError(f"bare: `{command}` failed (vng exited {process.returncode})"
                         + (f": {failed}" if failed else ", with no reason written")
                         + f"\nvng's output, last lines:\n{output[-3000:]}")
    return VngRun(total, seen, output)


def bare_boot(prepared: Prepared, work: Path) -> float:
    return run_vng(bare_guest(prepared, work), "true", BOOT_TIMEOUT_S).total


def bare_tutorials(settings: Settings, prepared: Prepared, scenarios: Sequence[Scenario],
                   work: Path, script: Path = BARE_SCRIPT, cpus: int = 2) -> BareRun:
    """The script, the sources and the lab's ecli in the read-only share (not timed:
    a hand-written run has them in place), then one timed `vng --exec`."""
    bare = bare_guest(prepared, work, cpus)
    for scenario in scenarios:
        shutil.copytree(settings.project / scenario.program, bare.ro / "src" / scenario.name)
    shutil.copy(script, bare.ro / "bare_tutorials.sh")
    install_guest_files(bare.ro)
    (bare.share / "out").mkdir()
    names = " ".join(s.name for s in scenarios)
    run = run_vng(bare, f"bash /lab/ro/bare_tutorials.sh {names}", TUTORIALS_TIMEOUT_S,
                  (BARE_STARTED, BARE_DONE))
    uptime, tutorials = parse_bare_times(read_untrusted(bare.share, BARE_STARTED))
    return BareRun(run.total, uptime, run.seen.get(BARE_STARTED), run.seen.get(BARE_DONE),
                   tutorials)


def parse_bare_times(text: str) -> tuple[float | None, list[Stages]]:
    """The script's times file: `guest-uptime U`, then `tutorial stage T` as each
    stage starts and `tutorial end T` after its check (T: $EPOCHREALTIME)."""
    uptime: float | None = None
    marks: dict[str, list[tuple[str, float]]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "guest-uptime":
            uptime = float(words[1].replace(",", "."))
        elif len(words) == 3:
            marks.setdefault(words[0], []).append((words[1], float(words[2].replace(",", "."))))
    tutorials = []
    for name, stamps in marks.items():
        timings = {stage: round(later - at, 2)
                   for (stage, at), (_, later) in zip(stamps, stamps[1:], strict=False)}
        tutorials.append(Stages(name, timings, stamps[-1][1] - stamps[0][1]))
    return uptime, tutorials


def shown_command(argv: Sequence[str], settings: Settings, work: Path) -> str:
    """A command line with the cache and scratch paths named, not spelled out."""
    return (shlex.join(argv).replace(str(settings.cache), "$CACHE")
            .replace(str(work), "$WORK"))

"""Where one scenario's files live on the host and in the guest.

Three places, kept apart so the guest can never redirect a host write:
- the evidence directory (host only): the program as built, the logs, the
  failure text; what the report points at;
- the read-only share (/lab/ro in the guest): the program's sources, written
  by the host, which QEMU exports read-only;
- the read-write share (/lab in the guest): the guest writes its logs to
  /lab/out/<scenario>/; the host only reads them, through lab.guestvm.untrusted,
  and removes what is there with lab.tree_removal (the guest shaped it: a tree
  1,200 levels deep made shutil.rmtree raise RecursionError on every later run).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lab.cache.build_cache import source_digests
from lab.guestvm.share_mount import release_shares
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.vng_command import GUEST_RO_DIR, GUEST_WORK_DIR, RO_MOUNT_POINT
from lab.tree_removal import remove_tree

SHARE_DIR, RO_DIR = ".guest-rw", ".guest-ro"
GUEST_LOGS = ("build", "load", "trace", "drain", "dmesg", "trace-stats", "kmsg",
              "loader-state")


def share_dirs(run_dir: Path) -> tuple[Path, Path]:
    """The read-write and read-only shares of a kernel's run directory, made empty;
    the read-only one is mounted inside the other, on a directory made here. The
    run directory is made 0700: what the guest wrote is no other host user's to
    reach, whatever modes it carries."""
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    rw, ro = run_dir / SHARE_DIR, run_dir / RO_DIR
    release_shares(rw)  # the bound of a guest whose lab was killed before it closed
    for path in (rw, ro):
        remove_tree(path)
    (rw / RO_MOUNT_POINT).mkdir(parents=True)
    ro.mkdir(parents=True)
    return rw, ro


def clear_share(share: Path) -> None:
    """Remove what earlier scenarios left in the read-write share (each kept its
    logs when it ended), so a scenario that filled the share, or shaped a tree in
    it, does not decide the next one's verdict. The read-only share's mount point
    stays."""
    try:
        names = os.listdir(share)
    except FileNotFoundError:
        return
    for name in names:
        if name != RO_MOUNT_POINT:
            remove_tree(share / name)


def stage_sources(run_dir: Path, name: str, program: Path) -> str:
    """Put the program's sources in the read-only share; their path in the guest.
    Sources a copy would not describe by their own bytes (a link out of the
    tutorial's directory, a FIFO) are refused first: SourceError."""
    source_digests(program)
    source = run_dir / RO_DIR / "src" / name
    remove_tree(source)
    shutil.copytree(program, source)
    return f"{GUEST_RO_DIR}/src/{name}"


def guest_build_dir(name: str) -> str:
    """Where a scenario is built and loaded from in the guest (its own turn or ahead:
    the same path, so a stored build is the same whichever made it)."""
    return f"/tmp/lab/{name}"


class Workspace:
    """Host and guest paths of one scenario run."""

    def __init__(self, run_dir: Path, name: str, program: Path) -> None:
        self.name = name
        self.evidence = run_dir / name
        self._share = run_dir / SHARE_DIR
        clear_share(self._share)
        remove_tree(self.evidence)
        self.evidence.mkdir(parents=True)
        self.guest_src = stage_sources(run_dir, name, program)
        shutil.copytree(program, self.evidence / "src")
        self.guest_out = f"{GUEST_WORK_DIR}/out/{name}"
        self.guest = guest_build_dir(name)

    def guest_log(self, log: str) -> str:
        return f"{self.guest_out}/{log}.log"

    def share_log(self, log: str) -> str:
        """Where a log is, relative to the read-write share."""
        return f"out/{self.name}/{log}.log"

    def read(self, log: str) -> str:
        """A log the guest wrote; '' if it wrote none (or planted a link instead)."""
        return read_untrusted(self._share, self.share_log(log))

    def keep_logs(self) -> dict[str, str]:
        """Copy the guest's logs into the evidence directory, which the guest cannot
        reach; returns them, read once."""
        logs = {log: self.read(log) for log in GUEST_LOGS}
        for log, text in logs.items():
            if text:
                (self.evidence / f"{log}.log").write_text(text)
        return logs

    def write(self, name: str, text: str) -> None:
        (self.evidence / name).write_text(text)

"""A bound on what the guest writes: its read-write share is a tmpfs of fixed size.

QEMU writes the share's files on the host, as root, and nothing else limits
them: a guest could fill the disk that holds lab-output. A tmpfs of
LAB_SHARE_LIMIT bytes (and inodes in proportion: an empty file costs memory
too) mounted on the share's directory for the guest's lifetime bounds the
total; past it the guest's writes fail with ENOSPC. Why not the others:
RLIMIT_FSIZE on QEMU bounds each file, not their sum (a guest writes as many
files as it likes), and cuts QEMU's own writes too; a loop filesystem bounds it
on disk but costs a mkfs on every boot and a loop device, which containers
often lack. The tmpfs costs memory only for what the guest wrote, at most the
limit. It is mounted nosuid, nodev, noexec and 0700: a second wall behind the
9p export's mapped security model (lab.guestvm.vng_command), so nothing in it
can run setuid or reach a device even if it got there.

It is unmounted once the guest is gone (GuestVM); what the host keeps, it
copied out before (Workspace.keep_logs). A run killed with SIGKILL leaves its
tmpfs mounted: the next run of the line finds it in /proc/self/mountinfo by its
source name and unmounts it before it empties the run directory.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.errors import LabError
from lab.tree_removal import mounts_below

SOURCE = "lab-guest-share"  # the tmpfs's source name: how the lab knows its own mounts
BYTES_PER_INODE = 8192  # 1 GiB: 131,072 files and directories


def mount_options(limit: int) -> str:
    inodes = max(1024, limit // BYTES_PER_INODE)
    return f"size={limit},nr_inodes={inodes},mode=0700,nosuid,nodev,noexec"


def bound_share(share: Path, limit: int) -> None:
    """Mount a tmpfs of limit bytes on share (an existing directory, whose entries
    it hides)."""
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", mount_options(limit), SOURCE,
                             str(share)], capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise LabError(f"cannot bound the guest's share {share} with a tmpfs of {limit} bytes: "
                       f"{(result.stderr or result.stdout).strip()} (the lab mounts it as "
                       "root; LAB_SHARE_LIMIT=0 runs without the bound)")


def share_mounts(under: Path, mountinfo: str | None = None) -> list[str]:
    """The lab's share tmpfs mounted at or below under, innermost first."""
    found = [mount.point for mount in mounts_below(under, mountinfo)
             if (mount.fstype, mount.source) == ("tmpfs", SOURCE)]
    return found[::-1]  # mountinfo lists a mount after the one it sits on


def release_shares(under: Path) -> None:
    """Unmount every share tmpfs at or below under. Lazily: a QEMU that is still
    exiting may hold files in it, and the mount must be gone from the tree now;
    its memory is freed when the last file closes."""
    for point in share_mounts(under):
        result = subprocess.run(["umount", "--lazy", point], capture_output=True, text=True,
                                check=False, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise LabError(f"cannot unmount the guest's share {point}: "
                           f"{(result.stderr or result.stdout).strip()}")


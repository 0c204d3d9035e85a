"""What a runner does once per boot, before any cell: the lab's tools on the
shell's PATH, and what every build of this boot is keyed and sealed with.

The lab's tools are copied from the read-only share to where python3 can keep
their bytecode (compiled once per boot, not on every run). Not through
PYTHONPYCACHEPREFIX: with it set python3 ignores the root's own bytecode, and
every boot compiled the standard library and bcc again (4 s of the first ecli
run under emulation, more for the first bcc tutorial). Builds do not use this
copy, which any cell can change, but the read-only share's (BUILD_TOOLS).

The guest's /etc/sudoers is the root's own, as on a reader's machine. virtme-ng's
init writes sudoers rules for its own user: its compiled init (the host's
architecture) as a drop-in in /etc/sudoers.d, its shell init (what a foreign
guest runs, arm64 on an x86_64 host) as a file bind-mounted over /etc/sudoers
itself, so a tutorial that reads /etc/sudoers read virtme-ng's on arm64 only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.guestvm.build_seal import boot_state, boot_state_command
from lab.guestvm.guest import Guest
from lab.guestvm.guest_files import install_guest_files
from lab.guestvm.vng_command import GUEST_RO_DIR

GUEST_TOOLS = "/tmp/lab-tools"
GUEST_TOOLS_SETUP = f"rm -rf {GUEST_TOOLS} && cp -r {GUEST_RO_DIR}/bin {GUEST_TOOLS}"
# the root's own /etc/sudoers back, where virtme-ng's shell init mounted its own over it
OWN_SUDOERS = ("if grep -q ' /etc/sudoers ' /proc/self/mountinfo; then umount /etc/sudoers; "
               "fi")


@dataclass(frozen=True)
class BootFacts:
    tools: dict[str, str]  # the lab's guest tools' digests: in every build's key
    kernel_btf: str  # the kernel's BTF sha256: in every build's key
    root: str  # the guest root's state before any cell ran: in every build's seal


def set_up_boot(guest: Guest, ro_dir: Path) -> BootFacts:
    """Install the lab's tools in the read-only share, put them on the shell's PATH
    and read the boot's facts, in one round trip (GuestError if it fails)."""
    tools = install_guest_files(ro_dir)
    output = guest.check(f"{OWN_SUDOERS}; {GUEST_TOOLS_SETUP}; export PATH={GUEST_TOOLS}:$PATH "
                         f"PYTHONUNBUFFERED=1; {boot_state_command()}", 30)
    kernel_btf, root = boot_state(output)
    return BootFacts(tools, kernel_btf, root)

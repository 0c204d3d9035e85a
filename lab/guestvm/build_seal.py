"""A build's seal: what the host checks before it stores a build under its key.

A stored build must be what its key (lab.cache.build_cache) describes, whatever
ran in the guest before it (earlier cells run as root) or beside it (builds
ahead run side by side). A build ends with its seal, in the same command as its
tar: the sha256 of every input where the build used it (its sources, the lab's
tools, the kernel's BTF, its copy of the boot's vmlinux.h), of what changed in
the guest root since boot, and of the tar's bytes as tar wrote them, to a name
of its own. The host stores the tar only when every line is what the key and
the boot name.

The guest root is a read-only squashfs, but virtme-ng lays a writable overlay
(tmpfs, for the boot) over /usr, /lib, /etc, /var and /tmp: a cell can replace
/usr/bin/clang or /etc/alternatives/cc for the rest of the boot. The key's
toolchain digest is the root's dpkg status, so a build is stored only while
those overlays (and the mounts there) are as the boot left them (measured: the
twelve tutorials write nothing there).

Against a root guest set on lying (it can replace sha256sum or the kernel) no
check inside the guest holds; the seal makes a stored build follow from its key
whatever an ordinary earlier cell, or a build beside it, left behind.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

from lab.cache.build_cache import BuildCache, BuildInputs
from lab.guestvm.build_steps import (
    BUILD_TOOLS,
    GUEST_BTF,
    STEP_TIMEOUT_S,
    dump_vmlinux_h_command,
)
from lab.guestvm.guest import Shell
from lab.guestvm.untrusted import read_untrusted_bytes

BUILD_TAR_LIMIT = 256 << 20  # the largest build directory the host stores
MISSING = "missing"  # what a seal prints for an input that is not there
SEAL_LINE = re.compile(rf"^([0-9a-f]{{64}}|{MISSING})(?:  -)?\r?$", re.MULTILINE)
# What changed in the guest root since boot, as one sha256: the mounts at the
# root's program, library and configuration directories, and every entry in
# the upper (written) layer of their overlays.
ROOT_DIRS = r"^\/(usr|etc|lib|lib64|bin|sbin)(\/|$)"
ROOT_STATE = ("{ awk '$2 ~ /" + ROOT_DIRS + "/' /proc/self/mounts; "
              "for upper in $(awk '$2 ~ /" + ROOT_DIRS + "/ && $3 == \"overlay\"' "
              "/proc/self/mounts | grep -o 'upperdir=[^,]*' | cut -d= -f2); do "
              "find \"$upper\" -printf '%P %y %m %s %T@\\n' | LC_ALL=C sort; done; } "
              "| sha256sum")


def boot_state_command() -> str:
    """Print the kernel's BTF sha256, then ROOT_STATE's, one a line (at boot, before
    any cell ran: what each build's seal is compared with)."""
    return f"{{ sha256sum < {GUEST_BTF} || echo {MISSING}; }} 2>/dev/null; {ROOT_STATE}"


def boot_state(output: str) -> tuple[str, str]:
    """The kernel's BTF sha256 and the root's state, from boot_state_command's output."""
    found = SEAL_LINE.findall(output)
    return (found[0], found[1]) if len(found) == 2 else (MISSING, MISSING)


class Boot:
    """What this boot's builds are checked against: the guest root as it booted
    (ROOT_STATE) and this boot's vmlinux.h, dumped fresh the first time a build
    wants it, whose sha256 every build's copy must have."""

    def __init__(self, console: Shell, root: str) -> None:
        self.console = console
        self.root = root
        self._digest: str | None = None
        self.failure = ""  # bpftool's output when the dump failed

    def vmlinux_h(self) -> str | None:
        """The dump's sha256, dumping it first if this boot has not; None if it failed."""
        if self._digest is None:
            result = self.console.run(dump_vmlinux_h_command(), STEP_TIMEOUT_S)
            found = SEAL_LINE.findall(result.output)
            if result.status == 0 and found and found[-1] != MISSING:
                self._digest, self.failure = found[-1], ""
            else:
                self.failure = result.output[-3000:]
        return self._digest


@dataclass(frozen=True)
class Check:
    """One line of a seal: what it checks, where, the command printing its sha256,
    and the sha256 the key (or the boot) names."""

    what: str
    where: str
    command: str
    wanted: str


def file_check(what: str, path: str, wanted: str) -> Check:
    return Check(what, path, f"{{ sha256sum < {shlex.quote(path)} || echo {MISSING}; }} "
                             "2>/dev/null", wanted)


@dataclass(frozen=True)
class Seal:
    """What a build's key says it was made from, each where the build used it."""

    checks: tuple[Check, ...]

    @classmethod
    def of(cls, inputs: BuildInputs, vmlinux_h: str | None, root: str = "",
           vmlinux_h_digest: str | None = None) -> Seal:
        """The sources in the build directory, the tools on the build's PATH, the
        kernel's BTF, the guest root's state (root: as it booted), and the copy of
        the boot's vmlinux.h (if the build has one). The script needs none of the
        boot's digests, only the check does."""
        checks = [file_check(f"source {name}", f"./{name}", digest)
                  for name, digest in sorted(inputs.sources.items())]
        checks += [file_check(f"lab tool {name}", f"{BUILD_TOOLS}/{name}", digest)
                   for name, digest in sorted(inputs.tools.items())]
        checks.append(file_check("the kernel's BTF", GUEST_BTF, inputs.kernel_btf))
        checks.append(Check("the guest root", "what /usr, /lib and /etc hold since boot",
                            ROOT_STATE, root or "no state at boot"))
        if vmlinux_h is not None:
            checks.append(file_check("the boot's vmlinux.h", f"./{vmlinux_h}",
                                     vmlinux_h_digest or "no dump this boot"))
        return cls(tuple(checks))

    def script(self, tar: str) -> str:
        """A bash script to run in the build directory: each input's sha256 (or
        MISSING), one a line, then the directory's tar written to tar and the sha256
        of the bytes tar wrote (not of the file afterwards, which another could
        have replaced). A script, not a command line: a tutorial of many files
        would pass the terminal's 4095-character line."""
        digests = "".join(f"{check.command}\n" for check in self.checks)
        return (f"{digests}set -o pipefail\n"
                f"tar -cf - . | tee -- {shlex.quote(tar)} | sha256sum\n")

    def mismatch(self, printed: str, tar: bytes) -> str:
        """'' when the seal the guest printed names exactly the key's inputs and
        these tar bytes; else what differs."""
        found = SEAL_LINE.findall(printed)
        if len(found) != len(self.checks) + 1:
            return (f"its seal has {len(found)} digest(s), not {len(self.checks) + 1}: "
                    "the build's inputs could not be checked")
        for check, seen in zip(self.checks, found[:-1], strict=True):
            if seen != check.wanted:
                return (f"{check.what} ({check.where}) was {seen[:16]}, not "
                        f"{check.wanted[:16]} as the key and the boot name: something "
                        "changed it")
        if found[-1] != hashlib.sha256(tar).hexdigest():
            return "the tar the host read is not the one the build wrote"
        return ""


def private_name() -> str:
    """A file name another build in the guest cannot guess."""
    return f"build-{secrets.token_hex(16)}.tar"


def keep_build(builds: BuildCache, share: Path, archive: str, key: str,
               about: dict[str, object], seal: Seal, printed: str) -> str:
    """Store the tar the guest wrote at archive in its share (read without following
    links, never unpacked by the host) if the seal it printed matches the key;
    '' when stored, else a line for the build log saying why not."""
    data = read_untrusted_bytes(share, archive, BUILD_TAR_LIMIT)
    if data is None:
        return "lab: the build was not stored: its tar is missing, not a file or too large"
    why = seal.mismatch(printed, data)
    if why:
        return f"lab: the build was not stored: {why}"
    built = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    builds.store(key, data, {**about, "built": built})
    return ""


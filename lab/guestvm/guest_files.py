"""Put the lab's guest-side tools where the guest finds them: /lab/ro/bin
(the runner copies them to the guest's /tmp, where python3 can keep their bytecode).

The guest root is shared by every run and stays untouched; the tools travel in
the per-run directory shared read-only at /lab/ro instead, so a changed
loader needs no root rebuild, and the guest cannot replace what the host wrote.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

# The stand-ins for the tutorials' ecli and ecc, and the modules they import.
MODULES = ("ecli.py", "ecli_format.py", "ecli_sample.py", "ecli_package.py", "ecli_attach.py",
           "ecc.py")
COMMANDS = ("ecli", "ecc")
WRAPPER = '#!/bin/sh\nexec python3 "$(dirname "$0")/{name}.py" "$@"\n'


def guest_files() -> dict[str, bytes]:
    """Every file of the lab's guest tools, by its name in /lab/ro/bin."""
    files = {module: (resources.files("lab.in_guest") / module).read_bytes() for module in MODULES}
    return files | {name: WRAPPER.format(name=name).encode() for name in COMMANDS}


def install_guest_files(ro_dir: Path) -> dict[str, str]:
    """Write the tools to ro_dir/bin; the sha256 of each, by name (a build's key
    names the tools it could run)."""
    bin_dir = ro_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name, data in guest_files().items():
        (bin_dir / name).write_bytes(data)
        (bin_dir / name).chmod(0o755 if name in COMMANDS else 0o644)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests

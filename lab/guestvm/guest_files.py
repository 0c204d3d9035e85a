"""Put the lab's guest-side tools where the guest finds them: /lab/ro/bin
(the runner copies them to the guest's /tmp, where python3 can keep their bytecode).

The guest root is shared by every run and stays untouched; the tools travel in
the per-run directory shared read-only at /lab/ro instead, so a changed
loader needs no root rebuild, and the guest cannot replace what the host wrote.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

# The stand-ins for the tutorials' ecli and ecc, and the module ecli imports.
MODULES = ("ecli.py", "ecli_format.py", "ecc.py")
COMMANDS = ("ecli", "ecc")
WRAPPER = '#!/bin/sh\nexec python3 "$(dirname "$0")/{name}.py" "$@"\n'


def install_guest_files(ro_dir: Path) -> None:
    bin_dir = ro_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for module in MODULES:
        with resources.as_file(resources.files("lab.guest") / module) as path:
            shutil.copyfile(path, bin_dir / module)
    for name in COMMANDS:
        wrapper = bin_dir / name
        wrapper.write_text(WRAPPER.format(name=name))
        wrapper.chmod(0o755)

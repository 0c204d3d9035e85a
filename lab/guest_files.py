"""Put the lab's guest-side tools where the guest finds them: /lab/ro/bin.

The guest root is shared by every run and stays untouched; the tools travel in
the per-run directory shared read-only at /lab/ro instead, so a changed
loader needs no root rebuild, and the guest cannot replace what the host wrote.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

ECLI_WRAPPER = '#!/bin/sh\nexec python3 "$(dirname "$0")/ecli.py" "$@"\n'


def install_guest_files(ro_dir: Path) -> None:
    bin_dir = ro_dir / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    source = resources.files("lab.guest") / "ecli.py"
    with resources.as_file(source) as path:
        shutil.copyfile(path, bin_dir / "ecli.py")
    wrapper = bin_dir / "ecli"
    wrapper.write_text(ECLI_WRAPPER)
    wrapper.chmod(0o755)

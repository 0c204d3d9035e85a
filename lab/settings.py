"""Where the lab keeps things, read once from the environment.

Every location can be overridden by a variable so CI can point the cache at a
restored directory and authors can keep several caches apart.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError

PROJECT_MARKER = Path("vm") / "kernels.toml"
ACCEL_CHOICES = ("auto", "kvm", "tcg")
# What a guest may write into its share (lab.guestvm.share_mount): the logs, the
# build tars (at most 256 MiB each) and what a tutorial leaves, with room to spare.
DEFAULT_SHARE_LIMIT = 1 << 30
MIN_SHARE_LIMIT = 16 << 20
DEFAULT_GUEST_CPUS = 2  # builds ahead run one per vCPU (lab.guestvm.prebuild)
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above start that holds vm/kernels.toml."""
    for candidate in (start, *start.parents):
        if (candidate / PROJECT_MARKER).is_file():
            return candidate
    raise LabError(
        f"no ebpf-lab project found at or above {start} (looked for {PROJECT_MARKER}); "
        "run the lab from a checkout of the repository or set LAB_PROJECT_DIR"
    )


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """$LAB_CACHE_DIR, else $XDG_CACHE_HOME/ebpf-lab, else ~/.cache/ebpf-lab. A relative
    XDG_CACHE_HOME is ignored, as the XDG Base Directory spec says."""
    if environ.get("LAB_CACHE_DIR"):
        return parse_directory("LAB_CACHE_DIR", environ["LAB_CACHE_DIR"])
    xdg = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(xdg):
        xdg = str(Path(environ.get("HOME", "~")).expanduser() / ".cache")
    return parse_directory("the cache directory", str(Path(xdg) / "ebpf-lab"))


def parse_directory(name: str, value: str) -> Path:
    """A directory the lab writes and deletes in (LAB_OUTPUT_DIR, LAB_CACHE_DIR),
    made absolute once: a relative one would mean another place in a process that
    runs elsewhere (`lab matrix` runs its pytest children in the project). Not the
    filesystem's root, and not an existing file."""
    path = Path(os.path.abspath(Path(value).expanduser()))
    if path == Path(path.anchor):
        raise LabError(f"{name}={value!r}: the lab would write (and remove) its runs and "
                       "reports at the filesystem's root; name a directory of its own")
    if path.exists() and not path.is_dir():
        raise LabError(f"{name}={value!r}: {path} exists and is not a directory")
    return path


def parse_accel(value: str) -> str:
    """Validate LAB_ACCEL (auto, kvm or tcg)."""
    choice = value.strip().lower() or "auto"
    if choice not in ACCEL_CHOICES:
        raise LabError(f"LAB_ACCEL={value!r} is not one of {', '.join(ACCEL_CHOICES)}")
    return choice


def parse_guest_append(value: str) -> tuple[str, ...]:
    """LAB_GUEST_APPEND: kernel arguments added to every guest's command line, split
    as a shell would. It lets the fault tests make a boot fail (say
    `console=ttyS0 rdinit=/nonexistent root=mtd0`) without touching the kernel cache."""
    try:
        return tuple(shlex.split(value))
    except ValueError as error:
        raise LabError(f"LAB_GUEST_APPEND={value!r}: {error}") from error


def parse_share_limit(value: str) -> int:
    """LAB_SHARE_LIMIT: bytes, or with K, M or G (powers of 1024); 0: no bound."""
    text = value.strip().upper().removesuffix("IB").removesuffix("B")
    unit = text[-1:] if text[-1:] in SIZE_UNITS else ""
    number = text[: len(text) - len(unit)].strip()
    if not number.isdigit():
        raise LabError(f"LAB_SHARE_LIMIT={value!r}: say a size such as 1G, 512M or "
                       f"{DEFAULT_SHARE_LIMIT} (bytes), or 0 for no bound")
    limit = int(number) * SIZE_UNITS[unit]
    if 0 < limit < MIN_SHARE_LIMIT:
        raise LabError(f"LAB_SHARE_LIMIT={value!r} is {limit} bytes: under "
                       f"{MIN_SHARE_LIMIT >> 20}M a tutorial's logs and build do not fit; "
                       "say 0 for no bound")
    return limit


MAX_GUEST_CPUS = 64


def parse_cpus(name: str, value: str, least: int = 1) -> int | None:
    """LAB_GUEST_CPUS / LAB_RUN_CPUS: a count of vCPUs, least to MAX_GUEST_CPUS
    (LAB_RUN_CPUS=0: keep them all); empty: None, the lab chooses."""
    text = value.strip()
    if not text:
        return None
    if not text.isdigit() or not least <= int(text) <= MAX_GUEST_CPUS:
        raise LabError(f"{name}={value!r}: say a number of vCPUs from {least} to "
                       f"{MAX_GUEST_CPUS}")
    return int(text)


def parse_switch(name: str, value: str) -> bool:
    """A yes/no variable: 1/yes/on/true or 0/no/off/false."""
    choice = value.strip().lower()
    if choice in ("1", "yes", "on", "true"):
        return True
    if choice in ("0", "no", "off", "false"):
        return False
    raise LabError(f"{name}={value!r}: say 1 or 0")


@dataclass(frozen=True)
class Settings:
    """Resolved locations and choices for one lab run."""

    project: Path
    cache: Path
    output: Path
    accel: str
    guest_append: tuple[str, ...] = ()
    build_cache: bool = True  # LAB_BUILD_CACHE=0: build every tutorial, reuse nothing
    share_limit: int = DEFAULT_SHARE_LIMIT  # LAB_SHARE_LIMIT: bytes the guest may write; 0: any
    # LAB_GUEST_CPUS: the vCPUs a guest boots with; None: unset (DEFAULT_GUEST_CPUS,
    # unless `lab matrix` runs guests side by side: lab.schedule)
    guest_cpus: int | None = None
    # LAB_RUN_CPUS: vCPUs left online once builds ahead are done; 0: all; None: unset
    # (all of them, unless `lab matrix` schedules fewer: lab.schedule)
    run_cpus: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, cwd: Path | None = None) -> Settings:
        start = Path(environ["LAB_PROJECT_DIR"]) if environ.get("LAB_PROJECT_DIR") else cwd
        project = find_project_root((start or Path.cwd()).resolve())
        output = parse_directory("LAB_OUTPUT_DIR",
                                 environ.get("LAB_OUTPUT_DIR") or str(project / "lab-output"))
        return cls(
            project=project,
            cache=default_cache_dir(environ),
            output=output,
            accel=parse_accel(environ.get("LAB_ACCEL", "auto")),
            guest_append=parse_guest_append(environ.get("LAB_GUEST_APPEND", "")),
            build_cache=parse_switch("LAB_BUILD_CACHE", environ.get("LAB_BUILD_CACHE", "1")),
            share_limit=parse_share_limit(environ.get("LAB_SHARE_LIMIT") or "1G"),
            guest_cpus=parse_cpus("LAB_GUEST_CPUS", environ.get("LAB_GUEST_CPUS", "")),
            run_cpus=parse_cpus("LAB_RUN_CPUS", environ.get("LAB_RUN_CPUS", ""), least=0),
        )

    @property
    def scenarios_dir(self) -> Path:
        return self.project / "scenarios"

    @property
    def programs_dir(self) -> Path:
        return self.project / "bpf"

    @property
    def catalog_file(self) -> Path:
        return self.project / "vm" / "kernels.toml"

    @property
    def lock_file(self) -> Path:
        return self.project / "vm" / "kernels.lock"

    @property
    def recipe_file(self) -> Path:
        return self.project / "vm" / "rootfs.toml"

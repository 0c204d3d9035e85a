"""Processes a test run left behind: found by a path in their command line.

The fault tests and the benchmark's tests give each run a directory of its own,
and every process of that run (pytest, vng, virtme-run, QEMU) names it, so a
search of /proc for that path finds what outlived the run, and nothing else.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def processes_naming(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def kill_processes_naming(text: str) -> list[tuple[int, str]]:
    """SIGKILL every process whose command line contains `text`; the ones found."""
    found = processes_naming(text)
    for pid, _ in found:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return found

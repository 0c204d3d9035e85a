"""A local bash under pexpect that stands in for the guest's shell in unit tests."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pexpect


def _default_sigint() -> None:
    """A job started with `&` by a non-interactive shell ignores SIGINT, and its
    children inherit that: a bash started from it would take no Ctrl-C at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def local_bash(path_first: Path, cwd: Path | None = None) -> pexpect.spawn:
    """An interactive bash with path_first ahead on PATH (stubs such as a quiet
    dmesg), at its first prompt, with pexpect's delays cut for speed."""
    shell = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], encoding="utf-8", timeout=10,
        cwd=str(cwd) if cwd else None, preexec_fn=_default_sigint,
        env={"PS1": "$ ", "PATH": f"{path_first}{os.pathsep}{os.environ['PATH']}",
             "TERM": "dumb"})
    shell.delaybeforesend = None  # SETUP turns echo off before any command is typed
    shell.ptyproc.delayafterclose = 0.0
    shell.ptyproc.delayafterterminate = 0.01
    shell.expect(r"\$ ", timeout=10)
    return shell

"""Run a builder that mounts things so that none of its mounts can outlive it.

mmdebstrap in root mode mounts proc, sysfs and devpts into the root it builds,
and binds the host's /dev/shm there, for the whole install. Run as it is, those
mounts are the host's: a builder killed before its clean-up leaves them live
under the cache, and whatever then removes the staging tree deletes host files
through them. So the builder runs:

- in a mount namespace of its own (`unshare --mount --propagation private`,
  util-linux): its mounts are never seen by the host, nor propagated back to it,
  and they all go when its last process ends, however it ends. In a chroot the
  root is no mount point and its propagation cannot be changed (unshare fails
  with EINVAL): there the namespace keeps the propagation it has, which the lab
  says; on a shared mount a killed builder's mounts may then stay visible to the
  host, and the lab's removal unmounts them before it deletes anything
  (lab.cache.cache_lock.remove_leftover);
- in a process group of its own, which is told SIGTERM when the lab is
  interrupted: mmdebstrap's worker unmounts on SIGINT, SIGHUP, SIGPIPE and
  SIGTERM (its cleanup handler), but only the worker, not the main process,
  acts on it, and its apt and dpkg children end on it too. The lab waits for
  that clean-up (seconds) before it goes on; only a builder still running after
  CLEANUP_SECONDS is killed. Python's own subprocess.run would SIGKILL the
  builder 0.25 s after a KeyboardInterrupt, before any clean-up.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

UNSHARE = ("unshare", "--mount", "--propagation", "private")
UNSHARE_IN_A_CHROOT = ("unshare", "--mount", "--propagation", "unchanged")
CLEANUP_SECONDS = 60.0
# Signals that end the lab at once when nobody handles them (the `lab` command
# outside pytest): while a builder runs they raise KeyboardInterrupt instead, so
# the builder is stopped and waited for rather than left running on its own.
UNHANDLED_STOPS = (signal.SIGTERM, signal.SIGHUP)


def in_own_mount_namespace(command: Sequence[str]) -> list[str]:
    """command, run in a mount namespace of its own: private where it can be."""
    return [*unshare_prefix(), *command]


@functools.cache
def unshare_prefix() -> tuple[str, ...]:
    """UNSHARE where the root's propagation can be made private (tried once)."""
    probe = subprocess.run([*UNSHARE, "true"], capture_output=True, text=True, check=False,
                           stdin=subprocess.DEVNULL)
    if probe.returncode == 0:
        return UNSHARE
    print(f"the builder's mount namespace cannot be made private here "
          f"({probe.stderr.strip() or f'exit {probe.returncode}'}; a chroot?): it keeps "
          "the propagation it has, and what it leaves mounted is unmounted before removal",
          file=sys.stderr, flush=True)
    return UNSHARE_IN_A_CHROOT


def run_builder(command: Sequence[str], cleanup_seconds: float = CLEANUP_SECONDS) -> int:
    """Run command in its own mount namespace and process group, its output on our
    stderr; its exit status. Interrupted, it is told SIGTERM and waited for."""
    with _stops_raise():
        child = subprocess.Popen(in_own_mount_namespace(command), stdout=sys.stderr,
                                 stderr=sys.stderr, start_new_session=True)
        try:
            return child.wait()
        except BaseException:
            stop(child, cleanup_seconds)
            raise


def stop(child: subprocess.Popen[bytes], cleanup_seconds: float) -> None:
    """SIGTERM to the builder's group, then wait for it to clean up; SIGKILL after
    cleanup_seconds. Further interrupts while waiting only wait on."""
    if child.poll() is not None:
        return
    print(f"stopping the builder (pid {child.pid}): waiting up to {cleanup_seconds:.0f} s "
          "for it to unmount and exit", file=sys.stderr, flush=True)
    _signal_group(child, signal.SIGTERM)
    while True:
        try:
            child.wait(timeout=cleanup_seconds)
            return
        except subprocess.TimeoutExpired:
            _signal_group(child, signal.SIGKILL)
            child.wait()
            return
        except KeyboardInterrupt:
            continue


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    """The group is the child's own (start_new_session); nothing else is in it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


@contextlib.contextmanager
def _stops_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt where nobody handles them (a
    handler already set, such as the pytest plugin's, is left as it is)."""
    replaced: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for signum in UNHANDLED_STOPS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                signal.signal(signum, _interrupt)
                replaced.append(signum)
    try:
        yield
    finally:
        for signum in replaced:
            signal.signal(signum, signal.SIG_DFL)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")

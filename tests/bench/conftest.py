"""tests/bench: bench/benchmark.py kept from rotting.

The tests marked `boots` run the benchmark for real (its quick mode, a broken
bare script) and need --kernel, as tests/vm and tests/faults do (`tox -e bench`
passes --kernel 6.1); the others check its logic and its bare script with no VM.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from leftover_processes import kill_processes_naming

from lab.pytest_plugin.hooks import KERNELS

PROJECT = Path(__file__).resolve().parents[2]
BENCHMARK = PROJECT / "bench" / "benchmark.py"
# bench/ is scripts, not a package: `python bench/benchmark.py` finds its modules
# (lab_side.py, bare_side.py, ...) beside it, and so do the tests.
sys.path.insert(0, str(BENCHMARK.parent))
STOP_S = 25.0  # a stopped benchmark powers its guest off and kills its vng (tox waits 30 s)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "boots: boots guests; needs --kernel")


@pytest.hookimpl(trylast=True)  # after -m has deselected what it will
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without --kernel a test that boots would have no line: say so, as tests/vm does."""
    booting = [item for item in items if item.get_closest_marker("boots")]
    if booting and not config.stash.get(KERNELS, []):
        raise pytest.UsageError(f"{booting[0].nodeid} boots guests: pass --kernel LINE "
                                "(e.g. --kernel 6.1), or run tests/bench -m 'not boots'")


@pytest.fixture(scope="session")
def bench_module() -> ModuleType:
    """bench/benchmark.py, imported as its modules import each other: from bench/."""
    return importlib.import_module("benchmark")


@pytest.fixture
def kernel_line(pytestconfig: pytest.Config) -> str:
    line: str = pytestconfig.stash[KERNELS][0]
    return line


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_benchmark(args: Sequence[str], work: Path, timeout: float) -> Finished:
    """`python bench/benchmark.py ARGS --work WORK` in its own session. Stopped with
    SIGTERM on a timeout or an interrupt (it then powers its guests off); whatever
    still names WORK afterwards (QEMU, vng) is killed and fails the test."""
    command = [sys.executable, str(BENCHMARK), *args, "--work", str(work)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=PROJECT, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        raise
    finally:
        leftovers = kill_processes_naming(str(work))
    assert not leftovers, f"processes left behind: {leftovers}"
    return Finished(process.returncode, stdout, stderr, time.monotonic() - started)


@pytest.fixture
def run_bench() -> Callable[[Sequence[str], Path, float], Finished]:
    """run_benchmark, for the tests that boot."""
    return run_benchmark

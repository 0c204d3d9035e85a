"""Fixtures: thin wiring around lab.guestvm.session.KernelLab, one per kernel per session."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from lab.errors import LabError
from lab.guest_text import visible
from lab.guestvm.session import KernelLab
from lab.pytest_plugin.hooks import LOCKED, SETTINGS, SUMMARY
from lab.scenario import Scenario
from lab.settings import Settings


@pytest.fixture(scope="session")
def lab_settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[SETTINGS]


@pytest.fixture(scope="session")
def lab_kernel(request: pytest.FixtureRequest, lab_settings: Settings) -> Iterator[KernelLab]:
    """The kernel line named by the test's parameter, booted; shared by its tests.

    A line that cannot be prepared or booted is not a setup error: each of its
    tests gets an outcome at stage `boot` with the reason and the console tail,
    so the line still has its column in the report. Once booted, the line builds
    ahead what the selected tests' tutorials would build on their turns and the
    build cache lacks (KernelLab.prebuild). Preparing (downloads, root build,
    boot, builds ahead) prints progress live: pytest's capture is suspended for
    it, since it can take minutes on a cold cache. A line whose run directory
    another run holds stops the session: its cells would be that run's too.
    """
    line: str = request.param
    summary = request.config.stash[SUMMARY]
    try:
        lab = KernelLab(lab_settings, request.config.stash[LOCKED][line],
                        scenarios=planned_scenarios(request.session.items, line))
    except LabError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        capture = request.config.pluginmanager.getplugin("capturemanager")
        with capture.global_and_fixture_disabled():
            lab.start()  # boot and build now, so the first test's time is its own
            lab.prebuild(planned_scenarios(request.session.items, line))
        summary.append(describe_line(lab))
        yield lab
    finally:
        boots = lab.boots
        lab.close()  # also after Ctrl-C or SIGTERM in start(): no QEMU outlives the run
        summary.append(f"kernel {line}: {boots} boot(s), guest powered off")


def planned_scenarios(items: Sequence[pytest.Item], line: str) -> list[Scenario]:
    """The scenarios the selected tests will run on this line, in test order."""
    found: list[Scenario] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        scenario = params.get("lab_scenario")
        if params.get("lab_kernel") == line and isinstance(scenario, Scenario) \
                and not scenario.not_runnable:  # judged without a guest
            found.append(scenario)
    return found


def describe_line(lab: KernelLab) -> str:
    """The summary line of a kernel: what was booted and how, or why it could not be
    (the guest's console may be in that reason: made visible)."""
    prepared = lab.prepared
    if prepared is None:
        return visible(f"kernel {lab.line}: not prepared: {lab.failure}")
    kernel, accel = prepared.kernel, prepared.accel
    text = (f"kernel {lab.line}: {kernel.package} {kernel.version}, "
            f"acceleration {accel.accel} ({accel.reason})")
    return text if lab.failure is None else visible(f"{text}; not booted: {lab.failure}")

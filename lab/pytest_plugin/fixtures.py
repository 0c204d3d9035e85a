"""Fixtures: thin wiring around lab.session.KernelLab, one per kernel per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.errors import LabError
from lab.pytest_plugin.hooks import SETTINGS, SUMMARY
from lab.session import KernelLab
from lab.settings import Settings


@pytest.fixture(scope="session")
def lab_settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[SETTINGS]


@pytest.fixture(scope="session")
def lab_kernel(request: pytest.FixtureRequest, lab_settings: Settings) -> Iterator[KernelLab]:
    """The booted kernel line named by the test's parameter; shared by its tests.

    Preparing (downloads, root build, boot) prints progress live: pytest's
    capture is suspended for it, since it can take minutes on a cold cache.
    """
    line: str = request.param
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        try:
            lab = KernelLab(lab_settings, line)
            lab.vm  # noqa: B018  (boot now, so the first test's time is its own)
        except LabError as error:
            pytest.fail(f"kernel {line} could not be prepared or booted: {error}", pytrace=False)
    request.config.stash[SUMMARY].append(
        f"kernel {line}: {lab.prepared.kernel.package} {lab.prepared.kernel.version}, "
        f"acceleration {lab.accel.accel} ({lab.accel.reason})")
    try:
        yield lab
    finally:
        boots = lab.boots
        lab.close()
        request.config.stash[SUMMARY].append(f"kernel {line}: {boots} boot(s), guest powered off")

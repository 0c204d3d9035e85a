"""Tests for the ebpf-lab pytest plugin's --kernel handling and collection, run in
a pytest subprocess; nothing is booted (collection only, or usage errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

PROJECT = Path(__file__).resolve().parents[2]
SCENARIOS = ["bashreadline", "kprobe-link", "minimal", "strlen-snoop", "uprobe-simple"]
TEST_FILE = """
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
"""


@pytest.fixture
def project_test(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("LAB_PROJECT_DIR", str(PROJECT))
    monkeypatch.setenv("LAB_CACHE_DIR", str(pytester.path / "cache"))
    monkeypatch.delenv("LAB_ACCEL", raising=False)
    pytester.makepyfile(test_x=TEST_FILE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--rootdir", str(pytester.path), "-p", "no:cacheprovider",
                                         *args)


def test_without_kernel_a_lab_test_is_a_usage_error_naming_the_option(
        project_test: pytest.Pytester) -> None:
    result = run(project_test, "--collect-only", "-q")
    output = result.stdout.str() + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_x.py::test_x boots guests: pass --kernel LINE (e.g. --kernel 6.1)" in output
    assert "[6.1-" not in result.stdout.str(), "nothing is parametrized by a kernel"


def test_unknown_kernel_line_is_a_usage_error_naming_it(project_test: pytest.Pytester) -> None:
    result = run(project_test, "--kernel", "9.99", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--kernel 9.99: not in the catalog (known: " in result.stderr.str()


def test_kernel_61_collects_one_test_per_scenario(project_test: pytest.Pytester) -> None:
    result = run(project_test, "--kernel", "6.1", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    collected = [line for line in result.stdout.lines if line.startswith("test_x.py::")]
    assert collected == [f"test_x.py::test_x[6.1-{name}]" for name in SCENARIOS]
    assert not (project_test.path / "cache").exists(), "collection prepares no kernel"


def test_lab_scenarios_marker_narrows_collection(project_test: pytest.Pytester) -> None:
    project_test.makepyfile(test_x="""
import pytest

@pytest.mark.lab_scenarios("minimal", "kprobe-link")
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
""")
    # in-process (the plugin is the installed entry point there too): saves a pytest start
    result = project_test.runpytest_inprocess("--kernel", "6.1", "--collect-only", "-q")
    collected = [line for line in result.stdout.lines if line.startswith("test_x.py::")]
    assert collected == ["test_x.py::test_x[6.1-kprobe-link]", "test_x.py::test_x[6.1-minimal]"]

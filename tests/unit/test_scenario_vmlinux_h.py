"""Tests for the `[build] vmlinux_h` key of lab.scenario: where the lab puts the
running kernel's vmlinux.h (made once per boot) before the build commands run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_scenario import CATALOG_LINES, PROJECT, SCENARIOS_DIR, WHERE, refused, scenario_dict

from lab.scenario import BUILD_KEYS, load_scenarios, parse_scenario

INCLUDES_VMLINUX_H = re.compile(r'^\s*#\s*include\s*[<"]vmlinux\.h[>"]', re.MULTILINE)


def with_vmlinux_h(value: object) -> dict[str, Any]:
    return scenario_dict(build={"commands": ["make"], "vmlinux_h": value})


def test_vmlinux_h_is_a_build_key() -> None:
    assert "vmlinux_h" in BUILD_KEYS


def test_without_the_key_the_lab_puts_no_vmlinux_h() -> None:
    assert parse_scenario(scenario_dict(), WHERE).vmlinux_h is None


@pytest.mark.parametrize("path", ["vmlinux.h", ".output/vmlinux.h", "src/include/vmlinux.h",
                                  "./vmlinux.h"])
def test_a_relative_path_in_the_build_directory_is_kept(path: str) -> None:
    scenario = parse_scenario(with_vmlinux_h(path), WHERE)
    assert scenario.vmlinux_h == path
    assert scenario.build == ("make",)


@pytest.mark.parametrize("value", [
    "/tmp/vmlinux.h", "/vmlinux.h", "../vmlinux.h", "src/../../vmlinux.h", "a/..", "..",
    "", ".", 3, True, ["vmlinux.h"], {"path": "vmlinux.h"},
])
def test_a_path_outside_the_build_directory_or_not_a_string_is_refused(value: object) -> None:
    message = refused(with_vmlinux_h(value))
    assert message.startswith(f"{WHERE} [build]: `vmlinux_h` must be a relative path inside "
                              "the project (no leading '/', no '..'), not ")


# --- the shipped scenarios -------------------------------------------------------

def includes_vmlinux_h(program: Path) -> bool:
    """Whether a C source or header of the tutorial includes vmlinux.h."""
    return any(INCLUDES_VMLINUX_H.search(path.read_text(errors="replace"))
               for path in program.rglob("*") if path.suffix in (".c", ".h") and path.is_file())


def test_every_shipped_scenario_needing_vmlinux_h_lets_the_lab_make_it() -> None:
    scenarios = load_scenarios(SCENARIOS_DIR, CATALOG_LINES)
    needing = {s.name for s in scenarios if includes_vmlinux_h(PROJECT / s.program)}
    declaring = {s.name for s in scenarios if s.vmlinux_h is not None}
    assert len(needing) >= 5, "the check found too few tutorials using vmlinux.h to mean much"
    assert needing <= declaring, f"include vmlinux.h but declare no vmlinux_h: " \
                                 f"{sorted(needing - declaring)}"
    assert declaring <= needing, f"declare vmlinux_h but include no vmlinux.h: " \
                                 f"{sorted(declaring - needing)}"
    for scenario in scenarios:
        assert scenario.vmlinux_h is None or Path(scenario.vmlinux_h).name == "vmlinux.h", \
            f"{scenario.name}: vmlinux_h names {scenario.vmlinux_h}"
        dumping = [c for c in scenario.build if re.search(r"btf\s+dump", c)]
        assert not dumping, f"{scenario.name} dumps vmlinux.h itself: {dumping}"

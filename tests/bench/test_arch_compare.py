"""bench/arch_compare.py's report, with no VM: both sides' medians and their ratio,
each tutorial's verdict per architecture, and its place between its markers."""

from __future__ import annotations

from pathlib import Path

import arch_compare
import measured

from lab.verdicts.verdict import Cell


def a_run(total: float, minimal: float, uptime: float) -> measured.LabRun:
    boot = measured.LabBoot(total=0.0, to_shell=uptime + 1, uptime=uptime, probe=0.1,
                            poweroff=0.0)
    stages = [measured.Stages("minimal", {"load": minimal}, minimal)]
    return measured.LabRun(total, 0.2, uptime + 2, boot, stages, 0.3)


def test_the_report_gives_each_sides_median_and_arm64_over_x86_64() -> None:
    runs = {"6.1": [a_run(50.0, 5.0, 5.5), a_run(54.0, 6.0, 5.6), a_run(52.0, 5.5, 5.4)],
            "6.1-arm64": [a_run(130.0, 20.0, 17.0), a_run(126.0, 22.0, 16.0),
                          a_run(140.0, 21.0, 18.0)]}
    cells = {"6.1": [Cell("6.1", "minimal", "pass", "", "expect")],
             "6.1-arm64": [Cell("6.1-arm64", "minimal", "pass", "", "expect", arch="arm64")]}
    scenario = type("S", (), {"name": "minimal"})()
    text = arch_compare.render(runs, cells, [scenario], "python bench/arch_compare.py", "tcg")

    assert "| 52.0 s | 50.0-54.0 | 130.0 s | 126.0-140.0 | **2.50** |" in text
    assert "| `minimal` | pass | 5.5 s | pass | 21.0 s |" in text
    assert "6.1 5.5 s, 6.1-arm64 17.0 s" in text


def test_the_report_replaces_its_own_region_and_keeps_the_prose(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# B\n\nprose before\n")
    arch_compare.write(out, f"{arch_compare.BEGIN}\nfirst\n{arch_compare.END}\n")
    out.write_text(out.read_text() + "\nprose after\n")
    arch_compare.write(out, f"{arch_compare.BEGIN}\nsecond\n{arch_compare.END}\n")
    text = out.read_text()
    assert "prose before" in text and "prose after" in text
    assert "second" in text and "first" not in text
    assert text.count(arch_compare.BEGIN) == 1

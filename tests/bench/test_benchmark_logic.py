"""bench/benchmark.py's logic and its bare script, with no VM: the bare run counts
only when its script proved success, the report keeps its prose and shows its
numbers, and the script does what the scenarios say."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import textwrap
from pathlib import Path
from types import ModuleType

import bare_side
import lab_side
import measured
import pytest
import report_cells
import report_markdown
from conftest import PROJECT
from leftover_processes import processes_naming

from lab.guestvm.session import KernelLab
from lab.scenario import load_scenarios
from lab.settings import Settings

SCRIPT = PROJECT / "bench" / "bare_tutorials.sh"

# Stands in for vng: finds the /lab share among its arguments and plays the guest.
FAKE_VNG = textwrap.dedent("""\
    #!/bin/sh
    while [ $# -gt 0 ]; do
        case $1 in --rwdir) share=${2#/lab=}; shift ;; esac
        shift
    done
    echo "guest-uptime 3.50" > "$share/out/times"
    case $FAKE_VNG in
        ok) sleep 0.3; : > "$share/out/finished"; sleep 0.2; touch "$share/bare-finished" ;;
        check) echo "bare: FAILED: minimal: no line matching 'PID 42'" > "$share/out/failed" ;;
        hang) sleep 60 ;;
    esac
    exit 255  # what vng --exec returns without a terminal, success or not
""")


@pytest.fixture
def fake_vng(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "vng").write_text(FAKE_VNG)
    (bin_dir / "vng").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    share, ro = tmp_path / "work" / ".guest-rw", tmp_path / "work" / ".guest-ro"
    (share / "out").mkdir(parents=True)
    ro.mkdir()
    return bare_side.Bare(Path("/vmlinuz"), Path("/modules"), "6.1.0-test", Path("/root"),
                          share, ro, "tcg")


def test_a_bare_run_that_proved_success_is_timed(fake_vng: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VNG", "ok")
    run = bare_side.run_vng(fake_vng, "bash /lab/ro/bare_tutorials.sh minimal", 30,
                               (bare_side.BARE_STARTED, bare_side.BARE_DONE))
    started, finished = (run.seen[bare_side.BARE_STARTED], run.seen[bare_side.BARE_DONE])
    assert 0 < started < finished <= run.total


def test_a_failed_bare_check_stops_the_benchmark(fake_vng: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """vng exits 255 either way: without the script's file there is no time, and the
    reason the script wrote is shown."""
    monkeypatch.setenv("FAKE_VNG", "check")
    with pytest.raises(SystemExit, match=r"bare: .* failed .*no line matching 'PID 42'"):
        bare_side.run_vng(fake_vng, "bash /lab/ro/bare_tutorials.sh minimal", 30)


def test_a_bare_run_that_hangs_is_stopped(fake_vng: object,
                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FAKE_VNG", "hang")
    with pytest.raises(SystemExit, match="still ran after 1 s"):
        bare_side.run_vng(fake_vng, "true", 1.0)
    assert not processes_naming(str(tmp_path / "bin" / "vng"))


def test_bare_times_give_stages_per_tutorial() -> None:
    uptime, tutorials = bare_side.parse_bare_times(
        "guest-uptime 9.87\n"
        "minimal build 100.0\nminimal load 103.5\nminimal workload 104.0\n"
        "minimal capture 104.25\nminimal end 105.0\n"
        "strlen-snoop build 105.0\nstrlen-snoop load 105.5\nstrlen-snoop end 110.0\n")
    assert uptime == 9.87
    assert [t.name for t in tutorials] == ["minimal", "strlen-snoop"]
    assert tutorials[0].timings == {"build": 3.5, "load": 0.5, "workload": 0.25, "capture": 0.75}
    assert tutorials[0].total == 5.0
    assert tutorials[1].timings == {"build": 0.5, "load": 4.5}


def fake_results() -> object:
    boots = measured.Series("boot to a usable shell and power off", [9.0, 8.0, 10.0],
                            [20.0, 22.0, 21.0])
    runs = measured.Series("boot + 1 tutorial (minimal)", [24.0, 25.0, 23.0], [60.0, 70.0, 65.0])
    results = measured.Results(boots, runs)
    boot = measured.LabBoot(total=9.0, to_shell=8.5, uptime=6.0, probe=0.1, poweroff=0.3)
    results.lab_boots = [boot, boot, boot]
    scenario = measured.Stages("minimal", {"start": 0.5, "build": 0.6, "load": 7.0}, 9.0, True)
    results.lab_runs = [measured.LabRun(24.0, 1.0, 9.5, boot, [scenario], 0.3)]
    bare = measured.Stages("minimal", {"build": 30.0, "load": 6.0, "capture": 1.0}, 37.0)
    results.bare_runs = [measured.BareRun(65.0, 18.0, 24.0, 61.0, [bare])]
    results.dry_runs = [0.9]
    return results


def fake_context(repeat: int = 3) -> object:
    machine = {"cores": "2", "cpu": "Test CPU", "arch": "x86_64", "load": "0.1 0.2 0.3",
               "qemus": "0"}
    return report_cells.Context(date="2026-01-01", command="python bench/benchmark.py --repeat 3",
                                line="6.1", release="6.1.0-50-amd64", accel="tcg",
                                accel_reason="no kvm", repeat=repeat, machine=machine,
                                qemu="QEMU 7.2", vng="virtme-ng 1.42", prepare=1.0,
                                bare_command="vng --run ...", build_cache=True)


def test_the_report_has_each_side_and_the_ratio() -> None:
    report = report_markdown.render(fake_results(), fake_context(), False)
    assert ("| boot to a usable shell and power off | 9.0 s | 8.0–10.0 | 21.0 s | 20.0–22.0 "
            "| 0.43 |") in report
    assert "| boot + 1 tutorial (minimal) | 24.0 s | 23.0–25.0 | 65.0 s | 60.0–70.0 | 0.37 |" \
        in report
    assert "| boot to a usable guest shell ≤ 5 s | 8.5 s (lab, median) | no |" in report
    assert "| the same ≤ 0.85x the bare run | 0.37 | yes |" in report
    # the profile: host side = to_shell + probe/2 - uptime; the bare one from the host's clock
    assert "| boot: host side" in report and "| 2.55 | 6.00 |" in report
    assert "| the tutorials (below) | 9.00 | 37.00 |" in report
    assert "| minimal | 0.50 | 0.60 | 7.00 | 0.90 | yes | 9.00 |" in report
    assert "| minimal | 30.00 | 6.00 | 1.00 | 37.00 |" in report
    assert "1 of 1 lab builds reused" in report


def test_the_report_keeps_the_prose_around_its_markers() -> None:
    begin, end = report_markdown.BEGIN, report_markdown.END
    existing = f"# Benchmarks\n\nintro\n\n{begin}\nold numbers\n{end}\n\n## Under KVM\n\nprose\n"
    merged = report_markdown.merge_report(existing, "unused", f"{begin}\nnew numbers\n{end}\n")
    assert merged == (f"# Benchmarks\n\nintro\n\n{begin}\nnew numbers\n{end}\n\n"
                      "## Under KVM\n\nprose\n")
    template = report_markdown.TEMPLATE.read_text()
    fresh = report_markdown.merge_report(None, template, f"{begin}\nnumbers\n{end}\n")
    assert "numbers" in fresh and "## Under KVM" in fresh
    assert report_markdown.merge_report("no markers here", template, f"{begin}\nx\n{end}\n") \
        .startswith(template.split(begin)[0])
    with pytest.raises(SystemExit, match="markers"):
        report_markdown.merge_report(None, "a template without them", "x")


@pytest.mark.parametrize(("line", "refused"), [("7.2", "kprobe-link"), ("5.10", "bashreadline")])
def test_a_tutorial_expected_to_fail_is_refused_not_skipped(bench_module: ModuleType, line: str,
                                                            refused: str) -> None:
    settings = Settings.from_env(cwd=PROJECT)
    with pytest.raises(SystemExit, match=rf"on {re.escape(line)} .*{refused}"):
        bench_module.chosen_scenarios(settings, line, bench_module.SEEDS)
    with pytest.raises(SystemExit, match="no scenario nonesuch"):
        bench_module.chosen_scenarios(settings, "6.1", ["minimal", "nonesuch"])
    assert [s.name for s in bench_module.chosen_scenarios(settings, "6.1", bench_module.SEEDS)] \
        == list(bench_module.SEEDS)


def test_the_bare_script_does_what_the_scenarios_say(bench_module: ModuleType) -> None:
    """The same build commands, vmlinux.h, loaders and readiness lines as the
    scenarios; the same typed lines for bashreadline; the five seeds by default."""
    script = SCRIPT.read_text()
    scenarios = {s.name: s for s in load_scenarios(PROJECT / "scenarios")}
    for name in bench_module.SEEDS:
        scenario = scenarios[name]
        for command in scenario.build:
            assert f"build '{command}'" in script, f"{name}: build command {command!r}"
        if scenario.vmlinux_h is not None:
            assert f"vmlinux_h {scenario.vmlinux_h}" in script, f"{name}: vmlinux_h"
        loader = f"start_loader \"{scenario.load.command}\" '{scenario.load.ready}'"
        assert loader in script, f"{name}: loader and readiness line {loader!r}"
    typed = next(step.lines for step in scenarios["bashreadline"].workload
                 if step.kind == "interactive")
    found = re.search(r"local typed=\(([^)]*)\)", script)
    assert found and tuple(found.group(1).split()) == typed
    default = re.search(r"set -- (.*)$", script, re.MULTILINE)
    assert default and tuple(default.group(1).split()) == bench_module.SEEDS


def test_the_bare_script_parses() -> None:
    done = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_kernel_lab_still_shows_its_guest(tmp_path: Path) -> None:
    """The benchmark reads the guest's uptime through KernelLab.guest (none before start)."""
    settings = dataclasses.replace(Settings.from_env(cwd=PROJECT), output=tmp_path)
    lab = KernelLab(settings, "6.1")
    assert lab.guest is None
    lab.close()


def test_a_cold_build_cache_lacks_only_the_stored_builds(tmp_path: Path) -> None:
    real = tmp_path / "cache"
    for entry in ("kernels", "rootfs", "root-images", "builds"):
        (real / entry).mkdir(parents=True)
    (real / "builds" / "key.tar").write_bytes(b"stored")
    scratch = lab_side.cold_build_cache(real, tmp_path / "cold")
    (scratch / "builds").mkdir()  # what the lab's first stored build would make

    again = lab_side.cold_build_cache(real, tmp_path / "cold")

    assert sorted(p.name for p in again.iterdir()) == ["kernels", "root-images", "rootfs"]
    assert all((again / name).resolve() == real / name for name in ("kernels", "rootfs"))
    assert (real / "builds" / "key.tar").read_bytes() == b"stored", "the real cache is untouched"

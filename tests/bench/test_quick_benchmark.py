"""The benchmark for real, so it cannot rot: its quick mode gives both sides'
numbers and the ratio, and a bare run whose check fails gives no time at all."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import pytest
from conftest import PROJECT, Finished
from leftover_processes import processes_naming

from lab.guestvm.session import prepare
from lab.settings import Settings

pytestmark = pytest.mark.boots

QUICK_TIMEOUT_S = 1200.0  # about 2 min under TCG on 2 busy cores; seconds under KVM
NUMBER, SPREAD = r"(\d+\.\d)", r"(\d+\.\d)–(\d+\.\d)"
ROW = rf"\| {{work}} \| {NUMBER} s \| {SPREAD} \| {NUMBER} s \| {SPREAD} \| (\d+\.\d\d) \|"


def test_quick_benchmark_reports_both_sides(
        run_bench: Callable[[Sequence[str], Path, float], Finished], kernel_line: str,
        tmp_path: Path) -> None:
    output = tmp_path / "b.md"
    done = run_bench(["--quick", "--kernel", kernel_line, "--output", str(output)],
                     tmp_path / "work", QUICK_TIMEOUT_S)
    assert done.returncode == 0, f"exited {done.returncode}:\n{done.stderr[-4000:]}"
    report = output.read_text()
    for work in ("boot to a usable shell and power off", "boot + 1 tutorial (minimal)"):
        row = re.search(ROW.format(work=re.escape(work)), report)
        assert row, f"no row {work!r} with numbers and a ratio in:\n{report}"
        lab, lab_min, lab_max, bare, bare_min, bare_max, ratio = map(float, row.groups())
        assert 0 < lab_min <= lab <= lab_max and 0 < bare_min <= bare <= bare_max
        assert ratio == pytest.approx(lab / bare, rel=0.1)  # the medians are shown rounded
    # the profile: the boot split on both sides, minimal's stages on both sides
    assert re.search(r"\| boot: host side [^|]*\| \d+\.\d\d \| \d+\.\d\d \|", report), report
    assert re.search(r"\| boot: guest side [^|]*\| \d+\.\d\d \| \d+\.\d\d \|", report), report
    assert re.search(r"\| minimal \|( \d+\.\d\d \|)+ (yes|no) \| \d+\.\d\d \|", report), report
    assert re.search(r"\| minimal \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d \| \d+\.\d\d "
                     r"\| \d+\.\d\d \|", report), report
    assert f"Command: `python bench/benchmark.py --quick --kernel {kernel_line}" in report
    assert "## Under KVM" in report  # the template's prose around the numbers
    print(f"quick benchmark: {done.seconds:.0f} s")


def test_a_failed_bare_check_gives_no_time(bench_module: ModuleType, kernel_line: str,
                                           tmp_path: Path) -> None:
    """The real bare script, its minimal check made to want another pid: the guest
    runs everything, the check fails, and the benchmark stops with the reason."""
    script = tmp_path / "bare_tutorials.sh"
    text = (PROJECT / "bench" / "bare_tutorials.sh").read_text()
    wanted = "sys_enter_write from PID $pid\\.$"
    assert text.count(wanted) == 1
    script.write_text(text.replace(wanted, "sys_enter_write from PID 9$pid\\.$"))
    settings = Settings.from_env(cwd=PROJECT)
    scenarios = bench_module.chosen_scenarios(settings, kernel_line, ["minimal"])
    work = tmp_path / "work"
    with pytest.raises(SystemExit, match=r"bare: .* failed .*minimal: no line matching "
                                         r"'bpf_trace_printk: BPF triggered sys_enter_write "
                                         r"from PID 9\d+"):
        bench_module.bare_tutorials(settings, prepare(settings, kernel_line), scenarios, work,
                                    script)
    assert not processes_naming(str(work))
    shutil.rmtree(work, ignore_errors=True)

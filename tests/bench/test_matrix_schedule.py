"""bench/matrix_schedule.py without a VM: what each side sets, and its report."""

from __future__ import annotations

import matrix_schedule


def test_before_is_the_old_default_and_auto_leaves_the_choice_to_the_lab() -> None:
    assert matrix_schedule.LAB_SIDES["before"] == {"LAB_GUEST_CPUS": "2", "LAB_RUN_CPUS": "0"}
    assert matrix_schedule.LAB_SIDES["auto"] == {}


def test_the_report_gives_each_sides_median_and_ratios() -> None:
    times = {"before": [108.0, 104.0], "auto": [70.0, 80.0], "bare": [60.0, 64.0]}
    verdicts = {("6.1", "minimal"): "pass", ("5.10", "bashreadline"): "expected-incompatible"}
    text = matrix_schedule.render(times, verdicts, "python bench/matrix_schedule.py",
                                  "4 lines", "2 line(s) at once", "all")

    begin, end = matrix_schedule.markers("all")
    assert text.startswith(begin) and text.rstrip().endswith(end)
    assert matrix_schedule.markers("minimal") != (begin, end), "each selection its region"
    assert "| before | **106.0 s** | 104.0–108.0 s | 108.0, 104.0 | 1.00 | 1.71 |" in text
    assert "| auto | **75.0 s** | 70.0–80.0 s | 70.0, 80.0 | 0.71 | 1.21 |" in text
    assert "2 cells (1 expected-incompatible, 1 pass)" in text

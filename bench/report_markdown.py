"""The benchmark's report: results, targets and profile as Markdown, written
between the markers of BENCHMARKS.md (its other text kept)."""

from __future__ import annotations

import platform
import statistics
import sys
from pathlib import Path

from measured import BenchError, Results
from profile_tables import boot_profile, steps_profile, tutorials_profile
from report_cells import Context, seconds, summary_row, table

TEMPLATE = Path(__file__).resolve().parent / "BENCHMARKS.template.md"
BEGIN = "<!-- BEGIN benchmark.py: generated, rewritten by every run -->"
END = "<!-- END benchmark.py -->"
# issue #9's targets
BOOT_TARGET_S = 5.0
TUTORIALS_TARGET_S = 45.0
RATIO_TARGET = 0.85


def targets(results: Results, quick: bool) -> list[str]:
    rows: list[list[str]] = []

    def add(target: str, value: float | None, shown: str, limit: float) -> None:
        met = "—" if value is None else ("yes" if value <= limit else "no")
        rows.append([target, shown if value is not None else "—", met])

    to_shell = (statistics.median(b.to_shell for b in results.lab_boots)
                if results.lab_boots else None)
    add(f"boot to a usable guest shell ≤ {BOOT_TARGET_S:.0f} s", to_shell,
        f"{seconds(to_shell)} s (lab, median)", BOOT_TARGET_S)
    series = results.tutorials
    if quick:
        rows.append(["the five seeds, boot included, ≤ 45 s and ≤ 0.85x bare",
                     "not measured (--quick runs minimal only)", "—"])
    else:
        lab = statistics.median(series.lab) if series.lab else None
        add(f"{series.work}, boot included, ≤ {TUTORIALS_TARGET_S:.0f} s", lab,
            f"{seconds(lab)} s (lab, median)", TUTORIALS_TARGET_S)
        ratio = (lab / statistics.median(series.bare)
                 if lab is not None and series.bare else None)
        add(f"the same ≤ {RATIO_TARGET}x the bare run", ratio, seconds(ratio, 2), RATIO_TARGET)
    rows.append(["the four-line matrix (5.10, 6.1, 6.12, 7.2) of the five seeds ≤ 3 min",
                 "measured by `time lab matrix`: see \"The matrix\" below", "—"])
    return table(["target (issue #9)", "measured", "met"], rows)


def render(results: Results, context: Context, quick: bool) -> str:
    m = context.machine
    reused = [s.build_reused for r in results.lab_runs for s in r.scenarios
              if s.build_reused is not None]
    state = ("on, emptied before each repetition (--cold-builds)" if context.cold_builds
             else "on" if context.build_cache else "off")
    cache = (f"the lab's build cache {state}"
             + (f" ({sum(reused)} of {len(reused)} lab builds reused a stored build)"
                if reused else ""))
    blocks = [
        ["## Results"],
        [f"Measured {context.date} on {m['cores']} cores ({m['cpu']}, {m['arch']}), "
         f"acceleration **{context.accel}** ({context.accel_reason}); kernel "
         f"{context.release} ({context.line} line); {context.qemu}; {context.vng}; "
         f"Python {platform.python_version()}. Load average at the start: {m['load']}; "
         f"QEMU processes already running: {m['qemus']}."],
        [f"Command: `{context.command}`"],
        [f"The bare side's vng command line: `{context.bare_command}`"],
        [f"Warm caches (prepare alone: {seconds(context.prepare, 2)} s), {cache}; "
         f"{context.repeat} repetition{'s' if context.repeat > 1 else ''}, alternating "
         "lab and bare; median and min–max per side, ratio of the medians."],
        ["| work | lab median | lab min–max | bare vng median | bare min–max | lab / bare |",
         "|---|---|---|---|---|---|", summary_row(results.boot), summary_row(results.tutorials)],
        targets(results, quick),
        ["## Profile"],
        boot_profile(results),
        steps_profile(results, context),
        tutorials_profile(results),
    ]
    body = "\n\n".join("\n".join(block) for block in blocks if block)
    return f"{BEGIN}\n{body}\n{END}\n"


def short(reason: str, limit: int = 200) -> str:
    """The first line of a long explanation, cut at a word."""
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    return first if len(first) <= limit else first[:limit].rsplit(" ", 1)[0] + " …"


def merge_report(existing: str | None, template: str, generated: str) -> str:
    """The generated block between the markers of the existing file (its prose kept),
    or of the template when there is no file or it has no markers."""
    for text in (existing, template):
        if text and BEGIN in text and END in text.split(BEGIN, 1)[1]:
            head, rest = text.split(BEGIN, 1)
            tail = rest.split(END, 1)[1]
            return head + generated.rstrip("\n") + tail
    raise BenchError(f"{TEMPLATE} has no {BEGIN!r} ... {END!r} markers")


def write_report(output: Path, generated: str) -> None:
    existing = output.read_text() if output.exists() else None
    if existing is not None and BEGIN not in existing:
        print(f"{output} has no benchmark markers: rewritten from {TEMPLATE.name} "
              "(the old text is in git)", file=sys.stderr)
    output.write_text(merge_report(existing, TEMPLATE.read_text(), generated))

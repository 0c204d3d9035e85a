"""The benchmark's profile: each lab boot split into host and guest side, the
median runs step by step side by side, then per scenario and per stage."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from measured import BareRun, LabRun, Results, Stages, median_run
from report_cells import Context, seconds, table


def stages_table(runs: Sequence[Stages], lab: bool) -> list[str]:
    """One row per tutorial, one column per stage key (in order of first use)."""
    keys = list(dict.fromkeys(k for run in runs for k in run.timings))
    head = ["tutorial", *keys, *(["not in a stage", "build reused"] if lab else []), "total"]
    rows = []
    for run in runs:
        cells = [run.name, *(seconds(run.timings.get(k), 2) for k in keys)]
        if lab:
            reused = {True: "yes", False: "no", None: "—"}[run.build_reused]
            cells += [seconds(run.outside, 2), reused]
        rows.append([*cells, seconds(run.total, 2)])
    return table(head, rows)


def boot_profile(results: Results) -> list[str]:
    if not results.lab_boots:
        return []
    names = ("to_shell", "host_side", "guest_side", "poweroff", "total")
    rows = [[str(number), *(seconds(getattr(boot, n), 2) for n in names)]
            for number, boot in enumerate(results.lab_boots, 1)]
    if len(rows) > 1:
        rows.append(["median", *(seconds(statistics.median(getattr(b, n)
                                                           for b in results.lab_boots), 2)
                                 for n in names)])
    return [
        "### Boot: the lab's GuestVM, each repetition", "",
        "Guest side: the guest's /proc/uptime read at its first prompt (the kernel's "
        "start to a set-up shell). Host side: the rest of the wall time to that prompt "
        "(virtme-ng's start-up, QEMU's, the firmware, loading the kernel). "
        "`vng --dry-run` alone (virtme-ng's Python start-up, no QEMU) takes "
        f"{seconds(statistics.median(results.dry_runs), 2)} s (median).", "",
        *table(["repetition", "to a usable shell", "host side", "guest side", "power-off",
                "total"], rows),
    ]


STEPS = (
    ("prepare", "prepare (warm cache: the kernel and the root checked)"),
    ("host", "boot: host side (vng, QEMU, firmware; the bare run's vmlinuz is unpacked here)"),
    ("guest", "boot: guest side (kernel start to the lab's prompt, to the bare script's start)"),
    ("setup", "the lab runner's set-up (tools, PATH, BTF digest, programs counted)"),
    ("ahead", "builds ahead (what the build cache lacks, two at a time; bare: in the tutorials)"),
    ("tutorials", "the tutorials (below)"),
    ("poweroff", "power-off"),
    ("between", "between the steps"),
    ("total", "total"),
)


def lab_steps(run: LabRun) -> dict[str, float | None]:
    tutorials = sum(s.total for s in run.scenarios)
    return {"prepare": run.prepare, "host": run.boot.host_side, "guest": run.boot.guest_side,
            "setup": run.runner_setup, "ahead": run.ahead, "tutorials": tutorials,
            "poweroff": run.close,
            "between": run.total - run.prepare - run.start - run.ahead - tutorials - run.close,
            "total": run.total}


def bare_steps(run: BareRun) -> dict[str, float | None]:
    script = (run.finished - run.started
              if run.finished is not None and run.started is not None else None)
    return {"host": run.host_side, "guest": run.uptime, "tutorials": script,
            "poweroff": run.total - run.finished if run.finished is not None else None,
            "total": run.total}


def steps_profile(results: Results, context: Context) -> list[str]:
    """The median lab run and the median bare run, step by step, side by side."""
    lab = median_run(results.lab_runs, lambda r: r.total) if results.lab_runs else None
    bare = median_run(results.bare_runs, lambda r: r.total) if results.bare_runs else None
    if lab is None and bare is None:
        return []
    lab_values = lab_steps(lab[1]) if lab else {}
    bare_values = bare_steps(bare[1]) if bare else {}
    which = [f"{side}: repetition {found[0] + 1}"
             for side, found in (("lab", lab), ("bare", bare)) if found is not None]
    return [
        f"### One run of the tutorials, step by step ({', '.join(which)} of "
        f"{context.repeat}: the median totals)", "",
        "The bare run's steps are seen from the host: its script reads /proc/uptime "
        "first, and writes a file in the share as it starts and as it ends.", "",
        *table(["step", "lab", "bare"],
               [[name, seconds(lab_values.get(key), 2), seconds(bare_values.get(key), 2)]
                for key, name in STEPS]),
    ]


def tutorials_profile(results: Results) -> list[str]:
    lines: list[str] = []
    if results.lab_runs:
        run = median_run(results.lab_runs, lambda r: r.total)[1]
        lines += ["#### The lab, per scenario", "",
                  "The stages are the keys of `Outcome.timings`, in order; \"not in a "
                  "stage\" is the rest of `KernelLab.run` (whatever no key covers); "
                  "\"build reused\": the lab's build cache had this build "
                  "(`Outcome.build_reused`; — when there is nothing to build).", "",
                  *stages_table(run.scenarios, lab=True)]
    if results.bare_runs:
        bare = median_run(results.bare_runs, lambda r: r.total)[1]
        lines += ([""] if lines else []) + [
            "#### The bare run, per tutorial", "",
            "From the script's own clock: each stage runs until the next starts, capture "
            "includes the check.", "",
            *stages_table(bare.tutorials, lab=False)]
    return lines

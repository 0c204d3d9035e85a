"""How `lab matrix` uses the machine: how many lines at once, how many vCPUs
each guest has, and which line starts first. Pure: the caller counts the cores
and reads the last run's times.

Guests x vCPUs stay within the cores. Measured on 2 cores under TCG, the five
seeds on four lines, two lines at once, warm caches (bench/matrix_schedule.py,
BENCHMARKS.md "Scheduling"): guests of one vCPU 75.5 s, guests keeping two
100.8 s (a second vCPU costs about 4 s of every boot when two emulators share
two cores), two of which one goes offline after the builds ahead 76.2 s (no
gain over one). A line that runs alone keeps two vCPUs: its builds ahead run one
per vCPU. LAB_GUEST_CPUS and LAB_RUN_CPUS (vCPUs left online once the builds
ahead are done) override the choice.

Lines start longest first (by the last run's times), so the longest line is not
the one left running alone at the end; a line with no time yet starts first,
as it may be the longest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

AUTO = 0  # --jobs auto


@dataclass(frozen=True)
class Schedule:
    jobs: int  # lines at once
    guest_cpus: int  # the vCPUs a guest boots with: its builds ahead use them all
    run_cpus: int  # vCPUs left online while tutorials run; 0: all of them
    lines: tuple[str, ...]  # the order the lines start in
    why: tuple[str, ...]  # one sentence per choice, for the user

    def describe(self) -> str:
        return "; ".join(self.why)


def parse_jobs(value: str) -> int:
    """--jobs: `auto` (AUTO) or a positive count of lines at once."""
    text = value.strip().lower()
    if text == "auto":
        return AUTO
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"--jobs {value!r}: say auto or a number of lines at once (1 or more)")
    return int(text)


def plan(cores: int, lines: Sequence[str], *, alone_cpus: int, jobs: int = AUTO,
         guest_cpus: int | None = None, last_seconds: Mapping[str, float] | None = None,
         last_run: str = "", run_cpus: int | None = None) -> Schedule:
    """The schedule of these lines on `cores` cores. alone_cpus: the vCPUs of a
    guest that has the cores to itself (lab.settings.DEFAULT_GUEST_CPUS); jobs:
    AUTO or the user's count; guest_cpus, run_cpus: the user's LAB_GUEST_CPUS and
    LAB_RUN_CPUS (None: the schedule chooses); last_seconds: each line's total
    time in the last run (last_run says which), if known."""
    cores = max(1, cores)
    chosen = jobs if jobs != AUTO else max(1, min(len(lines), cores))
    why = [f"{chosen} line(s) at once on {cores} core(s)" + (
        " (one per core, at most one per line)" if jobs == AUTO else " (--jobs)")]
    share = max(1, cores // chosen)
    if guest_cpus is None:
        guest_cpus = min(alone_cpus, share)
        why.append(f"each guest boots with {guest_cpus} vCPU(s) (guests x vCPUs <= cores)")
    else:
        why.append(f"each guest boots with {guest_cpus} vCPU(s) (LAB_GUEST_CPUS)")
    if run_cpus is not None:
        run_cpus = run_cpus if run_cpus < guest_cpus else 0
        if run_cpus:
            why.append(f"and keeps {run_cpus} online once its builds ahead are done "
                       "(LAB_RUN_CPUS)")
    order, said = longest_first(lines, last_seconds or {}, last_run)
    why.append(said)
    return Schedule(chosen, guest_cpus, run_cpus or 0, order, tuple(why))


def longest_first(lines: Sequence[str], seconds: Mapping[str, float],
                  last_run: str = "") -> tuple[tuple[str, ...], str]:
    """The lines longest first by their last time (unknown ones first, in the
    order given), and a sentence saying so."""
    unknown = [line for line in lines if line not in seconds]
    known = sorted((line for line in lines if line in seconds), key=lambda line: -seconds[line])
    order = (*unknown, *known)
    if not known:
        return order, "lines in the order given (no earlier run's times)"
    timed = ", ".join(f"{line} {seconds[line]:.0f} s" for line in known)
    source = f" ({last_run})" if last_run else ""
    return order, f"longest line first by the last run's times{source}: {timed}"

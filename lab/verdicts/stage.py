"""The stages a scenario goes through, in order: the one list of them.

A failure is attributed to the stage it happened in; the verdict compares that
stage with the one a scenario records, and reports show it. Each value is the
string the JSON report and the scenario files use, so a StrEnum member is that
string wherever one is compared, formatted or written.

The runner's pipeline (lab.guestvm.pipeline) runs one unit per stage, except
`boot` (the session's, before any scenario). A new stage is a member here and
a unit there.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    PREFLIGHT = "preflight"  # kernel options the scenario needs, by name
    BOOT = "boot"  # the kernel line could not be prepared or booted
    BUILD = "build"
    SETUP = "setup"  # before the loader: nothing yet (set-up steps come next)
    LOAD = "load"  # the loader started and printed its ready line
    WORKLOAD = "workload"
    CAPTURE = "capture"
    EXPECT = "expect"
    KERNEL = "kernel"  # the kernel log's health after the scenario
    CLEANUP = "cleanup"  # tear-down: the guest left as the next scenario expects it
    DOCUMENT = "document"  # the tutorial's own text against the run


STAGES = tuple(stage.value for stage in Stage)

"""A made-up project for the tests of series, chapters and not-runnable scenarios:
the real catalog, lock and guest root recipe (vm/), and scenarios written here,
each with a program directory, so no shipped tutorial is named or needed."""

from __future__ import annotations

import shutil
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

SCENARIO = """summary = "made up for a test"
{extra}

[build]
commands = ["true"]

[load]
command = "true"
ready = '^ready$'

[[workload]]
run = "true"
record = "ran"

[[expect]]
summary = "the run shows its pid"
for_each = "ran"
lines = ['^pid ${{pid}}$']
"""


def scenario_text(*, series: str | None = None, source: str | None = None,
                  not_runnable: str | None = None) -> str:
    keys = {"series": series, "source": source, "not_runnable": not_runnable}
    extra = "\n".join(f"{key} = {value!r}" for key, value in keys.items() if value is not None)
    return SCENARIO.format(extra=extra)


def make_project(root: Path, scenarios: dict[str, str],
                 configs: dict[str, str] | None = None) -> Path:
    """root/: vm/ from the lab, scenarios/<name>.toml with these texts, bpf/<name>/
    with a `.config` where configs gives one."""
    shutil.copytree(PROJECT / "vm", root / "vm")
    (root / "scenarios").mkdir(parents=True)
    for name, text in scenarios.items():
        (root / "scenarios" / f"{name}.toml").write_text(text)
        program = root / "bpf" / name
        program.mkdir(parents=True)
        (program / "prog.bpf.c").write_text("/* made up */\n")
        if configs and name in configs:
            (program / ".config").write_text(configs[name])
    return root

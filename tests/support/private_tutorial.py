"""A private copy of a tutorial whose BPF source ends with a fresh marker, so it
is never in the build cache before the test that makes it (tests/vm)."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from pathlib import Path

from lab.scenario import Scenario


def private_copy(tutorial: Scenario, project: Path, where: Path, name: str,
                 extra: str = "") -> Scenario:
    """tutorial's program copied to where (emptied first), its BPF source given a
    fresh marker and then extra; the scenario named name, built from the copy."""
    shutil.rmtree(where, ignore_errors=True)
    shutil.copytree(project / tutorial.program, where)
    source = next(where.glob("*.bpf.c"))
    source.write_text(source.read_text() + f"\n/* {uuid.uuid4().hex} */\n{extra}")
    return dataclasses.replace(tutorial, name=name, program=str(where))

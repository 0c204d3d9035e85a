"""The files a tutorial is made of, and the tutorials a list of changed paths
touches (pure logic over loaded scenarios).

A tutorial is its scenario file, its program directory (bpf/<name>/, or the
scenario's `program`) and its published document (the program's README.md, or
the scenario's `document`); paths are relative to the project, with `/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from lab.docs.verify import document_path
from lab.scenario import Scenario


def tutorial_paths(scenario: Scenario, project: Path) -> tuple[str, ...]:
    """The scenario file, the program directory and the document, each once."""
    paths = (_relative(scenario.path, project), scenario.program.rstrip("/"),
             _relative(document_path(scenario, project), project))
    return tuple(dict.fromkeys(paths))


def _relative(path: Path, project: Path) -> str:
    try:
        return path.resolve().relative_to(project.resolve()).as_posix()
    except ValueError:  # a scenario loaded from elsewhere: its path as given
        return path.as_posix()


def touches(changed: str, paths: Iterable[str]) -> bool:
    """Whether a changed path is one of these files or lies in one of these directories."""
    return any(changed == path or changed.startswith(f"{path}/") for path in paths)


def changed_tutorials(changed: Iterable[str], scenarios: Sequence[Scenario],
                      project: Path) -> list[str]:
    """The tutorials (in the scenarios' order) one of whose files is among the changed
    paths; a change elsewhere (the lab, the locks) touches none: it is every
    tutorial's, and every shard runs it."""
    changed = list(changed)
    return [s.name for s in scenarios
            if any(touches(path, tutorial_paths(s, project)) for path in changed)]

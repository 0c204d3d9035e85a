"""The files a document can show: a tutorial's program directory, read once.

A Program is what one scenario runs: its name, its files (text files of
bpf/<name>/, the document itself excluded) and, for the pid relations, which
program each workload record comes from (`rm test1` records `rm`'s pid).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lab.scenario import Scenario

DOCUMENT_NAME = "README.md"
COMM_LEN = 15  # TASK_COMM_LEN - 1: what the kernel keeps of a process name


@dataclass(frozen=True)
class SourceFile:
    name: str   # relative to the program directory, "/"-separated
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).name.split(".", 1)[0]


@dataclass(frozen=True)
class Program:
    scenario: str
    directory: Path
    files: tuple[SourceFile, ...]
    # record name -> names of the programs whose pids it holds
    record_programs: dict[str, frozenset[str]] = field(default_factory=dict)
    capture: str = "trace_pipe"
    loader: str = ""  # the scenario's load command: `ecli run ...` prints ecli's tables
    ready: str = ""   # the pattern of the loader's line that says it is running
    series: str = ""  # the published series whose chapter this is ("": the lab's own)

    def file(self, name: str) -> SourceFile | None:
        wanted = name.lstrip("./")
        for source in self.files:
            if source.name == wanted or PurePosixPath(source.name).name == wanted:
                return source
        return None

    def label(self, source: SourceFile) -> str:
        return f"{self.directory.name}/{source.name}"


def read_program(directory: Path, scenario: str, skip: tuple[Path, ...] = ()) -> Program:
    """The text files under directory (not Markdown, not the given documents)."""
    files = []
    skipped = {p.resolve() for p in skip}
    for path in sorted(directory.rglob("*")) if directory.is_dir() else ():
        if not path.is_file() or path.suffix.lower() == ".md" or path.resolve() in skipped:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # a binary (a built object): not something a document shows
        files.append(SourceFile(path.relative_to(directory).as_posix(), text))
    return Program(scenario, directory, tuple(files))


def program_of(scenario: Scenario, project: Path, document: Path | None = None) -> Program:
    skip = (document,) if document else ()
    base = read_program(project / scenario.program, scenario.name, skip)
    return Program(base.scenario, base.directory, base.files, record_programs(scenario),
                   scenario.load.capture, scenario.load.command, scenario.load.ready or "",
                   scenario.series or "")


def record_programs(scenario: Scenario) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for step in scenario.workload:
        if step.record:
            found.setdefault(step.record, set()).add(command_name(step.command))
    return {name: frozenset(programs) for name, programs in found.items()}


def command_name(command: str) -> str:
    """The process name a command runs as: `sudo ./target-sample x` -> target-sample."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    words = [w for w in words if "=" not in w.split("/")[0] and w not in ("sudo", "env", "exec")]
    return PurePosixPath(words[0]).name[:COMM_LEN] if words else ""

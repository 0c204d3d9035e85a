"""Drive a scenario's workload on the guest console and record what it did.

Each step runs in the console's shell, after the probes are attached:

- run: a command, which must end with its `status` (0 unless said). With
  `record`, it runs as a child of the shell whose pid is recorded, and
  `collect` turns each matching line of its output into a record with the
  regex's named groups. A command ending in `&` starts a background job
  (output discarded) and records the job's pid without waiting for it; the
  jobs still running when the workload ends are killed.
- interactive: type lines into a program at its prompt (pid and line each).
- spawn: start a program, read it until a pattern, then ^C (pid, and
  `collect`'s groups per matching line).

A step's command and `vars` may use `${record.field}`: the value of the last
record of that name an earlier step made (shell-quoted in a command). The
scenario's set-up steps run the same way before the loader starts (`prepare`):
their background jobs live until the tear-down, and their records are the
workload's first ones.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import replace

from lab.errors import LabError
from lab.guestvm.console import new_marker, typed
from lab.guestvm.guest import Conversation
from lab.scenario import BACKGROUND, REFERENCE, Step

Record = Mapping[str, str]
# An interactive shell's job notices ("[1] 4242", "[1]+  Done  cmd"): not the command's.
JOB_NOTICE = re.compile(r"^\[\d+\][+-]? +(?:\d+|Done|Exit \d+|Terminated|Killed|Stopped|"
                        r"Running)\b.*\n?", re.MULTILINE)
OUTPUT_SHOWN = 1500
JOB_END_S = 30.0


class StepFailed(LabError):
    """A workload step did not do what the scenario says; the message says how."""


class Workload:
    """Runs the steps in order; `records` holds what they recorded, by name."""

    def __init__(self, console: Conversation,
                 records: Mapping[str, Sequence[Record]] | None = None) -> None:
        self.console = console
        self.records: dict[str, list[Record]] = {k: list(v) for k, v in (records or {}).items()}
        self.jobs: list[str] = []

    def run(self, steps: Sequence[Step]) -> dict[str, list[Record]]:
        self.prepare(steps)
        self.end_jobs()
        return self.records

    def prepare(self, steps: Sequence[Step]) -> dict[str, list[Record]]:
        """The steps in order, leaving their background jobs running (a server the
        workload talks to); a failed step ends them."""
        try:
            for step in steps:
                self.step(step)
        except StepFailed:
            self.end_jobs()  # the shell is at its prompt: a step only fails there
            raise
        return self.records

    def step(self, step: Step) -> None:
        """Run one step and keep its records; background jobs it started keep running
        (run() ends them after the last step)."""
        resolved = resolve(step, self.records)
        action = {"run": self._run, "interactive": self._interactive, "spawn": self._spawn}
        new = action[step.kind](resolved)
        if step.record:
            self.records.setdefault(step.record, []).extend(new)

    def end_jobs(self) -> None:
        """Kill the background jobs still running; each was recorded when it started."""
        if self.jobs:
            pids = " ".join(self.jobs)
            self.console.run(f"kill -KILL {pids} 2>/dev/null; wait {pids} 2>/dev/null", JOB_END_S)
            self.jobs = []

    def _run(self, step: Step) -> list[Record]:
        if step.background:
            return self._background(step)
        mark = new_marker("PID")
        command = in_background_with_pid(step.command, mark) if step.record else step.command
        result = self.console.run(command, step.timeout)
        if result.status != step.status:
            wanted = f", not {step.status}" if step.status else ""
            raise StepFailed(f"workload step `{step.command}` exited {result.status}{wanted}: "
                             f"{result.output[-OUTPUT_SHOWN:]}")
        if not step.record:
            return []
        own = {"pid": pid_from(result.output, step.command, mark), **step.variables}
        if not step.collect:
            return [own]
        output = JOB_NOTICE.sub("", re.sub(pid_pattern(mark), "", result.output))
        collected = collect(step.collect, output, own)
        if not collected:
            raise StepFailed(f"workload step `{step.command}` printed no line matching "
                             f"`collect` {step.collect!r}: {output[-OUTPUT_SHOWN:]!r}")
        return collected

    def _background(self, step: Step) -> list[Record]:
        command = BACKGROUND.sub("", step.command).rstrip()
        mark = new_marker("PID")
        result = self.console.run(f"{command} </dev/null >/dev/null 2>&1 & "
                                  f"echo {typed(mark)}=$!", step.timeout)
        pid = pid_from(result.output, step.command, mark)
        self.jobs.append(pid)
        return [{"pid": pid, **step.variables}]

    def _start_in_foreground(self, step: Step) -> str:
        """Start a step's program on the console; its pid, as it printed it."""
        mark = new_marker("PID")
        self.console.sendline(with_pid(step.command, mark))
        return self.console.expect(pid_pattern(mark), step.timeout,
                                   f"`{step.command}` to start")[1]

    def _interactive(self, step: Step) -> list[Record]:
        assert step.prompt is not None
        pid = self._start_in_foreground(step)
        self.console.expect(step.prompt, step.timeout, f"the prompt of `{step.command}`")
        records: list[Record] = []
        for line in step.lines:
            self.console.sendline(line)
            self.console.expect(step.prompt, step.timeout, f"the prompt after typing {line!r}")
            records.append({"pid": pid, "line": line, **step.variables})
        self.console.sendeof()
        self.console.expect_prompt(step.timeout)
        return records

    def _spawn(self, step: Step) -> list[Record]:
        assert step.until is not None
        pid = self._start_in_foreground(step)
        self.console.expect(step.until, step.timeout, f"`{step.command}` to print {step.until!r}")
        output = self.console.last_output()
        self.console.interrupt()
        self.console.expect_prompt(step.timeout)
        own = {"pid": pid, **step.variables}
        return collect(step.collect, output, own) if step.collect else [own]


def collect(pattern: str, output: str, own: Record) -> list[Record]:
    """One record per output line the pattern matches: own fields and its groups."""
    found = map(re.compile(pattern).search, output.splitlines())
    return [{**own, **m.groupdict()} for m in found if m]


def resolve(step: Step, records: Mapping[str, Sequence[Record]]) -> Step:
    """The step with each ${record.field} of its command and vars filled in."""
    if not REFERENCE.search(" ".join((step.command, *step.variables.values()))):
        return step
    what = f"workload step `{step.command}`"
    return replace(step, command=fill(step.command, records, what),
                   variables={k: REFERENCE.sub(lambda m: _value(m, records, what), v)
                              for k, v in step.variables.items()})


def fill(command: str, records: Mapping[str, Sequence[Record]], what: str) -> str:
    """command with each ${record.field} replaced by that value, shell-quoted
    (StepFailed: no such record was made)."""
    return REFERENCE.sub(lambda m: shlex.quote(_value(m, records, what)), command)


def _value(match: re.Match[str], records: Mapping[str, Sequence[Record]], what: str) -> str:
    name, field_name = match.groups()
    made = records.get(name)
    if not made:
        raise StepFailed(f"{what} uses {match.group(0)}, but no step recorded {name!r} "
                         "before it")
    return str(made[-1][field_name])


def pid_pattern(mark: str) -> str:
    """The line that carries a pid. The newline matters: pexpect matches as output
    arrives, and "\\d+" alone would take the "1" of a "191" whose other digits are
    still on the wire."""
    return rf"{mark}=(\d+)\r*\n"


def in_background_with_pid(command: str, mark: str) -> str:
    """Run command as a child of the console shell, print its pid, wait for it.

    The pid printed is the command's from fork to exit, and nothing else ran
    under it: unlike `sh -c 'echo $$; exec cmd'`, no shell runs first as that
    pid, whose own events (a strlen probe fires in sh too) would be
    attributed to the command, and whose name trace_pipe may keep showing.
    The exit status is the command's (`wait`). mark (lab.guestvm.console.new_marker)
    is fresh, so the command's own output cannot pass for the pid line."""
    return f"{command} & echo {typed(mark)}=$!; wait $!"


def with_pid(command: str, mark: str) -> str:
    """Run command as a process whose pid is printed first (exec keeps the pid)."""
    return "sh -c " + shlex.quote(f"echo {typed(mark)}=$$; exec {command}")


def pid_from(output: str, command: str, mark: str) -> str:
    match = re.search(pid_pattern(mark), output)
    if not match:
        raise StepFailed(f"`{command}` did not report its pid; output: {output[-500:]!r}")
    return match.group(1)

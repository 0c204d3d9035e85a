"""lab.guestvm.prebuild without a VM: the job and driver scripts run for real in a
host shell, with the guest's paths moved under a temporary directory, so what
is tested is the shell the guest runs: the same steps as a scenario's own turn,
a tar and a done mark only after every step succeeded, jobs side by side."""

from __future__ import annotations

import dataclasses
import subprocess
import tarfile
from pathlib import Path

import pytest

from lab.cache.build_cache import BuildCache
from lab.errors import GuestError
from lab.guestvm import session
from lab.guestvm.build_steps import build_steps
from lab.guestvm.console import CommandResult
from lab.guestvm.prebuild import DONE, PREBUILD, Job, Prebuilder, job_script, planned_jobs
from lab.guestvm.session import KernelLab
from lab.guestvm.workspace import RO_DIR, SHARE_DIR
from lab.scenario import Incompatibility, Scenario, load_scenarios
from lab.settings import Settings

PROJECT = Path(__file__).resolve().parents[2]
# any shipped scenario: every field the tests use is replaced (tutorial())
SHIPPED = load_scenarios(PROJECT / "scenarios")[0]


def tutorial(root: Path, name: str, *commands: str) -> Scenario:
    """A tutorial named name whose build runs commands, its sources under root."""
    program = root / "bpf" / name
    program.mkdir(parents=True)
    (program / "prog.c").write_text(f"/* {name} */\n")
    return dataclasses.replace(SHIPPED, name=name, program=str(program), build=commands,
                               vmlinux_h=None)


class HostShell:
    """Runs a guest command in a host shell, the guest's paths moved under root:
    /lab/ro (the read-only share), /lab (the read-write one), /tmp/lab (builds)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.commands: list[str] = []

    def localize(self, text: str) -> str:
        builds = self.run_dir / "guest-tmp-lab"
        return (text.replace("/lab/ro", str(self.run_dir / RO_DIR))
                .replace("/tmp/lab/", f"{builds}/")
                .replace("/lab/", f"{self.run_dir / SHARE_DIR}/"))

    def run(self, command: str, timeout: float) -> CommandResult:
        self.commands.append(command)
        for script in (self.run_dir / RO_DIR / PREBUILD).glob("*.sh"):
            script.write_text(self.localize(script.read_text()))
        done = subprocess.run(["bash", "-c", self.localize(command)], capture_output=True,
                              text=True, timeout=timeout, check=False)
        return CommandResult(done.returncode, done.stdout)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    for share in (SHARE_DIR, RO_DIR):
        (tmp_path / "run" / share).mkdir(parents=True)
    return tmp_path / "run"


def prebuild(run_dir: Path, cache: BuildCache, scenarios: list[Scenario],
             parallel: int = 2) -> tuple[object, HostShell]:
    shell = HostShell(run_dir)
    jobs = planned_jobs(scenarios, lambda s: f"key-{s.name}", cache, "6.1")
    report = Prebuilder(shell, run_dir, PROJECT, cache, "6.1.0-99-amd64", parallel).run(jobs)
    return report, shell


def test_only_scenarios_that_build_something_not_stored_are_built_ahead_once_each(
        tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    cache.store("key-stored", b"tar", {})
    scenarios = [tutorial(tmp_path, "fresh", "make"), tutorial(tmp_path, "stored", "make"),
                 tutorial(tmp_path, "nothing-to-build")]
    jobs = planned_jobs([*scenarios, scenarios[0]], lambda s: f"key-{s.name}", cache, "6.1")

    assert [job.name for job in jobs] == ["fresh"]
    assert jobs[0].steps == tuple(build_steps(scenarios[0])), "the steps of its own turn"


def test_a_build_expected_to_fail_on_the_line_is_not_built_ahead_there(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    fails_on_72 = dataclasses.replace(tutorial(tmp_path, "kprobe-like", "make"), incompatible={
        "7.2": Incompatibility("build", "no member named 'name'", "moved into a struct"),
        "5.10": Incompatibility("load", "invalid argument", "no such helper")})

    def planned(line: str) -> list[str]:
        return [j.name for j in planned_jobs([fails_on_72], lambda s: s.name, cache, line)]

    assert planned("7.2") == []
    assert planned("5.10") == ["kprobe-like"], "a build that passes, then fails to load"
    assert planned("6.1") == ["kprobe-like"]


def test_a_job_runs_the_scenarios_own_steps_in_its_own_build_directory(
        tmp_path: Path) -> None:
    with_header = dataclasses.replace(
        tutorial(tmp_path, "some-tutorial", "clang -c prog.c -o prog.o", "make"),
        vmlinux_h="include/vmlinux.h")
    job = Job(with_header.name, with_header.program, "k", tuple(build_steps(with_header)),
              needs_vmlinux_h=True)
    script = job_script(job)

    assert "cd /tmp/lab/some-tutorial &&\n   cp -r /lab/ro/src/some-tutorial/. . &&" in script
    positions = [script.index(step.command) for step in build_steps(with_header)]
    assert positions == sorted(positions), "the steps in the scenario's order"
    assert script.index(f"echo {DONE}") > positions[-1]


def test_successful_builds_are_stored_and_failed_ones_are_left_to_their_turn(
        tmp_path: Path, run_dir: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    good = tutorial(tmp_path, "good", "cc_output=$(cat prog.c) && echo \"$cc_output\" > prog.o")
    bad = tutorial(tmp_path, "bad", "echo 'prog.c:1: error: expected ;' >&2; exit 1",
                   "touch never-made")

    report, _ = prebuild(run_dir, cache, [good, bad])

    assert report.built == ("good",) and report.failed == ("bad",)  # type: ignore[attr-defined]
    stored = cache.lookup("key-good")
    assert stored is not None
    with tarfile.open(stored) as tar:
        assert {"./prog.c", "./prog.o"} <= set(tar.getnames())
    assert cache.lookup("key-bad") is None, "a failed build is never stored"
    assert "expected ;" in (run_dir / SHARE_DIR / PREBUILD / "bad" / "build.log").read_text()
    assert not (run_dir / SHARE_DIR / PREBUILD / "bad" / "build.tar").exists()
    assert not list((run_dir / "guest-tmp-lab").iterdir()), "build directories left behind"


def test_jobs_run_side_by_side_up_to_the_parallelism(tmp_path: Path, run_dir: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    slow = [tutorial(tmp_path, f"slow{i}", "sleep 1") for i in range(3)]

    report, _ = prebuild(run_dir, cache, slow, parallel=2)

    spans = report.spans  # type: ignore[attr-defined]
    assert sorted(spans) == ["slow0", "slow1", "slow2"]
    (a0, a1), (b0, b1), (c0, _) = spans["slow0"], spans["slow1"], spans["slow2"]
    assert max(a0, b0) < min(a1, b1), "the first two ran at the same time"
    assert c0 >= min(a1, b1) - 0.05, "the third waited for a free slot"


def test_vmlinux_h_is_made_before_the_jobs_only_when_one_wants_it(tmp_path: Path,
                                                                   run_dir: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    _, shell = prebuild(run_dir, cache, [tutorial(tmp_path, "plain", "true")])
    assert "bpftool" not in shell.commands[0]
    wants = dataclasses.replace(tutorial(tmp_path, "wants", "true"), vmlinux_h="vmlinux.h")
    jobs = planned_jobs([wants], lambda s: "k", cache, "6.1")
    from lab.guestvm.prebuild import driver_command
    command = driver_command(jobs, 2)
    assert command.index("bpftool btf dump") < command.index("xargs -P 2")


class FakeVM:
    alive = True

    def __init__(self) -> None:
        self.spec = dataclasses.make_dataclass("Spec", ["cpus", "release"])(2, "6.1.0-99-amd64")
        self.console = object()

    def close(self) -> None:
        self.alive = False


class FakeRunner:
    needs_reboot = False
    usable = True

    def __init__(self, cache: BuildCache) -> None:
        self.builds = cache

    def build_key(self, scenario: Scenario) -> str:
        return f"key-{scenario.name}"


def test_a_guest_lost_while_building_ahead_is_replaced_and_nothing_is_tried_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(project=PROJECT, cache=tmp_path / "cache", output=tmp_path / "out",
                        accel="tcg")
    lab = KernelLab(settings, "6.1")
    runner = FakeRunner(BuildCache(tmp_path / "cache"))
    lab._vm, lab._runner = FakeVM(), runner  # type: ignore[assignment]
    runs = []

    def guest_panics(self: Prebuilder, jobs: object) -> None:
        runs.append(jobs)
        raise GuestError("the guest went away while waiting for the shell prompt "
                         "(kernel panic: sysrq triggered crash)")

    monkeypatch.setattr(session.Prebuilder, "run", guest_panics)
    crashing = tutorial(tmp_path, "crashing", "echo c > /proc/sysrq-trigger")

    assert lab.prebuild([crashing]) is None
    assert runner.needs_reboot, "the guest that died building ahead is replaced"
    runner.needs_reboot = False
    assert lab.prebuild([crashing]) is None
    assert len(runs) == 1, "a build that brought the guest down is not tried ahead again"

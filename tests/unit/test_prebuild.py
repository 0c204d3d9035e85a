"""lab.guestvm.prebuild and the build steps without a VM: the job and driver
scripts, and a scenario's own-turn build, run for real in a host shell with the
guest's paths moved under a temporary directory, so what is tested is the shell
the guest runs: the same steps as a scenario's own turn, a tar and a done mark
only after every step succeeded, jobs side by side, and a build stored only when
it is what its key describes, whatever ran before it or beside it."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from fake_guest import Answer, FakeGuest, fake_session

from lab.cache.build_cache import BuildCache, BuildInputs, SourceError, source_digests
from lab.errors import GuestError
from lab.guestvm import session
from lab.guestvm.build_seal import Seal
from lab.guestvm.build_steps import GUEST_BTF, build_steps
from lab.guestvm.cell import Cell
from lab.guestvm.console import CommandResult
from lab.guestvm.prebuild import (
    DONE,
    PREBUILD,
    Job,
    Prebuilder,
    PrebuildReport,
    job_script,
    planned_jobs,
)
from lab.guestvm.runner import ScenarioRunner
from lab.guestvm.session import KernelLab
from lab.guestvm.untrusted import read_untrusted
from lab.guestvm.workspace import RO_DIR, SHARE_DIR, Workspace
from lab.scenario import Incompatibility, Scenario, load_scenarios
from lab.verdicts.outcome import Outcome

PROJECT = Path(__file__).resolve().parents[2]
# any shipped scenario: every field the tests use is replaced (tutorial())
SHIPPED = load_scenarios(PROJECT / "scenarios")[0]
RELEASE = "6.1.0-99-amd64"
BTF = b"the running kernel's BTF\n"  # what vmlinux.h is dumped from (cat stands in for bpftool)
TOOLS = {"ecc": "e" * 64}


def tutorial(root: Path, name: str, *commands: str, vmlinux_h: str | None = None) -> Scenario:
    """A tutorial named name whose build runs commands, its sources under root."""
    program = root / "bpf" / name
    program.mkdir(parents=True)
    (program / "prog.c").write_text(f"/* {name} */\n")
    return dataclasses.replace(SHIPPED, name=name, program=str(program), build=commands,
                               vmlinux_h=vmlinux_h)


def inputs(scenario: Scenario, tools: dict[str, str] = TOOLS) -> BuildInputs:
    return BuildInputs(source_digests(Path(scenario.program)), scenario.build,
                       scenario.vmlinux_h, RELEASE, hashlib.sha256(BTF).hexdigest(), "t" * 64,
                       tools)


class HostShell:
    """Runs a guest command in a host shell, the guest's paths moved under root:
    /lab/ro (the read-only share), /lab (the read-write one), /tmp/lab (builds),
    /tmp/lab-kernel, /tmp/lab-tools, the kernel's BTF. Like the console's shell it
    keeps its directory from one command to the next, and `before` stands for
    what earlier cells left in it (exported variables, functions)."""

    def __init__(self, run_dir: Path, before: str = "") -> None:
        self.run_dir = run_dir
        self.before = before
        self.cwd = str(run_dir)
        self.commands: list[str] = []

    def localize(self, text: str) -> str:
        builds, root = self.run_dir / "guest-tmp-lab", self.run_dir
        return (text.replace("/lab/ro", str(root / RO_DIR))
                .replace(GUEST_BTF, str(root / "btf"))
                .replace("/proc/self/mounts", str(root / "mounts"))
                .replace("bpftool btf dump file", "cat").replace(" format c", "")
                .replace("/tmp/lab-kernel", f"{root}/guest-tmp-lab-kernel")
                .replace("/tmp/lab-tools", f"{root}/guest-tmp-lab-tools")
                .replace("/tmp/lab/", f"{builds}/")
                .replace("/lab/", f"{root / SHARE_DIR}/"))

    def run(self, command: str, timeout: float) -> CommandResult:
        self.commands.append(command)
        for script in (self.run_dir / RO_DIR).glob("*/*.sh"):  # jobs, seals
            script.write_text(self.localize(script.read_text()))
        where = self.run_dir / "cwd"
        line = (f"{self.before}\ncd {self.cwd}\n{self.localize(command)}\n"
                f"status=$?; pwd > {where}; exit $status")
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True,
                              timeout=timeout, check=False)
        self.cwd = where.read_text().strip()
        return CommandResult(done.returncode, done.stdout)

    def check(self, command: str, timeout: float) -> str:
        result = self.run(command, timeout)
        assert result.status == 0, f"{command}: {result.output}"
        return result.output

    @property
    def release(self) -> str:
        return RELEASE

    def read_share(self, relative: str) -> str:
        return read_untrusted(self.run_dir / SHARE_DIR, relative)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    for share in (SHARE_DIR, RO_DIR):
        (tmp_path / "run" / share).mkdir(parents=True)
    (tmp_path / "run" / "btf").write_bytes(BTF)
    write_mounts(tmp_path / "run")
    return tmp_path / "run"


def write_mounts(run_dir: Path) -> None:
    """The guest's mount table as virtme-ng leaves it: a writable overlay on /usr,
    its upper layer (what was written since boot) a directory of the run."""
    upper = run_dir / "usr-upper"
    upper.mkdir()
    (run_dir / "mounts").write_text(
        "/dev/vda / squashfs ro,relatime 0 0\n"
        f"virtme_rw_overlay5 /usr overlay rw,relatime,lowerdir=/usr,upperdir={upper},"
        f"workdir={run_dir}/usr-work 0 0\n"
        "virtme.initmount0 /lab 9p rw,sync 0 0\n")


class Guest:
    """One booted 'guest' in a host shell: its runner (own turns, keys, the boot's
    vmlinux.h) and the build cache, built ahead or on a scenario's own turn."""

    def __init__(self, run_dir: Path, cache: BuildCache, before: str = "") -> None:
        self.run_dir = run_dir
        self.cache = cache
        self.shell = HostShell(run_dir, before)
        self.runner = ScenarioRunner(self.shell, PROJECT, {},  # type: ignore[arg-type]
                                     run_dir, run_dir / RO_DIR, cache, "t" * 64)

    def ahead(self, scenarios: list[Scenario], parallel: int = 2) -> PrebuildReport:
        jobs = planned_jobs(scenarios, self.runner.build_inputs, self.cache, "6.1")
        return Prebuilder(self.shell, self.run_dir, PROJECT, self.cache, RELEASE, parallel,
                          self.runner.boot).run(jobs)

    def build(self, way: str, scenario: Scenario) -> str:
        """Build the scenario ahead or on its own turn; its build log (and, ahead,
        why it was not stored)."""
        if way == "ahead":
            report = self.ahead([scenario])
            log = self.run_dir / SHARE_DIR / PREBUILD / scenario.name / "build.log"
            return log.read_text() + "\n".join(report.refused.values())
        work = Workspace(self.run_dir, scenario.name, Path(scenario.program))
        (self.run_dir / SHARE_DIR / "out" / scenario.name).mkdir(parents=True, exist_ok=True)
        cell = Cell(scenario, work, Outcome(scenario.name))
        self.runner.builder.build(cell, self.runner.build_inputs(scenario))
        return work.read("build")

    def stored(self, scenario: Scenario) -> dict[str, bytes] | None:
        """The files of the scenario's stored build, or None."""
        tar = self.cache.lookup(self.runner.build_key(scenario))
        if tar is None:
            return None
        with tarfile.open(tar) as archive:
            return {member.name: archive.extractfile(member).read()  # type: ignore[union-attr]
                    for member in archive.getmembers() if member.isfile()}


WAYS = ["ahead", "own turn"]


def prebuild(run_dir: Path, cache: BuildCache, scenarios: list[Scenario],
             parallel: int = 2) -> tuple[PrebuildReport, HostShell]:
    guest = Guest(run_dir, cache)
    return guest.ahead(scenarios, parallel), guest.shell


def test_only_scenarios_that_build_something_not_stored_are_built_ahead_once_each(
        tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    scenarios = [tutorial(tmp_path, "fresh", "make"), tutorial(tmp_path, "stored", "make"),
                 tutorial(tmp_path, "nothing-to-build")]
    cache.store(inputs(scenarios[1]).key(), b"tar", {})
    jobs = planned_jobs([*scenarios, scenarios[0]], inputs, cache, "6.1")

    assert [job.name for job in jobs] == ["fresh"]
    assert jobs[0].steps == tuple(build_steps(scenarios[0])), "the steps of its own turn"
    assert jobs[0].key == inputs(scenarios[0]).key()


def test_a_build_expected_to_fail_on_the_line_is_not_built_ahead_there(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    fails_on_72 = dataclasses.replace(tutorial(tmp_path, "kprobe-like", "make"), incompatible={
        "7.2": Incompatibility("build", "no member named 'name'", "moved into a struct"),
        "5.10": Incompatibility("load", "invalid argument", "no such helper")})

    def planned(line: str) -> list[str]:
        return [j.name for j in planned_jobs([fails_on_72], inputs, cache, line)]

    assert planned("7.2") == []
    assert planned("5.10") == ["kprobe-like"], "a build that passes, then fails to load"
    assert planned("6.1") == ["kprobe-like"]


def test_a_tutorial_whose_sources_are_refused_is_left_to_its_own_turn(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    leaking = tutorial(tmp_path, "leaking", "make")
    (tmp_path / "host-file").write_text("a host secret\n")
    Path(leaking.program, "secret.h").symlink_to(tmp_path / "host-file")
    assert planned_jobs([leaking], inputs, cache, "6.1") == []


def test_on_its_own_turn_a_tutorial_whose_sources_are_refused_is_never_copied(
        tmp_path: Path, run_dir: Path) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    leaking = tutorial(tmp_path, "leaking", "make")
    (tmp_path / "host-file").write_text("a host secret\n")
    Path(leaking.program, "secret.h").symlink_to(tmp_path / "host-file")
    with pytest.raises(SourceError, match="secret.h links to .*outside the tutorial's directory"):
        guest.build("own turn", leaking)
    assert not list(run_dir.rglob("secret.h")), "refused before the copy into the share"


def test_a_job_runs_the_scenarios_own_steps_in_its_own_build_directory(
        tmp_path: Path) -> None:
    with_header = tutorial(tmp_path, "some-tutorial", "clang -c prog.c -o prog.o", "make",
                           vmlinux_h="include/vmlinux.h")
    job = Job(with_header.name, with_header.program, inputs(with_header),
              tuple(build_steps(with_header)), with_header.vmlinux_h)
    script = job_script(job)

    assert "cd /tmp/lab/some-tutorial &&\n   cp -r /lab/ro/src/some-tutorial/. . &&" in script
    positions = [script.index(step.command) for step in build_steps(with_header)]
    assert positions == sorted(positions), "the steps in the scenario's order"
    assert script.index(f"echo {DONE}") > positions[-1]


def test_successful_builds_are_stored_and_failed_ones_are_left_to_their_turn(
        tmp_path: Path, run_dir: Path) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    good = tutorial(tmp_path, "good", "cc_output=$(cat prog.c) && echo \"$cc_output\" > prog.o")
    bad = tutorial(tmp_path, "bad", "echo 'prog.c:1: error: expected ;' >&2; exit 1",
                   "touch never-made")

    report = guest.ahead([good, bad])

    assert report.built == ("good",) and report.failed == ("bad",)
    assert report.refused == {}, "a failed build is not a refused one"
    files = guest.stored(good)
    assert files is not None and {"./prog.c", "./prog.o"} <= set(files)
    assert guest.stored(bad) is None, "a failed build is never stored"
    assert "expected ;" in (run_dir / SHARE_DIR / PREBUILD / "bad" / "build.log").read_text()
    assert not list((run_dir / SHARE_DIR / PREBUILD / "bad").glob("*.tar"))
    assert not list((run_dir / "guest-tmp-lab").iterdir()), "build directories left behind"


def test_jobs_run_side_by_side_up_to_the_parallelism(tmp_path: Path, run_dir: Path) -> None:
    cache = BuildCache(tmp_path / "cache")
    slow = [tutorial(tmp_path, f"slow{i}", "sleep 1") for i in range(3)]

    report, _ = prebuild(run_dir, cache, slow, parallel=2)

    spans = report.spans
    assert sorted(spans) == ["slow0", "slow1", "slow2"]
    (a0, a1), (b0, b1), (c0, _) = spans["slow0"], spans["slow1"], spans["slow2"]
    assert max(a0, b0) < min(a1, b1), "the first two ran at the same time"
    assert c0 >= min(a1, b1) - 0.05, "the third waited for a free slot"


def test_vmlinux_h_is_dumped_once_per_boot_before_the_jobs_only_when_one_wants_it(
        tmp_path: Path, run_dir: Path) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    guest.ahead([tutorial(tmp_path, "plain", "true")])
    assert not any("btf dump" in command for command in guest.shell.commands)

    wants = [tutorial(tmp_path, f"wants{i}", "true", vmlinux_h="vmlinux.h") for i in (1, 2)]
    guest.ahead(wants[:1])
    guest.ahead(wants[1:])
    dumps = [i for i, command in enumerate(guest.shell.commands) if "btf dump" in command]
    drivers = [i for i, command in enumerate(guest.shell.commands) if "xargs -P" in command]
    assert len(dumps) == 1, "dumped again in the same boot"
    assert dumps[0] < drivers[1]
    for scenario in wants:
        files = guest.stored(scenario)
        assert files is not None and files["./vmlinux.h"] == BTF


# --- a stored build is what its key describes, whatever ran before or beside it ----

HOSTILE = "hostile"  # what a tool or variable an earlier cell left behind writes


def hostile_console(run_dir: Path) -> str:
    """What earlier cells could leave in the console's shell: a PATH ahead of the
    lab's tools, variables a Makefile reads, a BASH_ENV, a function named ecc."""
    evil = run_dir / "earlier-cell"
    evil.mkdir()
    (evil / "ecc").write_text(f"#!/bin/sh\necho {HOSTILE} > ecc-ran\n")
    (evil / "ecc").chmod(0o755)
    (evil / "bash_env").write_text(f"echo {HOSTILE} > bash-env-ran\n")
    return (f"export PATH={evil}:$PATH ARCH={HOSTILE} CC={HOSTILE} BASH_ENV={evil}/bash_env; "
            f"ecc() {{ echo {HOSTILE} > ecc-function-ran; }}; export -f ecc")


@pytest.mark.parametrize("way", WAYS)
def test_a_build_runs_the_lab_tools_its_key_names_in_a_clean_environment(
        tmp_path: Path, run_dir: Path, way: str) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"), hostile_console(run_dir))
    probe = tutorial(tmp_path, "probe", "command -v ecc > ecc-path",
                     'echo "arch=$ARCH cc=$CC" > env-seen', "ecc prog.c 2> ecc-said || true")

    guest.build(way, probe)

    files = guest.stored(probe)
    assert files is not None, "a clean build was not stored"
    assert files["./ecc-path"].decode().strip() == str(run_dir / RO_DIR / "bin" / "ecc")
    assert files["./env-seen"] == b"arch= cc=\n"
    assert not {"./ecc-ran", "./bash-env-ran", "./ecc-function-ran"} & set(files), \
        "something an earlier cell left ran in the build"


def change_a_tool(scenario: Scenario) -> str:
    return "echo '# changed' >> /lab/ro/bin/ecc.py"


def change_a_source(scenario: Scenario) -> str:
    return "echo '/* changed */' >> prog.c"


def change_vmlinux_h(scenario: Scenario) -> str:
    return "echo '/* changed */' >> vmlinux.h"


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(("change", "named"), [
    (change_a_tool, "lab tool ecc.py ("),
    (change_a_source, "source prog.c (./prog.c) was"),
    (change_vmlinux_h, "the boot's vmlinux.h (./vmlinux.h) was"),
], ids=["tool", "source", "vmlinux.h"])
def test_a_build_whose_inputs_changed_while_it_ran_is_not_stored(
        tmp_path: Path, run_dir: Path, way: str, change: Any, named: str) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    changing = tutorial(tmp_path, "changing", "touch prog.o", vmlinux_h="vmlinux.h")
    changing = dataclasses.replace(changing, build=(*changing.build, change(changing)))

    log = guest.build(way, changing)

    assert guest.stored(changing) is None, "stored under a key that does not describe it"
    assert f"lab: the build was not stored: {named}" in log


@pytest.mark.parametrize("way", WAYS)
def test_vmlinux_h_left_by_an_earlier_cell_is_not_built_on_or_stored(
        tmp_path: Path, run_dir: Path, way: str) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    shared = run_dir / "guest-tmp-lab-kernel" / "vmlinux.h"
    shared.parent.mkdir()
    shared.write_text("/* planted before the first build */\n")
    first = tutorial(tmp_path, "first", "true", vmlinux_h="vmlinux.h")

    guest.build(way, first)

    files = guest.stored(first)
    assert files is not None and files["./vmlinux.h"] == BTF, "built on a planted vmlinux.h"
    shared.write_text("/* changed by an earlier cell */\n")  # after this boot's dump
    second = tutorial(tmp_path, "second", "true", vmlinux_h="vmlinux.h")
    log = guest.build(way, second)
    assert guest.stored(second) is None
    assert "lab: the build was not stored: the boot's vmlinux.h (./vmlinux.h) was " in log


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("change", ["a file written", "a mount added"])
def test_a_build_after_a_cell_changed_the_guest_root_is_not_stored(
        tmp_path: Path, run_dir: Path, way: str, change: str) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))  # the root's state at boot
    before = tutorial(tmp_path, "before", "touch prog.o")
    guest.build(way, before)
    assert guest.stored(before) is not None
    if change == "a file written":  # a cell replaced clang: the overlay's upper layer has it
        (run_dir / "usr-upper" / "bin").mkdir()
        (run_dir / "usr-upper" / "bin" / "clang").write_text("#!/bin/sh\necho fake\n")
    else:  # a cell mounted its own directory over the compiler's
        with (run_dir / "mounts").open("a") as mounts:
            mounts.write("tmpfs /usr/lib/llvm-14/bin tmpfs rw 0 0\n")
    after = tutorial(tmp_path, "after", "touch prog.o")

    log = guest.build(way, after)

    assert guest.stored(after) is None, "stored though the root changed under the build"
    assert "lab: the build was not stored: the guest root (" in log


def test_a_build_beside_cannot_replace_another_builds_tar(tmp_path: Path,
                                                           run_dir: Path) -> None:
    guest = Guest(run_dir, BuildCache(tmp_path / "cache"))
    good = tutorial(tmp_path, "good", "echo object > prog.o")
    # waits for any other build's tar under /lab/prebuild, then writes over it
    forger = tutorial(tmp_path, "forger", "for i in $(seq 200); do "
                      "for t in /lab/prebuild/good/*.tar /lab/prebuild/good/build.tar; do "
                      "[ -s \"$t\" ] && sleep 0.2 && echo forged > \"$t\" && exit 0; done; "
                      "sleep 0.05; done")

    report = guest.ahead([forger, good])

    files = guest.stored(good)
    assert files is None or files.get("./prog.o") == b"object\n"
    assert files is None, "the forger found the tar: it must not be stored"
    assert report.refused["good"].endswith("the tar the host read is not the one the "
                                           "build wrote")


def test_the_tar_of_a_build_is_written_under_a_name_no_other_build_can_know(
        tmp_path: Path, run_dir: Path) -> None:
    for i in (1, 2):
        for share in (SHARE_DIR, RO_DIR):
            (run_dir / str(i) / share).mkdir(parents=True)
        (run_dir / str(i) / "btf").write_bytes(BTF)
        write_mounts(run_dir / str(i))
    first, second = (Guest(run_dir / str(i), BuildCache(tmp_path / f"cache{i}")) for i in (1, 2))
    names = []
    for guest, way in ((first, "ahead"), (second, "own turn")):
        scenario = tutorial(guest.run_dir, "same", "touch prog.o")
        guest.build(way, scenario)
        tars = list((guest.run_dir / SHARE_DIR).rglob("*.tar"))
        assert len(tars) == 1
        names.append(tars[0].name)
    assert names[0] != names[1] and "same" not in "".join(names)


def test_a_guest_lost_while_building_ahead_is_replaced_and_nothing_is_tried_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    booted: list[FakeGuest] = []
    lab = fake_session(tmp_path, monkeypatch, booted, PROJECT)
    lab.start()
    runs = []

    def guest_panics(self: Prebuilder, jobs: object) -> None:
        runs.append(jobs)
        raise GuestError("the guest went away while waiting for the shell prompt "
                         "(kernel panic: sysrq triggered crash)")

    monkeypatch.setattr(session.Prebuilder, "run", guest_panics)
    crashing = tutorial(tmp_path, "crashing", "echo c > /proc/sysrq-trigger")

    assert lab.prebuild([crashing]) is None
    assert lab.runner is not None and lab.runner.needs_reboot, \
        "the guest that died building ahead is replaced"
    lab.ensure_clean()
    assert len(booted) == 2
    assert lab.prebuild([crashing]) is None
    assert len(runs) == 1, "a build that brought the guest down is not tried ahead again"
    lab.close()


def test_builds_ahead_are_run_by_the_booted_guest_and_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    booted: list[FakeGuest] = []
    lab = fake_session(tmp_path, monkeypatch, booted, PROJECT)
    lab.start()

    report = lab.prebuild([tutorial(tmp_path, "fails", "false")])

    assert report is not None and report.failed == ("fails",)
    assert any("xargs -P 2" in command for command in booted[0].commands)
    assert "built 0 tutorial(s) ahead, 2 at a time" in capsys.readouterr().err
    lab.close()


def test_a_seal_is_accepted_only_with_one_matching_digest_per_check_and_the_tar(
        tmp_path: Path) -> None:
    scenario = tutorial(tmp_path, "sealed", "true")
    seal = Seal.of(inputs(scenario), None, root="a" * 64)
    tar = b"the tar's bytes"
    printed = [check.wanted for check in seal.checks] + [hashlib.sha256(tar).hexdigest()]

    assert seal.mismatch("\r\n".join(f"{line}  -" for line in printed), tar) == ""
    assert "digest(s)" in seal.mismatch("\n".join(printed[1:]), tar)
    assert "digest(s)" in seal.mismatch("\n".join(printed + printed[-1:]), tar)
    wrong_source = ["0" * 64, *printed[1:]]
    assert seal.mismatch("\n".join(wrong_source), tar).startswith("source prog.c (./prog.c)")
    assert seal.mismatch("\n".join(printed), tar + b"\0") == \
        "the tar the host read is not the one the build wrote"


OFFLINE = "/sys/devices/system/cpu/cpu1/online"


def started(where: Path, monkeypatch: pytest.MonkeyPatch,
            **vcpus: int | None) -> tuple[KernelLab, list[FakeGuest]]:
    """A fake 6.1 session, started, with these LAB_GUEST_CPUS/LAB_RUN_CPUS settings."""
    booted: list[FakeGuest] = []
    lab = fake_session(where, monkeypatch, booted, PROJECT, **vcpus)
    lab.start()
    return lab, booted


def test_the_extra_vcpus_go_offline_after_the_builds_ahead_once_per_guest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    lab, booted = started(tmp_path, monkeypatch, run_cpus=1)
    lab.prebuild([tutorial(tmp_path, "fails", "false")])
    lab.run(tutorial(tmp_path, "first", "true"))
    lab.run(tutorial(tmp_path, "second", "true"))

    commands = booted[0].commands
    offline = [i for i, command in enumerate(commands) if OFFLINE in command]
    builds = [i for i, command in enumerate(commands) if "xargs -P 2" in command]
    assert len(offline) == 1, "once per guest, not per scenario"
    assert builds and builds[-1] < offline[0], "the builds ahead had both vCPUs"
    assert "1 of 2 vCPUs left online" in capsys.readouterr().err

    booted[0].alive = False  # a new guest boots with every vCPU, and gives the extra up again
    lab.run(tutorial(tmp_path, "third", "true"))
    assert sum(OFFLINE in command for command in booted[1].commands) == 1
    lab.close()


@pytest.mark.parametrize("run_cpus", [None, 0, 2])
def test_a_guest_keeps_its_vcpus_unless_fewer_are_asked_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_cpus: int | None) -> None:
    lab, booted = started(tmp_path, monkeypatch, run_cpus=run_cpus)
    lab.run(tutorial(tmp_path, "first", "true"))

    assert not any("/sys/devices/system/cpu/" in command for command in booted[0].commands)
    lab.close()


def test_a_guest_that_refuses_to_give_up_a_vcpu_still_runs_the_scenario(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    lab, booted = started(tmp_path, monkeypatch, run_cpus=1)
    booted[0].on(OFFLINE, Answer(status=1, output="sh: write error: Device or resource busy"))
    outcome = lab.run(tutorial(tmp_path, "first", "true"))

    assert outcome.stage != "boot"
    assert "could not take vCPUs offline (sh: write error" in capsys.readouterr().err
    lab.close()


@pytest.mark.parametrize(("guest_cpus", "booted_with"), [(None, 2), (1, 1), (4, 4)])
def test_a_guest_boots_with_the_vcpus_it_is_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, guest_cpus: int | None,
        booted_with: int) -> None:
    lab, booted = started(tmp_path, monkeypatch, guest_cpus=guest_cpus)
    assert booted[0].cpus == booted_with
    lab.close()

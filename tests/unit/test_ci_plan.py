"""The workflow's plan (`lab ci plan`): cache keys that follow a shard's own
content, the tutorials a change touches, every cell owed by exactly one job, and
the merge of a run that lost a shard's column."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from fake_lab import use_lab_dirs
from series_project import make_project, scenario_text

from lab import cli
from lab.ci.content_key import roots_key
from lab.ci.git_changes import GitError, changed_paths
from lab.ci.plan import DEFAULT_SHARDS, RUNNERS, make_plan
from lab.ci.tutorial_files import changed_tutorials, tutorial_paths
from lab.errors import LabError
from lab.scenario import Scenario, load_scenarios
from lab.scenario.shards import Shard, in_shard, shard_of
from lab.verdicts.matrix_report import write_json
from lab.verdicts.verdict import MISSING, PASS, Cell

PROJECT = Path(__file__).resolve().parents[2]
WORKFLOW = PROJECT / ".github" / "workflows" / "lab.yml"
NAMES = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
TARGETS = ["6.1", "6.12", "6.1-arm64"]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project", {name: scenario_text() for name in NAMES})
    (root / "lab").mkdir()
    (root / "lab" / "runner.py").write_text("# the lab's code\n")
    use_lab_dirs(monkeypatch, root, tmp_path)
    return root


def scenarios(project: Path) -> list[Scenario]:
    return load_scenarios(project / "scenarios")


def keys(project: Path) -> dict[int, str]:
    """Each of two shards' builds key on 6.1, as the plan gives it."""
    plan = make_plan(project, ["6.1"], scenarios(project), 2, [])
    return {int(job["shard"][0]): job["builds_key"] for job in plan.shard_jobs}


def in_shard_of(index: int, count: int = 2) -> str:
    return next(name for name in NAMES if shard_of(name, count) == index)


# --- cache keys -------------------------------------------------------------------

@pytest.mark.parametrize("changed", ["bpf/{name}/prog.bpf.c", "scenarios/{name}.toml",
                                     "bpf/{name}/README.md", "bpf/{name}/sub/helper.h"])
def test_a_shards_key_changes_with_its_own_tutorial_and_no_other_shards(
        project: Path, changed: str) -> None:
    before = keys(project)
    mine, other = in_shard_of(1), in_shard_of(2)
    path = project / changed.format(name=mine)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as file:
        file.write("# changed\n")
    after = keys(project)
    assert after[1] != before[1], f"{changed} of {mine} (shard 1) changes shard 1's key"
    assert after[2] == before[2], f"shard 2 ({other}, ...) keeps its key"


def test_an_added_tutorial_leaves_the_other_shards_key(project: Path) -> None:
    before = keys(project)
    added = next(f"new-{n}" for n in range(100) if shard_of(f"new-{n}", 2) == 2)
    (project / "scenarios" / f"{added}.toml").write_text(scenario_text())
    (project / "bpf" / added).mkdir()
    (project / "bpf" / added / "prog.bpf.c").write_text("/* new */\n")
    after = keys(project)
    assert (after[1], after[2] != before[2]) == (before[1], True)


def test_what_every_cell_depends_on_changes_every_key_and_bytecode_does_not(
        project: Path) -> None:
    before = keys(project)
    (project / "lab" / "__pycache__").mkdir()
    (project / "lab" / "__pycache__" / "runner.cpython-311.pyc").write_bytes(b"\0")
    assert keys(project) == before, "Python's bytecode is no content"
    (project / "lab" / "runner.py").write_text("# the lab, changed\n")
    changed = keys(project)
    with (project / "vm" / "kernels.lock").open("a") as lock:
        lock.write("\n")
    relocked = keys(project)
    assert all(before[i] != changed[i] != relocked[i] for i in (1, 2))


def test_the_roots_key_follows_locks_recipes_and_the_roots_asked_for_not_programs(
        project: Path) -> None:
    def key() -> str:
        return roots_key(project, "6.1", scenarios(project))

    before = key()
    (project / "bpf" / "one" / "prog.bpf.c").write_text("/* changed */\n")
    (project / "lab" / "runner.py").write_text("# not lab/cache\n")
    assert key() == before
    text = (project / "scenarios" / "two.toml").read_text()
    (project / "scenarios" / "two.toml").write_text('guest_packages = ["strace"]\n' + text)
    asked = key()
    with (project / "vm" / "rootfs.lock").open("a") as lock:
        lock.write("\n")
    assert len({before, asked, key()}) == 3
    assert key().startswith("lab-roots-6.1-") and roots_key(
        project, "6.1-arm64", scenarios(project)).startswith("lab-roots-6.1-arm64-")


# --- changed tutorials --------------------------------------------------------------

def test_a_changed_path_touches_the_tutorials_whose_files_it_is(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {
        "one": scenario_text(), "one-two": scenario_text(),
        "doc": 'document = "docs/doc.md"\n' + scenario_text()})
    every = load_scenarios(root / "scenarios")
    assert tutorial_paths(every[0], root) == ("scenarios/doc.toml", "bpf/doc", "docs/doc.md")

    def touched(*paths: str) -> list[str]:
        return changed_tutorials(paths, every, root)

    assert touched("bpf/one-two/prog.bpf.c") == ["one-two"], "not `one`: a prefix is no folder"
    assert touched("bpf/one/deep/er/file.h", "scenarios/doc.toml") == ["doc", "one"]
    assert touched("docs/doc.md") == ["doc"]
    assert touched("lab/cli.py", "vm/kernels.lock", "README.md", "bpf/gone/x.c") == []


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], capture_output=True, text=True, check=True).stdout.strip()


def test_git_lists_the_changed_paths_a_renamed_file_under_both_names(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo" / "project", {"one": scenario_text(),
                                                        "two": scenario_text()})
    (tmp_path / "repo" / "elsewhere.txt").write_text("outside the project\n")
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "commit", "-qm", "base")
    base = git(tmp_path / "repo", "rev-parse", "HEAD")
    git(tmp_path / "repo", "mv", "project/bpf/one/prog.bpf.c", "project/bpf/one/main.bpf.c")
    (tmp_path / "repo" / "elsewhere.txt").write_text("changed\n")
    git(tmp_path / "repo", "commit", "-qam", "rename")
    (root / "scenarios" / "two.toml").write_text(scenario_text() + "\n")  # not committed

    assert sorted(changed_paths(root, base)) == [
        "bpf/one/main.bpf.c", "bpf/one/prog.bpf.c", "scenarios/two.toml"]
    assert changed_tutorials(changed_paths(root, base), load_scenarios(root / "scenarios"),
                             root) == ["one", "two"]
    with pytest.raises(GitError, match="--changed-since nope: git diff failed"):
        changed_paths(root, "nope")
    with pytest.raises(LabError, match="a revision, not an option"):
        changed_paths(root, "--output=/tmp/x")


# --- the plan ---------------------------------------------------------------------

def test_every_cell_is_owed_by_exactly_one_job_and_each_job_has_its_runner(
        project: Path) -> None:
    plan = make_plan(project, TARGETS, scenarios(project), 3, [])
    expected = [(e.kernel, e.tutorial) for e in plan.expected]
    assert sorted(expected) == sorted((t, n) for t in TARGETS for n in NAMES)
    for target in TARGETS:
        jobs = [j for j in plan.shard_jobs if j["target"] == target]
        assert sum(j["tutorials"] for j in jobs) == len(NAMES)
        assert [j["save_roots"] for j in jobs] == [True] + [False] * (len(jobs) - 1)
        for job in jobs:
            owed = [e.tutorial for e in plan.expected if job["artifact"] in e.job]
            assert sorted(owed) == sorted(n for n in NAMES if f"{shard_of(n, 3)}/3" ==
                                          job["shard"])
            assert job["runner"] == RUNNERS[job["arch"]] and job["save_builds"]
    assert {j["runner"] for j in plan.shard_jobs if j["target"] == "6.1-arm64"} == \
        {"ubuntu-24.04-arm"}
    assert plan.first_jobs == []


def test_changed_tutorials_run_first_on_every_target_and_their_shards_skip_them(
        project: Path) -> None:
    changed = [in_shard_of(1)]
    plan = make_plan(project, TARGETS, scenarios(project), 2, changed)
    assert plan.first == changed
    assert [j["target"] for j in plan.first_jobs] == TARGETS
    owner = {(e.kernel, e.tutorial): e.job for e in plan.expected}
    assert owner[("6.12", changed[0])] == \
        "the first job of 6.12 (artifact column-6.12-first)"
    shard = {j["shard"]: j for j in plan.shard_jobs if j["target"] == "6.12"}
    assert (shard["1/2"]["tutorials"], shard["1/2"]["save_builds"]) == (
        len([n for n in NAMES if shard_of(n, 2) == 1]) - 1, False)
    assert shard["2/2"]["save_builds"] and not any(j["save_roots"] for j in plan.shard_jobs)
    lines = dict(line.split("=", 1) for line in plan.outputs().splitlines())
    assert lines["first_scenarios"] == changed[0]
    assert json.loads(lines["shard"]) == {"include": plan.shard_jobs}
    assert json.loads(lines["first"]) == {"include": plan.first_jobs}


def test_too_many_changed_tutorials_run_in_their_shards_not_first(project: Path) -> None:
    plan = make_plan(project, ["6.1"], scenarios(project), 2, NAMES[:5])
    assert (plan.changed, plan.first, plan.first_jobs) == (NAMES[:5], [], [])
    assert sum(j["tutorials"] for j in plan.shard_jobs) == len(NAMES)


def test_a_shard_left_with_nothing_to_run_gets_no_job(project: Path) -> None:
    plan = make_plan(project, ["6.1"], scenarios(project), 20, [])
    assert len(plan.shard_jobs) == len({shard_of(n, 20) for n in NAMES}) < 20
    assert len(plan.expected) == len(NAMES)


def test_a_plan_github_cannot_run_is_refused(project: Path) -> None:
    with pytest.raises(LabError, match="at least one shard"):
        make_plan(project, TARGETS, scenarios(project), 0, [])
    with pytest.raises(LabError, match="a GitHub matrix runs at most 256"):
        make_plan(project, [f"6.{n}" for n in range(60)], scenarios(project), 8, [])


def test_a_plan_whose_shard_lost_its_column_merges_into_missing_cells(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole way: `lab ci plan`, the columns of every job but one, `lab report
    --expect`: that job's cells are missing, and the merge fails."""
    assert cli.main(["ci", "plan", "--shards", "2", "--arch", "x86_64",
                     "--out", str(tmp_path / "plan.json")]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    lost = plan["shard_jobs"][1]
    columns = []
    for job in plan["shard_jobs"]:
        if job is lost:
            continue
        shard = Shard(*map(int, job["shard"].split("/")))
        column = tmp_path / job["artifact"] / "report" / f"{job['target']}.json"
        column.parent.mkdir(parents=True)
        write_json(column, [Cell(job["target"], s.name, PASS, "", "expect")
                            for s in in_shard(scenarios(project), shard)])
        columns.append(str(column))
    capsys.readouterr()

    status = cli.main(["report", "--expect", str(tmp_path / "plan.json"),
                       "--out", str(tmp_path / "merged"), *columns])

    cells = json.loads((tmp_path / "merged" / "lab-report.json").read_text())
    gone = {(c["kernel"], c["tutorial"]) for c in cells if c["verdict"] == MISSING}
    assert gone == {(lost["target"], n) for n in NAMES
                    if f"{shard_of(n, 2)}/2" == lost["shard"]}
    assert status == 1
    assert f"no report from shard {lost['shard']} of {lost['target']} (artifact " \
           f"{lost['artifact']})" in capsys.readouterr().out


# --- the command ------------------------------------------------------------------

def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[dict[str, str], str]:
    assert cli.main(["ci", "plan", *args]) == 0
    out, err = capsys.readouterr()
    return dict(line.split("=", 1) for line in out.splitlines()), err


def test_lab_ci_plan_prints_githubs_outputs_and_writes_the_whole_plan(
        project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs, err = run_plan(capsys)
    jobs = json.loads(outputs["shard"])["include"]
    assert {j["target"] for j in jobs} == {"5.10", "6.1", "6.12", "7.2", "5.10-arm64",
                                           "6.1-arm64", "6.12-arm64", "7.2-arm64"}
    assert {j["shard"].split("/")[1] for j in jobs} == {str(DEFAULT_SHARDS)}
    assert (outputs["first"], outputs["first_scenarios"]) == ('{"include":[]}', "")
    written = json.loads((tmp_path / "out" / "ci-plan.json").read_text())
    assert written["shard_jobs"] == jobs and len(written["expected"]) == 8 * len(NAMES)
    assert f"8 targets x {DEFAULT_SHARDS} shards: {len(jobs)} shard jobs" in err
    arm, _ = run_plan(capsys, "--arch", "arm64", "--shards", "1")
    assert [j["target"] for j in json.loads(arm["shard"])["include"]] == [
        "5.10-arm64", "6.1-arm64", "6.12-arm64", "7.2-arm64"]


def test_lab_ci_plan_runs_first_what_changed_since_a_revision(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-qm", "base")
    base = git(project, "rev-parse", "HEAD")
    (project / "bpf" / "three" / "prog.bpf.c").write_text("/* changed */\n")
    outputs, err = run_plan(capsys, "--changed-since", base, "--arch", "x86_64")
    assert outputs["first_scenarios"] == "three"
    assert [j["target"] for j in json.loads(outputs["first"])["include"]] == [
        "5.10", "6.1", "6.12", "7.2"]
    assert "run first: three" in err
    for nothing in ("", "0" * 40):
        outputs, _ = run_plan(capsys, "--changed-since", nothing)
        assert outputs["first_scenarios"] == ""


def test_a_base_git_cannot_find_is_a_warning_and_nothing_runs_first(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs, err = run_plan(capsys, "--changed-since", "f" * 40)
    assert outputs["first_scenarios"] == "" and json.loads(outputs["shard"])["include"]
    assert f"lab: warning: --changed-since {'f' * 40}: git diff failed" in err
    assert err.rstrip().endswith(f"plan in {project.parent / 'out' / 'ci-plan.json'}")


# --- the workflow -----------------------------------------------------------------

def jobs_of(workflow: str) -> dict[str, str]:
    """Each job's text, by its name under `jobs:`."""
    body = workflow.split("\njobs:\n", 1)[1]
    parts = re.split(r"^  ([\w-]+):\n", body, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_workflow_reads_what_the_plan_writes(project: Path) -> None:
    """Each job's `matrix.X` is a field of its plan entries, and `needs.plan.outputs.X`
    a line of the plan's outputs: a renamed field would otherwise be an empty string
    on GitHub, not an error."""
    plan = make_plan(project, TARGETS, scenarios(project), 2, [in_shard_of(1)])
    outputs = {line.split("=", 1)[0] for line in plan.outputs().splitlines()}
    jobs = jobs_of(WORKFLOW.read_text())
    for name, entries in (("first", plan.first_jobs), ("shard", plan.shard_jobs)):
        used = set(re.findall(r"\bmatrix\.(\w+)", jobs[name]))
        assert used and used <= set(entries[0]), name
        assert f"fromJSON(needs.plan.outputs.{name})" in jobs[name]
    every = set(re.findall(r"needs\.plan\.outputs\.(\w+)", WORKFLOW.read_text()))
    assert every <= outputs
    assert '--shard "$SHARD" --skip-scenario "$SKIP"' in jobs["shard"]
    assert "lab report --expect plan/plan.json" in jobs["report"]

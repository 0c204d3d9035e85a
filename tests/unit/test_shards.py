"""The stable shard split (a tutorial's shard is a function of its name alone), and
its selection in pytest: `--shard K/N`, `--skip-scenario`, and tox passing them on."""

from __future__ import annotations

import configparser
from dataclasses import replace
from pathlib import Path

import pytest
from fake_lab import use_lab_dirs
from hypothesis import given, settings
from hypothesis import strategies as st
from series_project import make_project, scenario_text

from lab.names import NAME
from lab.scenario import Scenario, ScenarioError, load_scenario
from lab.scenario.shards import Shard, in_shard, parse_shard, shard_of, skipped

pytest_plugins = ["pytester"]

PROJECT = Path(__file__).resolve().parents[2]
TEMPLATE = load_scenario(PROJECT / "scenarios" / "minimal.toml")
# no example database: it would leave a .hypothesis/ directory in the checkout
PROPERTY = settings(max_examples=200, deadline=None, database=None)
names = st.from_regex(NAME, fullmatch=True).filter(lambda name: len(name) <= 40)
counts = st.integers(min_value=1, max_value=12)


def tutorials(of: list[str]) -> list[Scenario]:
    return [replace(TEMPLATE, name=name) for name in of]


def split(of: list[str], count: int) -> dict[str, int]:
    """Each tutorial's shard, as in_shard selects them."""
    return {s.name: index for index in range(1, count + 1)
            for s in in_shard(tutorials(of), Shard(index, count))}


@PROPERTY
@given(st.lists(names, unique=True, max_size=30), names, counts, st.integers(0, 30))
def test_adding_a_tutorial_anywhere_moves_no_other(
        existing: list[str], added: str, count: int, where: int) -> None:
    if added in existing:
        return
    before = split(existing, count)
    after = split([*existing[:where], added, *existing[where:]], count)
    assert {name: after[name] for name in existing} == before


@PROPERTY
@given(st.lists(names, unique=True, max_size=30), counts)
def test_every_tutorial_is_in_exactly_one_shard(existing: list[str], count: int) -> None:
    chosen = [s.name for index in range(1, count + 1)
              for s in in_shard(tutorials(existing), Shard(index, count))]
    assert sorted(chosen) == sorted(existing)


def test_the_split_never_changes_between_versions_of_the_lab() -> None:
    """Pinned: the workflow's caches are keyed by shard, and a column names its shard."""
    pinned = {"alpha": 3, "beta": 2, "gamma": 1, "omicron": 4, "pi": 2, "lambda": 3}
    assert {name: shard_of(name, 4) for name in pinned} == pinned
    assert [shard_of(name, 1) for name in pinned] == [1] * len(pinned)


@pytest.mark.parametrize(("text", "shard"), [("2/4", Shard(2, 4)), (" 1 / 1 ", Shard(1, 1)),
                                             ("4/4", Shard(4, 4))])
def test_a_shard_is_k_of_n_counted_from_one(text: str, shard: Shard) -> None:
    assert parse_shard(text) == shard
    assert str(shard) == text.replace(" ", "")


@pytest.mark.parametrize(("text", "problem"), [
    ("0/4", "--shard: 0/4 is not a shard: K/N needs 1 <= K <= N"),
    ("5/4", "--shard: 5/4 is not a shard"),
    ("1/0", "--shard: 1/0 is not a shard"),
    ("2", "--shard '2': say K/N, the K-th of N shards counted from 1 (e.g. --shard 2/4)"),
    ("-1/4", "say K/N"), ("a/b", "say K/N"), ("2/4/8", "say K/N"), ("", "say K/N"),
])
def test_a_bad_shard_says_what_is_wanted(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_shard(text)
    assert problem in str(raised.value)


def test_skipping_leaves_the_others_in_order_and_refuses_an_unknown_name() -> None:
    every = tutorials(["a", "b", "c", "d"])
    assert [s.name for s in skipped(every, ["c,a"], every)] == ["b", "d"]
    assert [s.name for s in skipped(every[:2], ["", "c"], every)] == ["a", "b"]
    with pytest.raises(ScenarioError) as raised:
        skipped(every, ["b,nope"], every)
    assert str(raised.value) == "--skip-scenario: no scenario named nope (known: a, b, c, d)"


# --- pytest ---------------------------------------------------------------------

LINE = "6.1"
MADE_UP = ["one", "two", "three", "four", "five", "six", "seven", "eight"]
TEST_FILE = """
def test_x(lab_kernel, lab_scenario):
    raise AssertionError("collection only: this must never run")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "project", {name: scenario_text() for name in MADE_UP})
    use_lab_dirs(monkeypatch, root, tmp_path)
    return root


def collected(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, list[str]]:
    pytester.makepyfile(test_x=TEST_FILE)
    result = pytester.runpytest_inprocess("--rootdir", str(pytester.path), "-p",
                                          "no:cacheprovider", "--kernel", LINE,
                                          "--collect-only", "-q", *args)
    tests = [line.split(f"[{LINE}-")[1].rstrip("]") for line in result.stdout.lines
             if line.startswith("test_x.py::")]
    return result, tests


def test_pytest_shard_option_collects_that_shard_and_the_shards_cover_the_table(
        project: Path, pytester: pytest.Pytester) -> None:
    seen = []
    for index in (1, 2, 3):
        result, tests = collected(pytester, "--shard", f"{index}/3")
        assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED)
        assert sorted(tests) == sorted(n for n in MADE_UP if shard_of(n, 3) == index)
        seen += tests
    assert sorted(seen) == sorted(MADE_UP)


def test_pytest_skip_scenario_leaves_those_out_of_the_shard_and_other_options_apply(
        project: Path, pytester: pytest.Pytester) -> None:
    mine = [n for n in MADE_UP if shard_of(n, 2) == 1]
    result, tests = collected(pytester, "--shard", "1/2", "--skip-scenario", mine[0],
                              "--skip-scenario", f"{MADE_UP[0]},{MADE_UP[1]}")
    assert result.ret == pytest.ExitCode.OK
    assert sorted(tests) == sorted(set(mine) - {mine[0], MADE_UP[0], MADE_UP[1]})
    result, tests = collected(pytester, "--shard", "1/2", "--scenario", ",".join(MADE_UP[:4]))
    assert sorted(tests) == sorted(set(mine) & set(MADE_UP[:4]))


@pytest.mark.parametrize(("args", "problem"), [
    (["--shard", "3/2"], "--shard: 3/2 is not a shard: K/N needs 1 <= K <= N"),
    (["--shard", "half"], "--shard 'half': say K/N"),
    (["--skip-scenario", "nope"], "--skip-scenario: no scenario named nope (known: "),
])
def test_pytest_refuses_a_bad_shard_or_skip_as_a_usage_error(
        project: Path, pytester: pytest.Pytester, args: list[str], problem: str) -> None:
    result, tests = collected(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert problem in result.stderr.str()
    assert tests == []


def test_tox_passes_its_posargs_to_the_kernel_envs_pytest() -> None:
    """`tox -e kernel-6.1 -- --shard 2/4`: what follows `--` reaches the plugin."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(PROJECT / "tox.ini")
    env = next(section for section in tox.sections() if section.startswith("testenv:kernel-"))
    commands = tox[env]["commands"].replace("\\\n", " ")
    pytest_line = next(line for line in commands.splitlines() if "pytest tests/vm" in line)
    assert pytest_line.split()[-1] == "{posargs}"

"""Every `lab` command parses its kernel line once, against the catalog and the lock,
before anything touches the disk: a path given as a line is a usage error and the
directory it names survives (`lab run --kernel ../../victim` emptied it). Scenario
names and file names a document chooses are checked before they become paths too."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_lab import use_lab_dirs

from lab import cli
from lab.cache.catalog import LockedKernel, load_catalog, load_lock

PROJECT = Path(__file__).resolve().parents[2]
KNOWN = ", ".join(load_catalog(PROJECT / "vm" / "kernels.toml"))
COMMANDS = {
    "run": ["run", "--kernel", "{}"],
    "prepare": ["prepare", "--kernel", "{}"],
    "shell": ["shell", "--kernel", "{}"],
    "kernels-fetch": ["kernels", "fetch", "{}"],
    "matrix": ["matrix", "{}"],
    "docs-verify": ["docs", "verify", "--kernel", "{}"],
    "docs-accept": ["docs", "accept", "--kernel", "{}"],
}


@pytest.fixture
def lab_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real project, with output and cache of this test's own."""
    use_lab_dirs(monkeypatch, PROJECT, tmp_path)
    return tmp_path


@pytest.fixture
def victim(lab_env: Path) -> Path:
    """A directory a user's `--kernel` might name: out/runs/../../victim is it too."""
    path = lab_env / "victim"
    path.mkdir()
    (path / "keep.txt").write_text("mine\n")
    return path


@pytest.mark.parametrize("how", ["relative", "absolute"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_path_given_as_a_kernel_line_is_refused_and_touches_nothing(
        lab_env: Path, victim: Path, command: str, how: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    line = "../../victim" if how == "relative" else str(victim)
    argv = [part.format(line) for part in COMMANDS[command]]

    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)

    assert (victim / "keep.txt").read_text() == "mine\n", "the directory named survives"
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert stopped.value.code == 2, "a usage error, before any handler ran"
    argument = "--kernel" if "--kernel" in argv else "lines"
    assert (f": error: argument {argument}: no kernel line {line!r} in the catalog "
            f"(known: {KNOWN})") in capsys.readouterr().err
    assert not (lab_env / "out").exists() and not (lab_env / "cache").exists(), \
        "nothing was written before the line was checked"


def test_a_good_line_reaches_the_command_as_the_locks_entry(
        lab_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []

    class NoGuest:
        def __init__(self, settings: object, kernel: object, **_: object) -> None:
            seen.append(kernel)

        def __enter__(self) -> NoGuest:
            return self

        def __exit__(self, *_: object) -> None:
            pass

        def prebuild(self, scenarios: object) -> None:
            pass

    monkeypatch.setattr(cli, "KernelLab", NoGuest)
    assert cli.main(["run", "--kernel", "6.1", "no-scenario-is-named-this"]) == 1
    assert seen == [], "an unknown scenario name stops the run before any kernel work"

    monkeypatch.setattr(cli, "chosen_scenarios", lambda scenarios, names: [])
    assert cli.main(["run", "--kernel", "6.1"]) == 0
    assert seen == [load_lock(PROJECT / "vm" / "kernels.lock")["6.1"]]
    assert isinstance(seen[0], LockedKernel)


def test_lab_run_names_an_unknown_scenario_and_the_known_ones(
        lab_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--kernel", "6.1", "no-scenario-is-named-this"]) == 1
    err = capsys.readouterr().err
    assert "no scenario named no-scenario-is-named-this (known: " in err
    assert not (lab_env / "out").exists()


DOCUMENT = """# A tutorial

<!-- lab: file={name} -->
```c
int main(void) {{ return 0; }}
```
"""


@pytest.mark.parametrize("name", ["../outside.c", "{tmp}/absolute.c", "link/through.c"])
def test_docs_extract_writes_only_inside_its_output_directory(
        lab_env: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = lab_env / "extracted"
    (out / "elsewhere").mkdir(parents=True)
    (out / "link").symlink_to(lab_env)
    document = lab_env / "README.md"
    document.write_text(DOCUMENT.format(name=name.format(tmp=lab_env)))

    assert cli.main(["docs", "extract", str(document), "--out", str(out)]) == 1

    assert "lab: error: the document names the file" in capsys.readouterr().err
    assert sorted(p.name for p in lab_env.iterdir()) == ["README.md", "extracted"]


def test_docs_extract_still_writes_a_file_in_a_subdirectory(lab_env: Path) -> None:
    out = lab_env / "extracted"
    document = lab_env / "README.md"
    document.write_text(DOCUMENT.format(name="src/prog.c"))

    assert cli.main(["docs", "extract", str(document), "--out", str(out)]) == 0
    assert (out / "src" / "prog.c").read_text() == "int main(void) { return 0; }\n"

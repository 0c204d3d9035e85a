"""The static document check's coverage on a corpus of published documents.

Each document of bench/docs_corpus.toml is read from its source (a file of the
project, a seed, or a file of a git mirror at the recorded commit) and checked
with `lab docs check --coverage --scenario ...`; the table counts, per
document, the documented output lines and how many got a verdict, by kind.

A document of a mirror is checked against its own sources, the directory
`sources` names at the same commit: the scenarios it names run on a project of
their own whose program directories are those sources (an eunomia-bpf example's
README against the example's bashreadline.bpf.c and .h, not the lab's chapter-5
program of the same name).

    python bench/docs_coverage.py [--corpus bench/docs_corpus.toml] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def materialise(entry: dict[str, str], work: Path, index: int) -> Path:
    """The document as a file: a path (relative to the project) or `git show`."""
    if "path" in entry:
        return (PROJECT / entry["path"]).resolve()
    mirror = (PROJECT / entry["mirror"]).resolve()
    text = subprocess.run(["git", "--git-dir", str(mirror), "show",
                           f"{entry['commit']}:{entry['file']}"],
                          check=True, capture_output=True, text=True).stdout
    target = work / f"{index:02d}-{entry['name'].replace(' ', '-')}.md"
    target.write_text(text, encoding="utf-8")
    return target


def own_sources(entry: dict[str, object], work: Path, index: int) -> Path:
    """A project whose scenarios (those the entry names) have the document's own
    sources as their program: `git archive` of the mirror's `sources` directory."""
    project = work / f"{index:02d}-project"
    (project / "scenarios").mkdir(parents=True)
    (project / "vm").symlink_to(PROJECT / "vm")
    mirror = (PROJECT / str(entry["mirror"])).resolve()
    sources = str(entry["sources"]).strip("/")
    archive = subprocess.run(["git", "--git-dir", str(mirror), "archive",
                              str(entry["commit"]), sources],
                             check=True, capture_output=True).stdout
    for name in entry["scenarios"]:  # type: ignore[attr-defined]
        shutil.copy(PROJECT / "scenarios" / f"{name}.toml", project / "scenarios")
        program = project / "bpf" / name
        program.mkdir(parents=True)
        subprocess.run(["tar", "-x", "-C", str(program),
                        f"--strip-components={sources.count('/') + 1}"],
                       input=archive, check=True)
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=PROJECT / "bench" / "docs_corpus.toml")
    parser.add_argument("--work", type=Path, help="where fetched documents go (default: temp)")
    args = parser.parse_args()
    corpus = tomllib.loads(args.corpus.read_text())["document"]
    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        documents = [(materialise(entry, work, i), entry) for i, entry in enumerate(corpus)]
        rows: list[str] = []
        for path, entry in documents:
            scenarios = [word for name in entry["scenarios"] for word in ("--scenario", name)]
            env = dict(os.environ)
            if "sources" in entry:
                env["LAB_PROJECT_DIR"] = str(own_sources(entry, work, len(rows)))
            out = subprocess.run([sys.executable, "-m", "lab.cli", "docs", "check", "--coverage",
                                  str(path), *scenarios], check=False, cwd=PROJECT,
                                 capture_output=True, text=True, env=env)
            table = [line for line in out.stdout.splitlines() if line.startswith("| ")]
            if len(table) < 2:
                print(out.stdout + out.stderr, file=sys.stderr)
                return 1
            rows.append(table[1].replace(str(path), entry["name"]))
        print("| document | output lines | with a verdict | share | verdicts |")
        print("|---|---|---|---|---|")
        print("\n".join(rows))
        lines = sum(int(row.split("|")[2]) for row in rows)
        judged = sum(int(row.split("|")[3]) for row in rows)
        print(f"| total | {lines} | {judged} | {judged / max(1, lines):.0%} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

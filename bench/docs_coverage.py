"""The static document check's coverage on a corpus of published documents.

Each document of bench/docs_corpus.toml is read from its source (a file of the
project, a seed, or a file of a git mirror at the recorded commit) and checked
with `lab docs check --coverage --scenario ...`; the table counts, per
document, the documented output lines and how many got a verdict, by kind.

    python bench/docs_coverage.py [--corpus bench/docs_corpus.toml] [--work DIR]
"""

from __future__ import annotations

import argparse
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
            out = subprocess.run([sys.executable, "-m", "lab.cli", "docs", "check", "--coverage",
                                  str(path), *scenarios], check=False, cwd=PROJECT,
                                 capture_output=True, text=True)
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

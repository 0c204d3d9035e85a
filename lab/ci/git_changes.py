"""The paths a checkout changed since a revision, as git says (process handling
only; lab.ci.tutorial_files maps them to tutorials)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.errors import LabError

NO_COMMIT = "0" * 40  # GitHub's `before` of a push that created its branch
GIT_SECONDS = 120


class GitError(LabError):
    """git could not say what changed (an unknown revision, no repository, no git)."""


def changed_paths(project: Path, since: str) -> list[str]:
    """`git diff --name-only SINCE` in the project: paths relative to it, a renamed
    file under both names, the working tree's changes included (in CI it is the
    commit). A GitError says why git could not answer."""
    if since.startswith("-"):
        raise LabError(f"--changed-since {since!r}: a revision, not an option")
    command = ["git", "-C", str(project), "diff", "--name-only", "--no-renames", "--relative",
               "-z", since, "--"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=GIT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"--changed-since {since}: cannot run git: {error}") from error
    if result.returncode != 0:
        said = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"--changed-since {since}: git diff failed (status {result.returncode})"
                       + (f": {said[-1]}" if said else ""))
    return [path for path in result.stdout.decode("utf-8", "surrogateescape").split("\0")
            if path]

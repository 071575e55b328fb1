"""The example lab (desired-state/) loaded the way the reconciler loads it: from a Git commit."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pygit2

from reconciler.models.desired import DesiredState
from reconciler.source.loader import load_commit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_LAB = ROOT / "desired-state"


def commit_lab(source: Path, target: Path) -> pygit2.Repository:
    """Copy a lab folder into target, make it a Git repository with one commit, and return it."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@localhost", "PATH": "/usr/bin:/bin", "HOME": str(target)}
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=env)
    subprocess.run(["git", "-C", str(target), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(target), "commit", "-q", "-m", "lab"], check=True, env=env)
    return pygit2.Repository(str(target))


def load_lab(source: Path = EXAMPLE_LAB) -> DesiredState:
    """The desired state of a lab folder, committed to a throwaway repository and loaded from it."""
    with tempfile.TemporaryDirectory(prefix="homeport-lab-") as tmp:
        repo = commit_lab(source, Path(tmp) / "lab")
        return load_commit(repo, repo.head.peel(pygit2.Commit))

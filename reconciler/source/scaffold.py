"""Creating a new lab repository from the example lab, committed on main."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pygit2

from reconciler.assets import asset_dir
from reconciler.source.errors import GitSourceError
from reconciler.source.gitrepo import commit_worktree
from reconciler.source.schemas import SCHEMA_GLOBS, write_schemas

LAB_GITIGNORE = ".homeport/\nrendered-configs/\n"


def create_lab(target: Path, *, example: Path | None = None) -> str:
    """Copy the example lab into target (new or empty), `git init` it and commit; return the commit id."""
    source = example or asset_dir("desired-state")
    if target.exists() and any(target.iterdir()):
        raise GitSourceError(f"{target} is not empty; choose a new folder for the lab")
    target.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, target, dirs_exist_ok=True)
        (target / ".gitignore").write_text(LAB_GITIGNORE, encoding="utf-8")
        write_schemas(target / "schemas")
        vscode = target / ".vscode"
        vscode.mkdir(exist_ok=True)
        (vscode / "settings.json").write_text(
            json.dumps({"yaml.schemas": SCHEMA_GLOBS}, indent=2) + "\n", encoding="utf-8"
        )
        repo = pygit2.init_repository(str(target), initial_head="main")
        commit = commit_worktree(repo, "Initial lab from the homeport example", branch="main")
    except Exception:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return str(commit)

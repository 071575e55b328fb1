"""A real lab for MCP and proposal tests: `homeport init` of the example lab, applied once on the sim provider."""

from __future__ import annotations

from pathlib import Path

import pygit2

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.source.scaffold import create_lab


def make_lab(target: Path, *, apply: bool = True) -> Path:
    """Create the example lab at target (a Git repository on main) and, by default, apply it once."""
    create_lab(target)
    if apply:
        session = LabSession.open(target, actor="test", actor_kind="human")
        try:
            result = reconcile(session, mode=Mode.auto, trigger="test")
            assert result.status == "ok", result.error
        finally:
            session.close()
    return target


def branches(lab: Path, prefix: str = "proposals/") -> dict[str, str]:
    """Local branches under prefix -> commit id."""
    repo = pygit2.Repository(str(lab))
    return {name: str(repo.branches.local[name].target) for name in repo.branches.local if name.startswith(prefix)}


def main_tip(lab: Path) -> str:
    """The commit main points at."""
    return str(pygit2.Repository(str(lab)).references["refs/heads/main"].target)

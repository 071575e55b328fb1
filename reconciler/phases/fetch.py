"""Fetch: resolve the revision to reconcile. Only commits on the lab's main branch are applied."""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from reconciler.phases.context import LabSession
from reconciler.source.errors import GitSourceError
from reconciler.source.gitrepo import resolve_commit


@dataclass(frozen=True)
class Revision:
    """A commit to reconcile and the ref it came from."""

    commit: pygit2.Commit
    ref: str
    on_main: bool

    @property
    def id(self) -> str:
        """The commit id."""
        return str(self.commit.id)


def fetch(session: LabSession, ref: str | None = None, *, main_branch: str = "main") -> Revision:
    """The commit at ref (default: the main branch), and whether it is on main."""
    target = ref or main_branch
    commit = resolve_commit(session.repo, target)
    main_ref = f"refs/heads/{main_branch}"
    if main_ref not in session.repo.references:
        raise GitSourceError(f"the lab has no {main_branch} branch; commit the lab on {main_branch} first")
    main_tip = session.repo.references[main_ref].target
    on_main = commit.id == main_tip or session.repo.descendant_of(main_tip, commit.id)
    return Revision(commit=commit, ref=target, on_main=bool(on_main))

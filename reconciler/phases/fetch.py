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


def local_branches(repo: pygit2.Repository) -> list[str]:
    """The repository's local branch names, sorted."""
    return sorted(repo.branches.local)


def checked_out_branch(repo: pygit2.Repository) -> str | None:
    """The branch HEAD is on (None when detached, unborn or bare without HEAD)."""
    try:
        if repo.head_is_detached or repo.head_is_unborn:
            return None
        return repo.head.shorthand
    except pygit2.GitError:
        return None


def missing_branch_message(repo: pygit2.Repository, main_branch: str) -> str:
    """What is there and what to do when the lab's main branch does not exist."""
    branches = local_branches(repo)
    if not branches:
        return (f"the lab has no commits yet (no branch {main_branch!r}); commit your lab first "
                f"(git add -A && git commit), on branch {main_branch}")
    others = [b for b in branches if not b.startswith("proposals/")] or branches
    shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
    other = others[0]
    return (f"the lab has no branch {main_branch!r}; its branches: {shown}. homeport applies one branch: "
            f"set `spec.main_branch: {other}` in homeport.yaml (and commit it), or rename the branch with "
            f"`git branch -m {other} {main_branch}`")


def fetch(session: LabSession, ref: str | None = None, *, main_branch: str = "main") -> Revision:
    """The commit at ref (default: the main branch), and whether it is on main."""
    target = ref or main_branch
    main_ref = f"refs/heads/{main_branch}"
    if main_ref not in session.repo.references:
        raise GitSourceError(missing_branch_message(session.repo, main_branch))
    commit = resolve_commit(session.repo, target)
    main_tip = session.repo.references[main_ref].target
    on_main = commit.id == main_tip or session.repo.descendant_of(main_tip, commit.id)
    return Revision(commit=commit, ref=target, on_main=bool(on_main))

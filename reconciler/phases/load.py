"""Load: the desired state of a revision (cached by blob id and by commit)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import Revision, checked_out_branch, fetch, missing_branch_message
from reconciler.source.errors import GitSourceError
from reconciler.source.loader import load_commit


def load(session: LabSession, revision: Revision) -> DesiredState:
    """Validated, resolved desired state; DesiredStateError lists every problem with file and line.

    Also selects the charts of this revision: homeport's own plus the lab's `charts/` folder, if it has one.
    """
    session.charts = session.charts_for(revision.commit)
    return load_commit(session.repo, revision.commit, session.cache)


def load_main(session: LabSession) -> DesiredState:
    """The desired state at the tip of the lab's main branch (`spec.main_branch`, `main` by default)."""
    return load_main_revision(session)[1]


def load_main_revision(session: LabSession) -> tuple[Revision, DesiredState]:
    """The revision and desired state at the tip of the lab's main branch (`spec.main_branch`, `main` by default).

    A lab without a `main` branch names its branch in homeport.yaml; that file is read from the branch
    checked out, and a clear message says what to do when neither matches.
    """
    repo = session.repo
    start = "main"
    if "refs/heads/main" not in repo.references:
        start = checked_out_branch(repo) or "main"
        if f"refs/heads/{start}" not in repo.references:
            raise GitSourceError(missing_branch_message(repo, "main"))
    revision = fetch(session, None, main_branch=start)
    state = load(session, revision)
    wanted = state.lab.spec.main_branch
    if wanted != start:
        if start != "main" and wanted == "main":
            raise GitSourceError(missing_branch_message(repo, "main"))
        revision = fetch(session, None, main_branch=wanted)
        state = load(session, revision)
    return revision, state

"""Load: the desired state of a revision (cached by blob id and by commit)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import Revision, fetch
from reconciler.source.loader import load_commit


def load(session: LabSession, revision: Revision) -> DesiredState:
    """Validated, resolved desired state; DesiredStateError lists every problem with file and line.

    Also selects the charts of this revision: homeport's own plus the lab's `charts/` folder, if it has one.
    """
    session.charts = session.charts_for(revision.commit)
    return load_commit(session.repo, revision.commit, session.cache)


def load_main(session: LabSession) -> DesiredState:
    """The desired state at the tip of the lab's main branch (`spec.main_branch`, `main` by default)."""
    state = load(session, fetch(session, None))
    if state.lab.spec.main_branch != "main":
        state = load(session, fetch(session, None, main_branch=state.lab.spec.main_branch))
    return state

"""Load: the desired state of a revision (cached by blob id and by commit)."""

from __future__ import annotations

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import Revision
from reconciler.source.loader import load_commit


def load(session: LabSession, revision: Revision) -> DesiredState:
    """Validated, resolved desired state; DesiredStateError lists every problem with file and line.

    Also selects the charts of this revision: homeport's own plus the lab's `charts/` folder, if it has one.
    """
    session.charts = session.charts_for(revision.commit)
    return load_commit(session.repo, revision.commit, session.cache)

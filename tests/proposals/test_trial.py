"""The derived proposal state equals what the full loader gives, valid or not."""

from __future__ import annotations

import pygit2
import pytest

from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.proposals.trial import trial_state
from reconciler.source.errors import DesiredStateError
from reconciler.source.gitrepo import commit_tree_changes
from reconciler.source.loader import LoadCache, load_commit

POOL = "/infrastructure/on-premise/sim/compute"


def _doc(name: str, extra: str = "", pool: str = POOL) -> bytes:
    return (f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: {name}}}\n"
            f"spec:\n  pool: {pool}\n  requirements: {{cpu: 1, memory_gb: 1}}\n{extra}").encode()


def _outcome(fn: object) -> object:
    try:
        state = fn()  # type: ignore[operator]
    except DesiredStateError as exc:
        return ("invalid", sorted(str(i) for i in exc.issues))
    return ("valid", sorted(state.resources), {n: e.model_dump() for n, e in state.effective.items()},
            dict(state.sources), state.pool_parents)


CASES = {
    "update": {"resources/web-frontend.yaml": _doc("web-frontend", "  dimensions: {tier: gold}\n")},
    "add": {"resources/grafana.yaml": _doc("grafana")},
    "remove": {"resources/ci-runner.yaml": None},
    "add two in one file": {"resources/pair.yaml": _doc("a1") + b"---\n" + _doc("a2")},
    "rename": {"resources/web-frontend.yaml": None,
               "resources/web-2.yaml": _doc("web-2", "  renamed_from: web-frontend\n")},
    "duplicate name": {"resources/dup.yaml": _doc("web-frontend")},
    "unknown pool": {"resources/grafana.yaml": _doc("grafana", pool="/nowhere")},
    "renamed_from a live resource": {"resources/grafana.yaml": _doc("grafana", "  renamed_from: ci-runner\n")},
    "bad yaml": {"resources/grafana.yaml": b"apiVersion: [\n"},
    "unknown field": {"resources/grafana.yaml": _doc("grafana", "  colour: blue\n")},
    "node outside pool": {"resources/grafana.yaml": _doc("grafana", "  placement: {node: elsewhere}\n")},
    "pool file changed": {"pools/sim-compute.yaml": None},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trial_equals_full_load(session: LabSession, case: str) -> None:
    """Same resources, effective definitions, sources and pool parents, or the same issues."""
    base = load(session, fetch(session, None))
    edits = CASES[case]
    oid = commit_tree_changes(session.repo, session.repo[base.revision], edits, case)
    head = session.repo[oid].peel(pygit2.Commit)
    full = _outcome(lambda: load_commit(session.repo, head, LoadCache()))
    derived = _outcome(lambda: trial_state(session, base, head, edits))
    assert derived == full

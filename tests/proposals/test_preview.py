"""The incremental preview (main's plan reused, only changed resources re-planned) equals a full plan."""

from __future__ import annotations

from pathlib import Path

from reconciler.cli.sim_commands import drift
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import observe_all
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.edits import new_object_edit, object_edit
from reconciler.proposals.preview import PreviewMemo, preview_plan
from reconciler.proposals.yamledit import set_path
from reconciler.source.gitrepo import commit_tree_changes


def _shape(plan: object) -> list[tuple[str, str, str, list[tuple[str, object, object]]]]:
    return [(c.resource, c.op.value, c.risk.value, [(f.path, f.old, f.new) for f in c.fields])
            for c in plan.changes]  # type: ignore[attr-defined]


def test_incremental_preview_matches_the_full_plan(lab: Path, session: LabSession) -> None:
    """With drift elsewhere, a new resource, a changed one and a removed one: same changes either way."""
    drift("web-frontend", ["cpu=9"], lab)
    base = load(session, fetch(session, None))
    grow = object_edit(session.repo, base, "UniversalResource", "ci-runner",
                       lambda d: set_path(d, ["spec", "requirements", "cpu"], 6))
    add = new_object_edit(base, "UniversalResource", "grafana", {"pool": "/infrastructure/on-premise/sim/compute",
                                                                 "requirements": {"cpu": 1, "memory_gb": 1}})
    removed = base.sources[("UniversalResource", "gpu-worker")].file
    edits: dict[str, bytes | None] = {grow[0]: grow[1], add[0]: add[1], removed: None}
    head = commit_tree_changes(session.repo, session.repo[base.revision], edits, "trial")
    full_state, full = preview_plan(session, str(head))
    observation = observe_all(session, full_state)
    memo = PreviewMemo()
    _, fast = preview_plan(session, str(head), observation, base, memo)
    assert _shape(fast) == _shape(full)
    ops = {c.resource: c.op.value for c in fast.changes}
    assert ops["grafana"] == "create" and ops["ci-runner"] == "update" and ops["gpu-worker"] == "delete"
    assert ops["web-frontend"] == "update" and next(c for c in fast.changes if c.resource == "web-frontend").drift
    _, again = preview_plan(session, str(head), observation, base, memo)
    assert _shape(again) == _shape(full) and memo.revision == base.revision
    p = propose(session, ProposalDraft(title="mixed", edits=edits), observation=observation, memo=memo)
    # The drift on web-frontend is main's, not the proposal's: reported apart (issue 15 item 4).
    assert p.plan["counts"] == {**full.counts(), "update": full.counts()["update"] - 1}
    assert [x["resource"] for x in p.plan["also_pending_on_main"]] == ["web-frontend"]

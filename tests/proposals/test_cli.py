"""`homeport proposals ...` and `homeport token ...` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.edits import new_object_edit
from reconciler.store.tokens import verify_token
from tests.backends.homeport_lab import main_tip

runner = CliRunner()


def _proposal(lab: Path) -> str:
    s = LabSession.open(lab, actor="agent:cli-test", actor_kind="agent")
    try:
        state = load(s, fetch(s, None))
        path, data = new_object_edit(state, "UniversalResource", "grafana",
                                     {"pool": "/infrastructure/on-premise/sim/compute",
                                      "requirements": {"cpu": 1, "memory_gb": 1}})
        return propose(s, ProposalDraft(title="Add grafana", edits={path: data}, reason="dashboards")).id
    finally:
        s.close()


def test_list_show_approve(lab: Path) -> None:
    """A person lists, reads and merges a proposal."""
    pid = _proposal(lab)
    listed = runner.invoke(app, ["proposals", "list", "--lab", str(lab), "-o", "json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout)[0]["id"] == pid
    shown = runner.invoke(app, ["proposals", "show", pid, "--lab", str(lab)])
    assert shown.exit_code == 0 and "Add grafana" in shown.stdout and "+name: grafana" in shown.stdout
    assert "create" in shown.stdout and "reason: dashboards" in shown.stdout
    merged = runner.invoke(app, ["proposals", "approve", pid, "--lab", str(lab), "-o", "json"])
    assert merged.exit_code == 0, merged.stdout
    assert json.loads(merged.stdout)["merged_commit"] == main_tip(lab)
    again = runner.invoke(app, ["proposals", "approve", pid, "--lab", str(lab)])
    assert again.exit_code == 1 and "is merged, not open" in again.stderr and "Traceback" not in again.output


def test_reject_and_unknown(lab: Path) -> None:
    """Reject closes it; an unknown id is one clear line and exit 1."""
    pid = _proposal(lab)
    rejected = runner.invoke(app, ["proposals", "reject", pid, "--lab", str(lab), "--reason", "not now"])
    assert rejected.exit_code == 0 and "rejected" in rejected.stdout
    unknown = runner.invoke(app, ["proposals", "show", "nope", "--lab", str(lab)])
    assert unknown.exit_code == 1 and "no proposal 'nope'" in unknown.stderr


def test_token_create_list_revoke(lab: Path) -> None:
    """The secret is printed once, stored hashed, listed without it, and revocable."""
    made = runner.invoke(app, ["token", "create", "claude", "--scopes", "read,propose", "--lab", str(lab),
                               "-o", "json"])
    assert made.exit_code == 0, made.output
    data = json.loads(made.stdout)
    secret = data["token"]
    assert secret.startswith("hpt_") and data["scopes"] == ["read", "propose"]
    db_bytes = (lab / ".homeport" / "state.db").read_bytes()
    assert secret.encode() not in db_bytes
    s = LabSession.open(lab)
    try:
        info = verify_token(s.db, secret, lab=load(s, fetch(s, None)).lab_name)
        assert info is not None and info.scopes == ("read", "propose")
    finally:
        s.close()
    listed = runner.invoke(app, ["token", "list", "--lab", str(lab), "-o", "json"])
    assert secret not in listed.stdout and json.loads(listed.stdout)[0]["name"] == "claude"
    assert json.loads(listed.stdout)[0]["last_used_at"] is not None
    bad = runner.invoke(app, ["token", "create", "x", "--scopes", "read,root", "--lab", str(lab)])
    assert bad.exit_code == 1 and "unknown scope(s) root" in bad.stderr
    revoked = runner.invoke(app, ["token", "revoke", "claude", "--lab", str(lab)])
    assert revoked.exit_code == 0
    s = LabSession.open(lab)
    try:
        assert verify_token(s.db, secret, lab=load(s, fetch(s, None)).lab_name) is None
    finally:
        s.close()

"""Proposals on a forge: the branch is pushed, a pull request opened (GitHub REST shape, served by a local
test server), approval merges it there; the token never reaches Git, the database or results."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

from reconciler.phases.context import LabSession
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.proposals.create import ProposalDraft, propose
from reconciler.proposals.edits import new_object_edit, object_edit
from reconciler.proposals.prbody import pull_request_body
from reconciler.proposals.review import approve
from reconciler.proposals.yamledit import set_path
from reconciler.source.gitrepo import commit_tree_changes
from tests.backends.homeport_lab import make_lab
from tests.proposals.forgesim import ForgeSim

TOKEN = "ghp_testtoken_" + "x" * 20
POOL = "/infrastructure/on-premise/sim/compute"


def _forge_lab(tmp: Path, url: str, kind: str = "github") -> Path:
    lab = make_lab(tmp / "lab")
    pygit2.init_repository(str(tmp / "forge.git"), bare=True)
    repo = pygit2.Repository(str(lab))
    repo.remotes.create("origin", str(tmp / "forge.git"))
    session = LabSession.open(lab)
    try:
        state = load(session, fetch(session, None))
        path, data = object_edit(repo, state, "Lab", "home", lambda d: set_path(
            d, ["spec", "proposals", "forge"], {"type": kind, "repo": "me/homelab", "url": url,
                                                "token_env": "HP_TEST_FORGE_TOKEN"}))
    finally:
        session.close()
    main = repo.references["refs/heads/main"]
    oid = commit_tree_changes(repo, repo[main.target], {path: data}, "configure the forge")
    main.set_target(oid)
    repo.checkout_tree(repo[oid].tree, strategy=pygit2.enums.CheckoutStrategy.FORCE)
    repo.index.read_tree(repo[oid].tree)
    repo.index.write()
    return lab


def _draft(session: LabSession) -> ProposalDraft:
    state = load(session, fetch(session, None))
    path, data = new_object_edit(state, "UniversalResource", "grafana", {"pool": POOL, "requirements": {
        "cpu": 1, "memory_gb": 1}})
    return ProposalDraft(title="Deploy grafana", edits={path: data}, reason="dashboards for the lab",
                         evidence={"sizing": "user asked for 1 CPU"})


def test_pull_request_opened_and_merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Push, open with a trustworthy body, merge on approval; no token anywhere it should not be."""
    monkeypatch.setenv("HP_TEST_FORGE_TOKEN", TOKEN)
    with ForgeSim("me/homelab", TOKEN) as forge:
        lab = _forge_lab(tmp_path, forge.url)
        session = LabSession.open(lab, actor="agent:claude", actor_kind="agent")
        try:
            p = propose(session, _draft(session))
            assert p.forge_url == "https://github.example/me/homelab/pull/1"
            bare = pygit2.Repository(str(tmp_path / "forge.git"))
            assert str(bare.references[f"refs/heads/{p.branch}"].target) == p.head_commit
            sent = forge.requests[0]
            assert sent["method"] == "POST" and sent["path"] == "/api/v3/repos/me/homelab/pulls"
            assert sent["headers"]["Authorization"] == f"Bearer {TOKEN}"
            body = sent["body"]
            assert body["head"] == p.branch and body["base"] == "main" and body["title"] == "Deploy grafana"
            text = body["body"]
            assert text.startswith("> **Proposed by an agent** (agent:claude)")
            assert text.index("**Plan:** 1 create") < text.index("### Why") < text.index("### Evidence")
            assert "dashboards for the lab" in text and "<details><summary>Full plan</summary>" in text
            merged = approve(session, p.id, reviewer="human:ann")
            assert forge.requests[-1]["method"] == "PUT"
            assert forge.requests[-1]["path"] == "/api/v3/repos/me/homelab/pulls/1/merge"
            assert merged.merged_commit == "f" * 40 and merged.proposal.status == "merged"
        finally:
            session.close()
    assert TOKEN.encode() not in (lab / ".homeport" / "state.db").read_bytes()
    assert TOKEN not in (lab / "homeport.yaml").read_text()


def test_forge_refusal_keeps_the_proposal_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 401 from the forge: the proposal exists locally, the audit says why, the token is not in it."""
    monkeypatch.setenv("HP_TEST_FORGE_TOKEN", TOKEN)
    with ForgeSim("me/homelab", TOKEN, fail_with=401) as forge:
        lab = _forge_lab(tmp_path, forge.url)
        session = LabSession.open(lab, actor="agent:claude", actor_kind="agent")
        try:
            p = propose(session, _draft(session))
            assert p.forge_url is None and p.status == "open"
            from sqlalchemy import select

            from reconciler.store.tables import AuditLogRow

            with session.db.session() as s:
                row = s.execute(select(AuditLogRow).where(AuditLogRow.action == "forge-failed")).scalar_one()
            assert "401" in row.result["error"] and TOKEN not in row.result["error"]
        finally:
            session.close()


def test_gitea_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Gitea: /api/v1, `token` authorization, POST .../merge with Do=merge."""
    monkeypatch.setenv("HP_TEST_FORGE_TOKEN", TOKEN)
    with ForgeSim("me/homelab", TOKEN, flavour="gitea") as forge:
        lab = _forge_lab(tmp_path, forge.url, "gitea")
        session = LabSession.open(lab, actor="agent:claude", actor_kind="agent")
        try:
            p = propose(session, _draft(session))
            assert p.forge_url == "https://gitea.example/me/homelab/pulls/1"
            assert forge.requests[0]["headers"]["Authorization"] == f"token {TOKEN}"
            merged = approve(session, p.id, reviewer="human:ann")
            last = forge.requests[-1]
            assert (last["method"], last["path"]) == ("POST", "/api/v1/repos/me/homelab/pulls/1/merge")
            assert last["body"]["Do"] == "merge" and merged.proposal.status == "merged"
        finally:
            session.close()


def test_body_stays_within_the_limit() -> None:
    """A huge plan and diff are folded and cut so the body fits GitHub's 65,536 characters."""
    from reconciler.proposals.records import ProposalView

    changes = [{"op": "delete" if i % 7 == 0 else "create", "resource": f"svc-{i}", "risk": "high",
                "reason": "x" * 80} for i in range(3000)]
    view = ProposalView(id="0" * 12, lab="home", title="big", branch="proposals/000000000000-big", base_commit="a",
                        head_commit="b", author="agent:x", risk="high", status="open",
                        plan={"counts": {"create": 2571, "delete": 429}, "changes": changes},
                        rendered_diff="+line\n" * 100_000, files=["resources/a.yaml"])
    body = pull_request_body(view)
    assert len(body) <= 65_536
    first = body.split("\n- ", 2)[1]
    assert first.startswith("⚠️ `delete`")
    assert "truncated" in body

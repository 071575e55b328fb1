"""REST for the rebuild drill's stored reports and proposals' what-ifs, on SQLite and on a real PostgreSQL:
POST runs one (propose scope) and stores it, GET lists (paged) and shows; scopes, 404s and 409s as problems."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.proposals.create import ProposalDraft
from reconciler.service import LabService, commands
from reconciler.web.serve import serve_lab
from reconciler.web.settings import WebSettings
from tests.backends.homeport_lab import make_lab
from tests.web.conftest import Tokens, free_socket, make_tokens, uvicorn_on

PROBLEM = "application/problem+json"


@dataclass
class Served:
    """A served, applied example lab on one database."""

    url: str
    lab: Path
    database_url: str | None
    tokens: Tokens

    def client(self, token: str) -> httpx.Client:
        """An API client with a bearer token."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The example lab applied on the sim provider, its records on SQLite or PostgreSQL, served on a free port."""
    lab_dir = make_lab(tmp_path_factory.mktemp("drillapi") / "lab", apply=False)
    database_url: str | None = None
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        database_url = server.create_database()
    try:
        session = LabSession.open(lab_dir, database_url=database_url, actor="test", actor_kind="human")
        try:
            assert reconcile(session, mode=Mode.auto, trigger="test").status == "ok"
        finally:
            session.close()
        with LabService.open(lab_dir, database_url=database_url, actor="test") as lab:
            commands.snapshot(lab, name="before-drills")
        tokens = _tokens(lab_dir, database_url)
        sock = free_socket()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        app = serve_lab(lab_dir, settings=WebSettings(poll_seconds=5), public_url=url, database_url=database_url,
                        with_mcp=False)
        try:
            with uvicorn_on(app, sock):
                yield Served(url=url, lab=lab_dir, database_url=database_url, tokens=tokens)
        finally:
            app.close()
            sock.close()
    finally:
        if database_url is not None:
            server.drop_database(database_url)


def _tokens(lab_dir: Path, database_url: str | None) -> Tokens:
    if database_url is None:
        return make_tokens(lab_dir)
    with LabService.open(lab_dir, database_url=database_url, actor="test") as lab:
        def make(name: str, scopes: str) -> str:
            return commands.create_token(lab, name=name, scopes=scopes, owner="tester").secret

        return Tokens(admin=make("admin", "admin"), read=make("reader", "read"), agent=make("agent", "read,propose"),
                      reviewer=make("reviewer", "read,approve"))


def _problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["code"] == code
    return body


def test_a_drill_is_run_stored_listed_and_shown(served: Served) -> None:
    with served.client(served.tokens.agent) as c:
        first = c.post("/api/v1/drills", json={})
        assert first.status_code == 201, first.text
        report = first.json()
        second = c.post("/api/v1/drills", json={"snapshot": report["snapshot_id"][:8]}).json()
        listed = c.get("/api/v1/drills", params={"limit": 1}).json()
        rest = c.get("/api/v1/drills", params={"limit": 1, "cursor": listed["next_cursor"]}).json()
        shown = c.get(f"/api/v1/drills/{report['id']}").json()
        by_prefix = c.get(f"/api/v1/drills/{report['id'][:10]}").json()
    assert re.fullmatch(r"[0-9a-f]{32}", report["id"]) and report["created_by"]
    assert report["score"].endswith("resources rebuildable from Git") and report["snapshot_name"] == "before-drills"
    assert {i["resource"] for i in report["items"]} >= {"web-frontend", "ollama-server"}
    assert [d["id"] for d in listed["items"]] == [second["id"]]  # newest first
    assert report["id"] in [d["id"] for d in rest["items"]]
    summary = next(d for d in rest["items"] if d["id"] == report["id"])
    assert summary["score"] == report["score"] and "items" not in summary
    assert shown == report and by_prefix == report


def test_drill_scopes_and_problems(served: Served) -> None:
    with served.client(served.tokens.read) as c:
        body = _problem(c.post("/api/v1/drills", json={}), 403, "forbidden")
        assert "'propose' scope" in body["detail"]
        _problem(c.get("/api/v1/drills/ffffffffffff"), 404, "not_found")
        assert c.get("/api/v1/drills").status_code == 200
    with served.client(served.tokens.agent) as c:
        body = _problem(c.post("/api/v1/drills", json={"snapshot": "abcdef12"}), 404, "not_found")
        assert "no snapshot" in body["detail"]
        _problem(c.post("/api/v1/drills", json={"snapshot": "../x"}), 422, "invalid")
        _problem(c.get("/api/v1/drills", params={"cursor": "WyJ4Il0"}), 400, "invalid")


def test_a_proposal_whatif_is_run_stored_and_read_back(served: Served) -> None:
    text = (served.lab / "resources" / "web-frontend.yaml").read_text()
    with LabService.open(served.lab, database_url=served.database_url, actor="test") as lab:
        proposal = commands.propose(lab, ProposalDraft(
            title="grow web-frontend for the REST what-if",
            edits={"resources/web-frontend.yaml": text.replace("memory_gb: 4,", "memory_gb: 40,").encode()}),
            auto_merge=False)
    path = f"/api/v1/proposals/{proposal.id}/whatif"
    with served.client(served.tokens.read) as c:
        body = _problem(c.get(path), 404, "not_found")
        assert "no what-if" in body["detail"]
        _problem(c.post(path), 403, "forbidden")
        _problem(c.get("/api/v1/proposals/no-such-proposal/whatif"), 404, "not_found")
    with served.client(served.tokens.agent) as c:
        ran = c.post(path)
        assert ran.status_code == 201, ran.text
    with served.client(served.tokens.read) as c:
        stored = c.get(path)
    assert stored.status_code == 200 and stored.json() == ran.json()
    report = stored.json()
    assert report["proposal_id"] == proposal.id and report["head_commit"] == proposal.head_commit
    over = [n for n in report["nodes"] if n["over_after"]]
    assert over, report["nodes"]
    with served.client(served.tokens.reviewer) as c:
        assert c.post(f"/api/v1/proposals/{proposal.id}/reject", json={"reason": "what-if seen"}).status_code == 200
    with served.client(served.tokens.agent) as c:
        _problem(c.post(path), 409, "conflict")
    with served.client(served.tokens.read) as c:
        assert c.get(path).json() == ran.json()  # the stored report stays with the proposal

"""The drill page and a proposal's what-if on its review page, through the served app (read scope)."""

from __future__ import annotations

from reconciler.proposals.create import ProposalDraft
from reconciler.service import LabService, commands
from tests.web.conftest import Server
from tests.web.test_sessions import logged_in, page_csrf


def test_drill_page_runs_the_drill(server: Server) -> None:
    client = logged_in(server, server.tokens.read)
    assert "Run the drill" in client.get("/drill").text
    r = client.post("/drill", data={"csrf_token": page_csrf(client, "/drill")})
    assert r.status_code == 200, r.text
    assert "resources rebuildable from Git" in r.text and "web-frontend" in r.text
    assert client.post("/drill", data={"csrf_token": "forged"}).status_code == 403


def test_whatif_shown_on_the_review_page(server: Server) -> None:
    text = (server.lab / "resources" / "web-frontend.yaml").read_text()
    with LabService.open(server.lab) as lab:
        proposal = commands.propose(lab, ProposalDraft(
            title="grow web-frontend for the what-if page",
            edits={"resources/web-frontend.yaml": text.replace("memory_gb: 4,", "memory_gb: 40,").encode()}),
            auto_merge=False)
    client = logged_in(server, server.tokens.read)
    page = client.get(f"/proposals/{proposal.id}").text
    assert "No what-if yet." in page and "Run the what-if" in page
    r = client.post(f"/proposals/{proposal.id}/whatif", data={"csrf_token": page_csrf(client)})
    assert r.status_code == 303 and r.headers["location"] == f"/proposals/{proposal.id}#whatif-h"
    page = client.get(f"/proposals/{proposal.id}").text
    assert "memory 40/32 GiB" in page and "No what-if yet." not in page

"""The drill page (past reports listed, a drill run and stored from it) and a proposal's what-if on its review page,
through the served app: read scope to look, propose scope to run (each stores a report)."""

from __future__ import annotations

import re

from reconciler.proposals.create import ProposalDraft
from reconciler.service import LabService, commands
from tests.web.conftest import Server
from tests.web.test_sessions import logged_in, page_csrf


def test_drill_page_runs_stores_and_lists_the_drill(server: Server) -> None:
    agent = logged_in(server, server.tokens.agent)
    assert "Run the drill" in agent.get("/drill").text
    r = agent.post("/drill", data={"csrf_token": page_csrf(agent, "/drill")})
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert re.fullmatch(r"/drill/[0-9a-f]{32}", location)
    report = agent.get(location).text
    assert "resources rebuildable from Git" in report and "web-frontend" in report and "run " in report
    listing = agent.get("/drill").text
    assert "Past reports" in listing and f'href="{location}"' in listing
    assert agent.post("/drill", data={"csrf_token": "forged"}).status_code == 403

    reader = logged_in(server, server.tokens.read)
    page = reader.get("/drill")
    assert page.status_code == 200 and f'href="{location}"' in page.text and "Run the drill" not in page.text
    assert reader.get(location).status_code == 200
    refused = reader.post("/drill", data={"csrf_token": page_csrf(reader, "/drill")})
    assert refused.status_code == 403 and "propose&#39; scope" in refused.text
    assert reader.get("/drill/0000000000000000").status_code == 404


def test_whatif_shown_on_the_review_page(server: Server) -> None:
    text = (server.lab / "resources" / "web-frontend.yaml").read_text()
    with LabService.open(server.lab) as lab:
        proposal = commands.propose(lab, ProposalDraft(
            title="grow web-frontend for the what-if page",
            edits={"resources/web-frontend.yaml": text.replace("memory_gb: 4,", "memory_gb: 40,").encode()}),
            auto_merge=False)
    reader = logged_in(server, server.tokens.read)
    page = reader.get(f"/proposals/{proposal.id}").text
    assert "No what-if yet." in page and "Run the what-if" not in page
    refused = reader.post(f"/proposals/{proposal.id}/whatif", data={"csrf_token": page_csrf(reader)})
    assert refused.status_code == 403
    agent = logged_in(server, server.tokens.agent)
    assert "Run the what-if" in agent.get(f"/proposals/{proposal.id}").text
    r = agent.post(f"/proposals/{proposal.id}/whatif", data={"csrf_token": page_csrf(agent)})
    assert r.status_code == 303 and r.headers["location"] == f"/proposals/{proposal.id}#whatif-h"
    page = reader.get(f"/proposals/{proposal.id}").text
    assert "memory 40/32 GiB" in page and "No what-if yet." not in page

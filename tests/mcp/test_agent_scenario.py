"""An agent's whole loop on the sim provider: discover -> analyze -> propose -> a person approves ->
reconcile -> the agent sees its service running."""

from __future__ import annotations

from typing import Any

import anyio
import pygit2
from mcp import Client

from mcp_server.app import HomeportApp
from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.proposals.review import approve
from tests.backends.homeport_lab import branches, main_tip
from tests.mcp.conftest import server_for


def test_agent_deploys_jenkins_through_a_proposal(app: HomeportApp) -> None:
    """Each step through the MCP client; only the approval is a person's (CLI code), the apply the reconciler's."""
    base = main_tip(app.lab_dir)

    async def agent_part() -> dict[str, Any]:
        async with Client(server_for(app, "read", "propose")) as client:
            context = await client.call_tool("discover-infrastructure-context", {})
            sizing = await client.call_tool("analyze-resource-requirements", {"workload_type": "jenkins",
                                                                              "user_requirements": {"cpu": 2}})
            place = await client.call_tool("find-optimal-placement", {"resource_requirements": {
                "cpu": 2, "memory_gb": sizing.structured_content["recommended_config"]["memory_gb"]}})
            proposal = await client.call_tool("deploy-with-intelligence", {
                "instance_name": "jenkins-team",
                "universal_definition": {"workload_type": "jenkins", "pool": place.structured_content["resource_pool"],
                                         "requirements": {"cpu": 2}},
                "reason": "CI for 5 developers", "evidence": {"sizing": sizing.structured_content["summary"]}})
            return {"context": context, "sizing": sizing, "place": place, "proposal": proposal}

    steps = anyio.run(agent_part)
    assert all(not r.is_error for r in steps.values()), {k: r.content[0].text for k, r in steps.items()}
    made = steps["proposal"].structured_content
    pid = made["proposal"]["proposal_id"]
    assert made["deployment_plan"]["counts"]["create"] == 1 and made["proposal"]["status"] == "open"
    assert any("jenkins.io" in d for d in made["decisions"])  # memory and storage came from the cited page
    branch = made["proposal"]["branch"]
    assert branch in branches(app.lab_dir) and main_tip(app.lab_dir) == base
    head = app.service.session.repo.branches.local[branch].peel(pygit2.Commit)
    assert [str(p) for p in head.parent_ids] == [base]
    diff = app.service.session.repo.diff(app.service.session.repo[base], head)
    assert [p.delta.new_file.path for p in diff] == ["resources/jenkins-team.yaml"]
    text = head.tree["resources/jenkins-team.yaml"].data.decode()
    assert "memory_gb: 4.0" in text and "node: sim-" in text and text.startswith("# Proposed by an agent")

    person = LabSession.open(app.lab_dir, actor="human:ann", actor_kind="human")
    try:
        merged = approve(person, pid)
        assert merged.fast_forward and merged.worktree_updated
        run = reconcile(person, mode=Mode.auto, trigger="test")
        assert run.status == "ok", run.error
    finally:
        person.close()
    assert (app.lab_dir / "resources" / "jenkins-team.yaml").is_file()

    async def check() -> Any:
        async with Client(server_for(app, "read")) as client:
            return await client.call_tool("get-deployment-status", {"instance_name": "jenkins-team"}), \
                await client.call_tool("get-proposal", {"proposal_id": pid})

    status, proposal = anyio.run(check)
    assert status.structured_content["status"] == "running" and status.structured_content["matches"]
    assert proposal.structured_content["status"] == "merged"
    assert proposal.structured_content["reviewed_by"] == "human:ann"

"""Agent tools on a high_availability definition for a VM-like provider (the sim): the members are planned on
different nodes, deploy-with-intelligence pins no node for them, validate-universal-definition passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from mcp_server.app import HomeportApp
from tests.foundation.labkit import commit, homeport
from tests.mcp.conftest import server_for

SIM_POOL = "/infrastructure/on-premise/sim/compute"
HA = {"name": "grafana", "workload_type": "web-app", "pool": SIM_POOL,
      "requirements": {"cpu": 1, "memory_gb": 1, "high_availability": True}}


def call(app: HomeportApp, name: str, args: dict[str, Any]) -> dict[str, Any]:
    async def go() -> Any:
        async with Client(server_for(app, "read", "propose")) as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    assert not result.is_error, result.content[0].text
    out: dict[str, Any] = result.structured_content
    return out


def test_deploy_and_validate_a_high_availability_definition(app: HomeportApp) -> None:
    deploy = call(app, "deploy-with-intelligence", {"universal_definition": HA, "dry_run": True,
                                                    "auto_optimize": True})
    assert any(d.startswith("placement: high_availability members are placed on different nodes")
               for d in deploy["decisions"]), deploy["decisions"]
    assert not any(d.startswith("placement.node =") for d in deploy["decisions"])
    assert deploy["deployment_plan"]["counts"]["create"] == 2, deploy["deployment_plan"]
    valid = call(app, "validate-universal-definition", {"universal_definition": HA, "target_providers": ["sim"]})
    assert valid["valid"] is True, valid
    assert "not automatic" not in str(valid)


def test_deployment_status_of_members_and_of_their_resource(lab: Path) -> None:
    text = (lab / "resources" / "web-frontend.yaml").read_text()
    ha = text.replace("storage_gb: 20}", "storage_gb: 20, high_availability: true}")
    commit(lab, {"resources/web-frontend.yaml": ha}, "web-frontend: high availability")
    code, out = homeport("apply", "--lab", str(lab), "--auto-approve")
    assert code == 0, out
    app = HomeportApp(lab)
    try:
        member = call(app, "get-deployment-status", {"instance_name": "web-frontend-2"})
        assert member["status"] == "running" and member["declared_in_git"] is True

        async def ask() -> Any:
            async with Client(server_for(app, "read")) as client:
                return await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})

        whole = anyio.run(ask)
        assert whole.is_error
        assert "web-frontend runs as high_availability members web-frontend-1, web-frontend-2" in \
            whole.content[0].text
    finally:
        app.close()

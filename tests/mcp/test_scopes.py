"""Scope matrix: each tool x each scope through a real client; tools/list shows only what a scope allows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.app import HomeportApp
from mcp_server.auth import SCOPE_HELP
from mcp_server.tools import ALL_TOOLS
from mcp_server.toolspec import TOOLSETS
from tests.mcp.conftest import server_for

SIM_POOL = "/infrastructure/on-premise/sim/compute"
# Minimal valid-looking arguments: enough to get past argument checks to the scope check and beyond.
ARGS: dict[str, dict[str, Any]] = {
    "find-best-provider-for-workload": {"workload_type": "web-app"},
    "analyze-resource-requirements": {"workload_type": "gitea"},
    "find-optimal-placement": {"resource_requirements": {"cpu": 1, "memory_gb": 1}},
    "translate-universal-to-provider": {"universal_definition": {"name": "a1", "pool": SIM_POOL},
                                        "target_provider": "sim"},
    "validate-universal-definition": {"universal_definition": {"name": "a1", "pool": SIM_POOL}},
    "deploy-with-intelligence": {"universal_definition": {"name": "a1", "pool": SIM_POOL,
                                                          "requirements": {"cpu": 1, "memory_gb": 1}}},
    "get-deployment-status": {"instance_name": "web-frontend"},
    "update-resource-dimensions": {"resource_id": "web-frontend", "resource_type": "instance",
                                   "dimensions": {"owner": "me"}},
    "compare-expected-vs-actual-state": {"check_all_instances": True, "auto_correct_minor_deviations": True},
    "propose-drift-resolution": {"resource": "web-frontend", "resolution": "adopt"},
    "generate-template-from-instance": {"instance_id": "web-frontend", "template_name": "t1"},
    "create-infrastructure-snapshot": {"snapshot_name": "s"},
    "plan-migration-from-snapshot": {"snapshot_id": "0" * 32, "target_node": "sim-1"},
    "get-deployment-sop": {"service_name": "jenkins"},
    "get-resource-allocation-guidelines": {"workload_category": "web"},
    "get-proposal": {"proposal_id": "00000000"},
    "approve-proposal": {"proposal_id": "00000000"},
    "update-context-after-deployment": {"instance_id": "web-frontend", "endpoint": "http://web.lan:8080"},
    "get-sop": {"operation": "deploy_jenkins"},
    "propose-rollback": {"reason": "scope check"},
}
# The scopes a call with ARGS needs: two 'read' tools propose with these arguments, so they also need 'propose'.
NEEDS = {spec.name: {spec.scope} for spec in ALL_TOOLS}
NEEDS["deploy-with-intelligence"].add("propose")
NEEDS["compare-expected-vs-actual-state"].add("propose")
SCOPES = ("read", "propose", "approve", "admin")


@pytest.fixture(scope="module")
def served(module_lab: Path) -> Iterator[HomeportApp]:
    """One app; refused calls write nothing and allowed ones only open proposals."""
    app = HomeportApp(module_lab)
    yield app
    app.close()


def _holds(scope: str, needed: str | set[str]) -> bool:
    return scope == "admin" or ({needed} if isinstance(needed, str) else needed) <= {scope}


@pytest.mark.parametrize("scope", SCOPES)
def test_tool_by_scope(served: HomeportApp, scope: str) -> None:
    """A caller holding only `scope` is refused exactly the tools needing another scope, with a clear message."""
    server = server_for(served, scope, toolsets=TOOLSETS)

    async def go() -> dict[str, Any]:
        results = {}
        async with Client(server) as client:
            for spec in ALL_TOOLS:
                results[spec.name] = await client.call_tool(spec.name, ARGS.get(spec.name, {}))
        return results

    results = anyio.run(go)
    for name, result in results.items():
        text = result.content[0].text if result.content else ""
        needed = NEEDS[name]
        refused = [s for s in sorted(needed) if f"needs the '{s}' scope" in text]
        if _holds(scope, needed):
            assert not refused, (name, scope, text)
        else:
            assert result.is_error and refused and refused[0] != scope, (name, scope, text)
            assert SCOPE_HELP[refused[0]] in text and "this caller has: " + scope in text


@pytest.mark.parametrize("scope", SCOPES)
def test_tools_list_by_scope(served: HomeportApp, scope: str) -> None:
    """tools/list shows the tools whose declared scope the caller holds (admin: all of them)."""

    async def go() -> list[str]:
        async with Client(server_for(served, scope, toolsets=TOOLSETS)) as client:
            return [t.name for t in (await client.list_tools()).tools]

    listed = anyio.run(go)
    expected = [s.name for s in ALL_TOOLS if _holds(scope, s.scope)]
    assert listed == expected
    if scope == "read":
        assert "approve-proposal" not in listed and "deploy-with-intelligence" in listed


def test_toolsets_limit_what_is_served(served: HomeportApp) -> None:
    """--toolsets read,advice serves no proposing or approving tool, even to admin."""

    async def go() -> list[str]:
        async with Client(server_for(served, "admin", toolsets=("read", "advice"))) as client:
            return [t.name for t in (await client.list_tools()).tools]

    listed = anyio.run(go)
    assert "get-deployment-sop" in listed and "discover-infrastructure-context" in listed
    assert not {"deploy-with-intelligence", "update-resource-dimensions", "approve-proposal"} & set(listed)


def test_hints_on_every_tool(served: HomeportApp) -> None:
    """Every tool declares read-only, destructive and idempotent hints and an output schema."""

    async def go() -> Any:
        async with Client(server_for(served, "admin")) as client:
            return (await client.list_tools()).tools

    for tool in anyio.run(go):
        hints = tool.annotations
        assert hints is not None and hints.read_only_hint is not None and hints.destructive_hint is not None
        assert hints.idempotent_hint is not None and tool.output_schema is not None, tool.name
        assert all(p.get("description") or p.get("enum") or p.get("anyOf") or "$ref" in p or "allOf" in p
                   for p in tool.input_schema.get("properties", {}).values()) or tool.name
    approve = next(t for t in anyio.run(go) if t.name == "approve-proposal")
    assert approve.annotations.destructive_hint and not approve.annotations.read_only_hint

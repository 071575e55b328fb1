"""Bad arguments come back as errors an agent can act on (what is wrong, what to send), and write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from sqlalchemy import func, select

from mcp_server.app import HomeportApp
from reconciler.store.tables import InfrastructureSnapshotRow, ProposalRow
from tests.backends.homeport_lab import branches, main_tip
from tests.mcp.conftest import server_for

POOL = "/infrastructure/on-premise/sim/compute"


def defn(**extra: Any) -> dict[str, Any]:
    """A valid bare spec, changed by extra."""
    return {"name": "good-name", "pool": POOL, "requirements": {"cpu": 1, "memory_gb": 1}, **extra}


CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    ("wrong type", "find-optimal-placement", {"resource_requirements": "lots"}, ["resource_requirements"]),
    ("wrong bool", "deploy-with-intelligence", {"universal_definition": defn(), "dry_run": "maybe"},
     ["`dry_run`", "boolean"]),
    ("unknown argument", "list-proposals", {"stauts": "open"}, ["`stauts` is not an argument", "status"]),
    ("missing argument", "analyze-resource-requirements", {}, ["`workload_type` is required"]),
    ("unknown enum", "list-proposals", {"status": "pending"}, ["`status`", "open"]),
    ("unknown provider", "translate-universal-to-provider",
     {"universal_definition": defn(), "target_provider": "openstack"}, ["unknown provider 'openstack'", "lab (sim)"]),
    ("unknown provider in discovery", "discover-infrastructure-context", {"providers": ["nope"]},
     ["unknown provider(s) nope", "'all'"]),
    ("unknown provider type filter", "list-available-helm-charts", {"provider_filter": "openstack"},
     ["unknown provider type"]),
    ("dot-dot name", "deploy-with-intelligence", {"universal_definition": defn(name="../etc")},
     ["not a DNS-1123 label"]),
    ("dash-prefixed name", "deploy-with-intelligence", {"universal_definition": defn(name="--force")},
     ["not a DNS-1123 label"]),
    ("dot-dot resource id", "update-resource-dimensions",
     {"resource_id": "../pools/x", "resource_type": "instance", "dimensions": {"a": "b"}}, ["DNS-1123"]),
    ("dash-prefixed proposal id", "get-proposal", {"proposal_id": "--upload-pack=x"}, ["proposal_id", "malformed"]),
    ("dot-dot proposal id", "approve-proposal", {"proposal_id": "../../refs/heads/main"}, ["malformed"]),
    ("control characters in reason", "deploy-with-intelligence",
     {"universal_definition": defn(), "reason": "ok\x1b[31m red"}, ["control characters"]),
    ("control characters in dimension", "update-resource-dimensions",
     {"resource_id": "web-frontend", "resource_type": "instance", "dimensions": {"a\x00b": "c"}},
     ["control characters"]),
    ("nested dimension value", "update-resource-dimensions",
     {"resource_id": "web-frontend", "resource_type": "instance", "dimensions": {"a": {"b": 1}}},
     ["must be a string, number, boolean or null"]),
    ("definition fails validation", "deploy-with-intelligence",
     {"universal_definition": defn(requirements={"cpu": 0})}, ["requirements", "cpu", "greater than or equal to 1"]),
    ("unknown definition field", "validate-universal-definition",
     {"universal_definition": defn(colour="blue")}, ["spec.colour", "unknown field"]),
    ("unknown pool", "deploy-with-intelligence", {"universal_definition": defn(pool="/nowhere")},
     ["no pool at '/nowhere'", POOL]),
    ("existing name", "deploy-with-intelligence", {"universal_definition": defn(name="web-frontend")},
     ["already exists"]),
    ("unknown instance", "get-deployment-status", {"instance_name": "ghost"}, ["no recorded instance 'ghost'"]),
    ("secrets in snapshot", "create-infrastructure-snapshot", {"snapshot_name": "x", "include_secrets": True},
     ["include_secrets must be false"]),
    ("unknown snapshot", "plan-migration-from-snapshot", {"snapshot_id": "abc", "target_node": "sim-1"},
     ["no snapshot 'abc'"]),
    ("no such proposal", "get-proposal", {"proposal_id": "0123456789ab"}, ["no proposal '0123456789ab'"]),
]


@pytest.fixture(scope="module")
def served(module_lab: Path) -> Iterator[HomeportApp]:
    """One app for all cases (none of them may write)."""
    app = HomeportApp(module_lab)
    yield app
    app.close()


def _counts(app: HomeportApp) -> tuple[int, int]:
    with app.service.session.db.session() as s:
        return (s.execute(select(func.count()).select_from(ProposalRow)).scalar_one(),
                s.execute(select(func.count()).select_from(InfrastructureSnapshotRow)).scalar_one())


@pytest.mark.parametrize(("case", "tool", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_argument(served: HomeportApp, case: str, tool: str, args: dict[str, Any], expected: list[str]) -> None:
    """The call fails with a message naming the problem; no branch, proposal, snapshot or main change."""
    before = (main_tip(served.lab_dir), branches(served.lab_dir), _counts(served))

    async def go() -> Any:
        async with Client(server_for(served, "admin")) as client:
            return await client.call_tool(tool, args)

    result = anyio.run(go)
    text = result.content[0].text
    assert result.is_error, text
    for fragment in expected:
        assert fragment in text, (case, text)
    assert "Traceback" not in text and "File \"" not in text
    assert (main_tip(served.lab_dir), branches(served.lab_dir), _counts(served)) == before

"""One snapshot document whatever door wrote it: a CLI snapshot feeds plan-migration-from-snapshot correctly.

Regression: `homeport snapshot create` used to store another shape than create-infrastructure-snapshot, and
plan-migration-from-snapshot read only the MCP shape, so on a CLI snapshot of 3 resources it answered
"nothing to move: every declared resource ... is already on sim-3".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from sqlalchemy import update
from typer.testing import CliRunner

from mcp_server.app import HomeportApp
from reconciler.cli import app as cli
from reconciler.service import LabService, commands, queries
from reconciler.service.views import SnapshotDocument
from reconciler.store.tables import InfrastructureSnapshotRow
from tests.foundation.labkit import commit, new_mini_lab, resource
from tests.mcp.conftest import server_for


def _call(server: Any, name: str, args: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(server) as client:
            return await client.call_tool(name, args)

    return anyio.run(go)


def _cli_snapshot(lab: Path) -> str:
    result = CliRunner().invoke(cli, ["snapshot", "create", "--name", "cli-snap", "--lab", str(lab), "-o", "json"])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


def _nodes(app: HomeportApp) -> dict[str, str | None]:
    return {i.name: i.node for i in queries.instances(app.service)}


def test_cli_snapshot_feeds_plan_migration(tmp_path: Path) -> None:
    lab = new_mini_lab(tmp_path, {n: resource(n, cpu=1, memory_gb=1) for n in ("a", "b", "c")})
    with LabService.open(lab, actor="test") as service:
        assert commands.apply(service, trigger="test").status == "ok"
    app = HomeportApp(lab)
    try:
        nodes = _nodes(app)
        assert len(nodes) == 3 and set(nodes.values()) == {"n1", "n2"}
        target = "n2"
        expected = sorted(n for n, node in nodes.items() if node != target)
        snapshot_id = _cli_snapshot(app.lab_dir)
        document = queries.snapshot(app.service, snapshot_id).document()
        assert {n: r.node for n, r in document.resources.items()} == nodes
        assert document.readiness is not None and document.readiness.resources == 3
        moved = _call(server_for(app, "read", "propose"), "plan-migration-from-snapshot",
                      {"snapshot_id": snapshot_id, "target_node": target})
        assert not moved.is_error, moved.content[0].text
        assert "nothing to move" not in moved.structured_content["summary"]
        steps = moved.structured_content["migration_plan"]
        assert sorted(step.split(":")[0] for step in steps) == expected
        proposal = queries.proposal(app.service, moved.structured_content["proposal"]["proposal_id"])
        assert sorted(proposal.files) == [f"resources/{n}.yaml" for n in expected]
    finally:
        app.close()


def test_cli_snapshot_of_the_example_lab_is_not_nothing_to_move(app: HomeportApp) -> None:
    """The example lab's three resources: the answer names the real obstacle instead of 'nothing to move'."""
    snapshot_id = _cli_snapshot(app.lab_dir)
    moved = _call(server_for(app, "read", "propose"), "plan-migration-from-snapshot",
                  {"snapshot_id": snapshot_id, "target_node": "sim-3"})
    assert moved.is_error and "nothing to move" not in moved.content[0].text
    assert "cannot take the move" in moved.content[0].text and "sim-3" in moved.content[0].text


def test_both_doors_write_the_same_document(app: HomeportApp) -> None:
    cli_id = _cli_snapshot(app.lab_dir)
    made = _call(server_for(app, "read", "propose"), "create-infrastructure-snapshot", {"snapshot_name": "mcp-snap"})
    assert not made.is_error, made.content[0].text
    mcp_id = made.structured_content["snapshot_id"]
    from_cli = queries.snapshot(app.service, cli_id).data or {}
    from_mcp = queries.snapshot(app.service, mcp_id).data or {}
    assert sorted(from_cli) == sorted(from_mcp)
    assert from_cli["schema_version"] == from_mcp["schema_version"] == 2
    assert from_cli["resources"] == from_mcp["resources"]
    assert sorted(made.structured_content["captured_resources"]) == sorted(from_cli["resources"])


def test_a_snapshot_stored_before_the_one_document_is_still_read(app: HomeportApp) -> None:
    """A CLI snapshot of the old shape (no per-resource digest) is read by deriving it from the inventory."""
    snapshot_id = _cli_snapshot(app.lab_dir)
    stored = queries.snapshot(app.service, snapshot_id).data or {}
    old = {k: v for k, v in stored.items() if k not in ("resources", "readiness", "schema_version")}
    with app.service.session.db.session() as s:
        s.execute(update(InfrastructureSnapshotRow).where(InfrastructureSnapshotRow.id == snapshot_id)
                  .values(snapshot_data=old))
    document = SnapshotDocument.from_stored(old)
    assert sorted(document.resources) == sorted(stored["resources"])
    for name, digest in document.resources.items():
        assert digest.node == stored["resources"][name]["node"]
        assert digest.pool == stored["resources"][name]["pool"]
    assert queries.snapshot(app.service, snapshot_id).document().resources == document.resources


def test_a_move_into_another_pool_is_checked_by_that_pools_ratios(tmp_path: Path) -> None:
    """Moving into a pool that allows no CPU overcommit is judged by that pool's ratio, not the guests' current
    pool's: 3 x 20 vCPUs fit on a 32-core node at 4.0, not at 1.0."""
    tight = ("apiVersion: homelab.ai/v1\nkind: ResourcePool\nmetadata: {name: tight}\n"
             "spec: {path: /lab/tight, provider: lab, nodes: [n1, n2], cpu_allocation_ratio: 1.0}\n")
    lab = new_mini_lab(tmp_path, {n: resource(n, cpu=20, memory_gb=1) for n in ("a", "b", "c")})
    commit(lab, {"pools/tight.yaml": tight}, "a pool without CPU overcommit")
    with LabService.open(lab, actor="test") as service:
        assert commands.apply(service, trigger="test").status == "ok"
    app = HomeportApp(lab)
    try:
        snapshot_id = _cli_snapshot(app.lab_dir)
        server = server_for(app, "read", "propose")
        refused = _call(server, "plan-migration-from-snapshot",
                        {"snapshot_id": snapshot_id, "target_node": "n2", "target_resource_pool": "/lab/tight"})
        assert refused.is_error and "cannot take the move" in refused.content[0].text
        assert "x 1)" in refused.content[0].text  # the figure names the target pool's ratio
        moved = _call(server, "plan-migration-from-snapshot", {"snapshot_id": snapshot_id, "target_node": "n2"})
        assert not moved.is_error, moved.content[0].text
        assert moved.structured_content["proposal"] is not None
    finally:
        app.close()

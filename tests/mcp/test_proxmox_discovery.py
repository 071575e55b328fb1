"""discover-proxmox-resources and discover-infrastructure-context against a real fake PVE (fakepve over HTTPS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from mcp_server.app import HomeportApp
from reconciler.source.gitrepo import commit_worktree
from tests.backends.pve import PVE_POOL, PveBackend
from tests.mcp.conftest import server_for


def _lab(root: Path, pve: PveBackend) -> Path:
    import pygit2

    lab = root / "lab"
    (lab / "pools").mkdir(parents=True)
    (lab / "homeport.yaml").write_text(pve.lab_yaml())
    (lab / "pools" / "proxmox.yaml").write_text(PVE_POOL)
    repo = pygit2.init_repository(str(lab), initial_head="main")
    commit_worktree(repo, "lab")
    return lab


def test_discovery_on_fakepve(tmp_path: Path, pve: PveBackend) -> None:
    """Nodes and the guests nobody manages are reported; nothing is written to the PVE."""
    app = HomeportApp(_lab(tmp_path, pve))
    try:
        start = len(pve.pve.requests)

        async def go() -> tuple[Any, Any, Any]:
            async with Client(server_for(app, "read")) as client:
                return (await client.call_tool("discover-proxmox-resources", {}),
                        await client.call_tool("discover-proxmox-resources", {"proxmox_node": "pve2"}),
                        await client.call_tool("discover-infrastructure-context", {"providers": ["proxmox"]}))

        everything, one_node, context = anyio.run(go)
    finally:
        app.close()
    assert not everything.is_error, everything.content[0].text
    data = everything.structured_content
    assert sorted(n["name"] for n in data["nodes"]) == ["pve1", "pve2", "pve3"]
    unmanaged = {r["name"]: r for r in data["new_resources_found"]}
    assert {"plex", "scratch"} <= set(unmanaged) and unmanaged["plex"]["vmid"] == "150"
    assert data["missing_resources"] == [] and data["unavailable"] == {}
    node_only = one_node.structured_content
    assert [n["name"] for n in node_only["nodes"]] == ["pve2"]
    assert [r["name"] for r in node_only["discovered_resources"]] == ["plex"]
    ctx = context.structured_content["providers"]
    assert ctx[0]["name"] == "pve" and ctx[0]["status"] == "observed" and len(ctx[0]["nodes"]) == 3
    assert all(method == "GET" for method, _path in pve.requests_since(start))

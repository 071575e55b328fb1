"""50 proposals at once from separate clients: every branch exists with its intact commit; main untouched."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pygit2
from mcp import Client

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server
from reconciler.proposals.records import list_proposals
from tests.backends.homeport_lab import branches, main_tip

COUNT = 50
POOL = "/infrastructure/on-premise/sim/compute"


def test_fifty_concurrent_proposals(lab: Path) -> None:
    """Each thread is its own client with its own server and lab session (its own repository handle)."""
    base = main_tip(lab)
    results: dict[int, Any] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(COUNT)

    def agent(i: int) -> None:
        try:
            app = HomeportApp(lab)
            try:
                server = build_server(app, local_caller=Caller(actor=f"agent-{i}", scopes=frozenset({"read",
                                                                                                       "propose"})))

                async def go() -> Any:
                    async with Client(server) as client:
                        start.wait(timeout=300)
                        return await client.call_tool("deploy-with-intelligence", {
                            "universal_definition": {"name": f"svc-{i:02d}", "pool": POOL,
                                                     "requirements": {"cpu": 1, "memory_gb": 1}},
                            "auto_optimize": False, "reason": f"agent {i}"})

                results[i] = anyio.run(go)
            finally:
                app.close()
        except BaseException as exc:  # collected and reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=agent, args=(i,)) for i in range(COUNT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors, errors[:3]
    failed = {i: r.content[0].text for i, r in results.items() if r.is_error}
    assert not failed and len(results) == COUNT, failed
    made = branches(lab)
    assert len(made) == COUNT
    repo = pygit2.Repository(str(lab))
    for i, result in results.items():
        proposal = result.structured_content["proposal"]
        commit = repo[made[proposal["branch"]]]
        assert [str(p) for p in commit.parent_ids] == [base]
        assert f"resources/svc-{i:02d}.yaml" in commit.tree
        diff = repo.diff(repo[base], commit)
        assert [p.delta.new_file.path for p in diff] == [f"resources/svc-{i:02d}.yaml"]
    assert main_tip(lab) == base
    app = HomeportApp(lab)
    try:
        stored = list_proposals(app.service.session.db, "home", "open", limit=500)
    finally:
        app.close()
    assert sorted(p.branch for p in stored) == sorted(made)

"""get-deployment-status reports a resource's open deviations whether or not the lab had any deviation row when
the server started reading (the tool skips the deviation query while the lab has none)."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from mcp_server.app import HomeportApp
from reconciler.models.plan import Mode
from reconciler.phases.run import reconcile
from tests.mcp.conftest import server_for


def _status(server: Any, name: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Client(server) as client:
            result = await client.call_tool("get-deployment-status", {"instance_name": name})
            assert not result.is_error, result.content
            return dict(result.structured_content or {})

    return anyio.run(go)


def test_deviations_appear_once_recorded_and_other_resources_stay_clean(app: HomeportApp) -> None:
    """No deviation row at first, then a drift recorded by a run: the drifted resource shows it, others do not."""
    from reconciler.cli.sim_commands import drift

    server = server_for(app, "read")
    before = _status(server, "ci-runner")
    assert before["deviations"] == [] and before["matches"]
    drift("ci-runner", ["cpu=7"], app.lab_dir)
    reconcile(app.service.session, mode=Mode.auto, trigger="test")  # ci-runner has no self_heal: recorded, not fixed
    after = _status(server, "ci-runner")
    assert any(d["field"] == "cpu" and d["actual"] == 7 for d in after["deviations"]), after
    assert _status(server, "web-frontend")["deviations"] == []

"""The propose-drift-resolution MCP tool: the same drift proposals from an agent (propose scope)."""

from __future__ import annotations

import pytest

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.tools.propose_drift_resolution import SPEC
from mcp_server.toolspec import AgentError
from reconciler.models.plan import Mode
from reconciler.phases.run import reconcile
from reconciler.providers.sim.drift import cause_drift
from reconciler.store.provider_state import DbProviderState
from tests.daemon.labrepo import LabRepo


def test_agent_proposes_adopting_drift(lab: LabRepo, db_url: str) -> None:
    app = HomeportApp(lab.path, database_url=db_url)
    try:
        reconcile(app.service.session, mode=Mode.auto)
        cause_drift(DbProviderState(app.service.session.db, "home", "lab"), "vm-0", {"cpu": 3})
        reconcile(app.service.session, mode=Mode.auto)
        agent = Caller(actor="agent-1", scopes=frozenset({"read", "propose"}), kind="agent")
        out = SPEC.call(app, agent, {"resource": "vm-0", "resolution": "adopt"})
        assert out.title == "Adopt live cpu of vm-0" and out.branch.startswith("proposals/")
        assert out.evidence["deviations"] == [{"field": "cpu", "declared": 1, "live": 3}]
        with pytest.raises(AgentError, match="propose"):
            SPEC.call(app, Caller(actor="reader", scopes=frozenset({"read"})), {"resource": "vm-0",
                                                                                "resolution": "revert"})
        with pytest.raises(AgentError, match="resolution"):
            SPEC.call(app, agent, {"resource": "vm-0", "resolution": "ignore"})
    finally:
        app.close()

"""Advice and plan never disagree: find-optimal-placement and deploy-with-intelligence run the planner's own
placement (same demand, ratios, constraints), so the node advised is the node the plan places the resource on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.app import HomeportApp
from tests.mcp.conftest import server_for

SIM_POOL = "/infrastructure/on-premise/sim/compute"


def call(app: HomeportApp, name: str, args: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(server_for(app, "read")) as client:
            return await client.call_tool(name, args)

    result = anyio.run(go)
    assert not result.is_error, result.content
    return result.structured_content or json.loads(result.content[0].text)


@pytest.mark.parametrize(
    ("name", "requirements"),
    [("tiny", {"cpu": 1, "memory_gb": 1}), ("mid", {"cpu": 6, "memory_gb": 24}), ("wide", {"cpu": 16, "memory_gb": 8}),
     ("gpu-box", {"cpu": 4, "memory_gb": 8, "gpu": True})],
)
def test_advice_matches_the_plan(module_lab: Path, name: str, requirements: dict[str, Any]) -> None:
    app = HomeportApp(module_lab)
    try:
        advice = call(app, "find-optimal-placement",
                      {"resource_requirements": requirements, "resource_pool": SIM_POOL, "instance_name": name})
        dry = call(app, "deploy-with-intelligence", {
            "universal_definition": {"name": name, "workload_type": "general", "pool": SIM_POOL,
                                     "requirements": requirements},
            "auto_optimize": False, "dry_run": True})
    finally:
        app.close()
    [change] = [c for c in dry["deployment_plan"]["changes"] if c["resource"] == name]
    assert advice["best_node"] == change["node"], (advice["summary"], change["reason"])
    # the example lab's only GPU is taken by gpu-worker: advice and plan both refuse gpu-box, for the same reason
    assert change["placement"]["source"] == ("placed" if advice["best_node"] else "refused")
    [per_pool] = advice["per_pool"]
    assert per_pool["placement"]["nodes"] == change["placement"]["nodes"]
    assert per_pool["placement"]["runner_up"] == change["placement"]["runner_up"]
    assert per_pool["placement"]["cpu_allocation_ratio"] == change["placement"]["cpu_allocation_ratio"]


@pytest.mark.parametrize(("requirements", "pool"), [
    ({"cpu": 2, "memory_gb": 4}, SIM_POOL),
    ({"cpu": 2, "memory_gb": 4, "gpu": True}, SIM_POOL + "/gpu-nodes"),
])
def test_preferred_provider_keeps_gpu_pools_for_gpu_work(module_lab: Path, requirements: dict[str, Any],
                                                         pool: str) -> None:
    app = HomeportApp(module_lab)
    try:
        dry = call(app, "deploy-with-intelligence", {
            "universal_definition": {"name": "ci-two", "workload_type": "jenkins", "requirements": requirements},
            "preferred_provider": "sim", "auto_optimize": False, "dry_run": True})
    finally:
        app.close()
    assert dry["pool"] == pool
    [change] = [c for c in dry["deployment_plan"]["changes"] if c["resource"] == "ci-two"]
    if "gpu" in requirements:  # the example lab's only GPU (sim-1) is taken by gpu-worker: held back, saying so
        assert change["node"] is None and "0 free GPU(s), needs 1" in change["blocked"]
    else:  # a non-GPU Jenkins is kept off the GPU node
        assert change["node"] != "sim-1"

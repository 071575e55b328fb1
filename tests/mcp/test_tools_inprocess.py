"""Every tool through a real MCP client connected in-process to the server object."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.app import HomeportApp
from mcp_server.tools import ALL_TOOLS
from tests.backends.homeport_lab import branches, main_tip
from tests.mcp.conftest import server_for

SIM_POOL = "/infrastructure/on-premise/sim/compute"
NEW = {"name": "grafana", "workload_type": "web-app", "pool": SIM_POOL, "requirements": {"cpu": 1, "memory_gb": 1}}
Check = Callable[[dict[str, Any]], Any]


def _call(server: Any, name: str, args: dict[str, Any]) -> Any:
    async def go() -> Any:
        async with Client(server) as client:
            return await client.call_tool(name, args)

    return anyio.run(go)


@pytest.fixture(scope="module")
def served(module_lab: Path) -> Iterator[HomeportApp]:
    """One app for the module's read-mostly calls."""
    app = HomeportApp(module_lab)
    yield app
    app.close()


CASES: list[tuple[str, dict[str, Any], Check]] = [
    ("discover-infrastructure-context", {},
     lambda r: (r["lab"] == "home" and any(p["status"] == "observed" and len(p["nodes"]) == 3 and p["managed"]
                                           for p in r["providers"]))),
    ("discover-proxmox-resources", {},
     lambda r: r["providers"] == ["pve"] and "disabled" in r["unavailable"]["pve"]),
    ("find-best-provider-for-workload", {"workload_type": "web-app", "requirements": {"cpu": 2, "memory_gb": 4}},
     lambda r: r["recommended_provider"] == "lab"
     and any(o["provider"] == "aws" and o["monthly_cost"]["source"]["url"] and not o["viable"]
             for o in r["provider_comparison"])),
    ("analyze-resource-requirements", {"workload_type": "jenkins"},
     lambda r: (r["recommended_config"]["memory_gb"] == 4.0 and "cpu" in r["sizing"]["unknown"]
                and r["sizing"]["sources"][0]["url"].startswith("https://www.jenkins.io/"))),
    ("find-optimal-placement", {"resource_requirements": {"cores": 2, "memory_gb": 4}, "resource_pool": SIM_POOL},
     lambda r: r["best_node"] in ("sim-1", "sim-2", "sim-3") and r["capacity_impact"]),
    ("translate-universal-to-provider", {"universal_definition": NEW, "target_provider": "sim"},
     lambda r: r["chart"] == "sim-machine" and "grafana" in r["rendered_config"]["machine.yaml"]
    ),
    ("list-available-helm-charts", {"provider_filter": "proxmox"},
     lambda r: {c["name"] for c in r["available_charts"]} >= {"proxmox-compute"}),
    ("validate-universal-definition", {"universal_definition": NEW, "target_providers": ["sim", "aws"]},
     lambda r: r["valid"] and r["validation_results"]["aws"].startswith("ok")),
    ("deploy-with-intelligence", {"universal_definition": NEW, "dry_run": True},
     lambda r: r["proposal"] is None and r["deployment_plan"]["counts"]["create"] == 1),
    ("query-resource-pools", {"path_pattern": "/infrastructure/on-premise/sim*", "include_capacity": True},
     lambda r: r["pools"][0]["path"] == SIM_POOL and r["pools"][0]["observed_nodes"]
     and all(n["cpu_allocation_ratio"] == 4.0 and n["cpu_free_to_place"] <= n["cpu"] * 4
             for n in r["pools"][0]["observed_nodes"])
    ),
    ("list-deployment-templates", {"include_parameters": True},
     lambda r: "jenkins" in [t["name"] for t in r["templates"]]),
    ("get-deployment-status", {"instance_name": "web-frontend", "include_logs": True},
     lambda r: r["status"] == "running" and r["matches"] and r["logs"]),
    ("compare-expected-vs-actual-state", {"check_all_instances": True},
     lambda r: r["deviations_found"] == []),
    ("create-infrastructure-snapshot", {"snapshot_name": "before-move"},
     lambda r: len(r["snapshot_id"]) == 32 and "web-frontend" in r["captured_resources"]),
    ("detect-infrastructure-anomalies", {"anomaly_sensitivity": "high"},
     lambda r: r["risk_assessment"]["high"] == 0),
    ("get-deployment-sop", {"service_name": "ollama"},
     lambda r: r["specific"] and "8 GB" in r["prerequisites"] and "ollama" in r["sources"]),
    ("get-resource-allocation-guidelines", {"workload_category": "ai", "expected_load": "heavy"},
     lambda r: r["baseline_config"]["memory_gb"] == 32.0 and r["sources"]),
    ("get-placement-strategy", {"availability_requirements": "high"},
     lambda r: r["lab_facts"]["high_availability_possible_on"] == ["lab"]),
    ("list-proposals", {}, lambda r: isinstance(r["proposals"], list)),
]


@pytest.mark.parametrize(("name", "args", "check"), CASES, ids=[c[0] for c in CASES])
def test_read_tool(served: HomeportApp, name: str, args: dict[str, Any], check: Check) -> None:
    """Each read tool answers with structured content that matches its output schema, plus a text summary."""
    before = main_tip(served.lab_dir)
    result = _call(server_for(served, "read", "propose"), name, args)
    assert not result.is_error, result.content[0].text
    structured = result.structured_content
    assert structured["summary"] and result.content[0].text.startswith(structured["summary"])
    assert json.loads(result.content[0].text.split("\n\n", 1)[1]) == structured
    assert check(structured), structured
    assert main_tip(served.lab_dir) == before


def test_proposing_tools_open_one_branch_each(app: HomeportApp) -> None:
    """deploy, update dimensions, template from instance, migration: each opens one proposal; main unmoved."""
    base = main_tip(app.lab_dir)
    server = server_for(app, "read", "propose")
    deploy = _call(server, "deploy-with-intelligence", {"universal_definition": NEW, "reason": "dashboards"})
    assert not deploy.is_error, deploy.content[0].text
    dims = _call(server, "update-resource-dimensions", {"resource_id": "web-frontend", "resource_type": "instance",
                                                         "dimensions": {"tier": "gold"}})
    assert not dims.is_error, dims.content[0].text
    template = _call(server, "generate-template-from-instance", {"instance_id": "web-frontend",
                                                                  "template_name": "web-small"})
    assert not template.is_error, template.content[0].text
    snap = _call(server, "create-infrastructure-snapshot", {"snapshot_name": "s1"}).structured_content["snapshot_id"]
    move = _call(server, "plan-migration-from-snapshot", {"snapshot_id": snap, "target_node": "sim-1"})
    assert not move.is_error, move.content[0].text
    ids = [deploy.structured_content["proposal"]["proposal_id"], dims.structured_content["proposal"]["proposal_id"],
           template.structured_content["proposal"]["proposal_id"], move.structured_content["proposal"]["proposal_id"]]
    made = branches(app.lab_dir)
    assert len(made) == 4 and all(any(b.startswith(f"proposals/{i}-") for b in made) for i in ids)
    assert main_tip(app.lab_dir) == base
    for branch, commit in made.items():
        head = app.service.session.repo[commit]
        assert [str(p) for p in head.parent_ids] == [base], branch
    shown = _call(server, "get-proposal", {"proposal_id": ids[0]})
    assert shown.structured_content["plan"]["counts"]["create"] == 1
    assert "+name: grafana" in shown.structured_content["rendered_diff"]
    listed = _call(server, "list-proposals", {"status": "open"}).structured_content["proposals"]
    assert sorted(p["proposal_id"] for p in listed) == sorted(ids)
    assert move.structured_content["proposal"]["risk"] in ("medium", "high")


def test_compare_proposes_self_heal_for_drift(app: HomeportApp) -> None:
    """A live change to a resource without self-heal is found, and auto-correct proposes self_heal: true."""
    from reconciler.cli.sim_commands import drift

    drift("ci-runner", ["cpu=7"], app.lab_dir)
    server = server_for(app, "read", "propose")
    result = _call(server, "compare-expected-vs-actual-state", {"instance_name": "ci-runner",
                                                                 "auto_correct_minor_deviations": True})
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    assert any(d["field"] == "cpu" and d["actual"] == 7 for d in data["deviations_found"])
    assert data["proposal"] is not None and "ci-runner" in data["proposal"]["title"]
    files = data["proposal"]["files"]
    text = app.service.session.repo.revparse_single(f"{data['proposal']['branch']}:{files[0]}").data.decode()
    assert "self_heal: true" in text


def test_every_tool_is_covered() -> None:
    """The tables above (plus the proposing and approve tests) name every registered tool."""
    covered = {c[0] for c in CASES} | {"update-resource-dimensions", "generate-template-from-instance",
                                       "plan-migration-from-snapshot", "get-proposal", "approve-proposal",
                                       "propose-drift-resolution",  # tests/daemon/test_mcp_drift_tool.py
                                       # tests/mcp/test_document_workflows.py:
                                       "update-context-after-deployment", "analyze-cross-provider-optimization",
                                       "plan-multi-provider-migration", "execute-optimization-plan", "get-sop",
                                       "run-rebuild-drill", "whatif-proposal",  # tests/drill/
                                       "propose-rollback"}
    assert covered == {s.name for s in ALL_TOOLS}
    assert len(ALL_TOOLS) == 33


def test_sop_resources_and_prompts(served: HomeportApp) -> None:
    """SOPs are MCP resources; the workflow prompts render."""

    async def go() -> tuple[Any, Any, Any]:
        async with Client(server_for(served, "read")) as client:
            resources = await client.list_resources()
            body = await client.read_resource("homeport://sops/deploy-jenkins")
            prompt = await client.get_prompt("deploy-a-service", {"service": "jenkins"})
            return resources, body, prompt

    resources, body, prompt = anyio.run(go)
    assert "homeport://sops/deploy-ollama" in {str(r.uri) for r in resources.resources}
    assert "4 GB+ of RAM" in body.contents[0].text
    assert "analyze-resource-requirements" in prompt.messages[0].content.text


def test_discovery_free_capacity_is_what_placement_checks(served: HomeportApp) -> None:
    """discover-infrastructure-context's free_cpu/free_memory_gb are allocation-based free-to-place (capacity x
    ratio - allocated), the same figures query-resource-pools and `homeport capacity` show, not idle cores."""
    server = server_for(served, "read")
    context = _call(server, "discover-infrastructure-context", {"include_costs": False}).structured_content
    pools = _call(server, "query-resource-pools", {"path_pattern": SIM_POOL, "include_capacity": True})
    placeable = {n["node"]: n for n in pools.structured_content["pools"][0]["observed_nodes"]}
    nodes = next(p for p in context["providers"] if p["name"] == "lab")["nodes"]
    assert {n["name"] for n in nodes} == set(placeable)
    for node in nodes:
        row = placeable[node["name"]]
        assert node["free_cpu"] == row["cpu_free_to_place"] == round(node["cpu"] * 4.0 - node["cpu_allocated"], 3)
        assert node["free_memory_gb"] == row["memory_free_to_place_gb"]
    assert any(n["cpu_allocated"] > 0 for n in nodes)  # the module lab runs guests: allocation is counted

"""get-placement-strategy: how homeport places workloads, and what this lab's nodes allow."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.sops import sop_sections
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """The service and its needs."""

    service_type: str = Field(default="general", max_length=63, description="Kind of service, e.g. database or web")
    availability_requirements: str = Field(default="basic", max_length=30, description="basic, high or critical")
    performance_requirements: str = Field(default="standard", max_length=30,
                                          description="standard, high or low")


class Output(ToolOutput):
    """Placement rules plus facts from the lab."""

    placement_rules: str
    anti_affinity_rules: str
    network_considerations: str
    backup_strategies: str
    lab_facts: dict[str, Any]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """The placement SOP and how many observed nodes could host replicas."""
    sections = sop_sections("placement-strategy")
    state = app.state()
    observation = app.observe(state)
    nodes = {name: len([n for n in inv.nodes if n.status in ("online", "running", "ready")])
             for name, inv in observation.inventories.items()}
    ha = args.availability_requirements in ("high", "critical")
    facts: dict[str, Any] = {"online_nodes_per_provider": nodes,
                             "high_availability_possible_on": sorted(p for p, n in nodes.items() if n >= 2)}
    summary = (f"placement for {args.service_type}: deterministic, allocation within cores x overcommit ratio; "
               + (f"replicas possible on {', '.join(facts['high_availability_possible_on']) or 'no provider'}"
                  if ha else "one node is enough"))
    return Output(summary=summary, placement_rules=sections.get("placement-rules", ""),
                  anti_affinity_rules=sections.get("anti-affinity-rules", ""),
                  network_considerations=sections.get("network-considerations", ""),
                  backup_strategies=sections.get("backup-strategies", ""), lab_facts=facts)


SPEC = ToolSpec(name="get-placement-strategy", title="Get placement strategy",
                description="How homeport places workloads (allocation x overcommit ratio, constraints), "
                            "anti-affinity, network and backup practice, and which providers have enough nodes "
                            "for replicas.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

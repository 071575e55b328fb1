"""discover-proxmox-resources: Proxmox guests compared with the lab's records (new, missing, drifted)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import queries


class Input(ToolInput):
    """Which node and what to include."""

    proxmox_node: str | None = Field(default=None, description="Only this PVE node (default: all)")
    include_templates: bool = Field(default=True, description="Include guests that are templates")
    include_storage: bool = Field(default=True, description="Include node storage capacity")
    update_inventory: bool = Field(default=True, description="Accepted for compatibility: the inventory is "
                                   "recorded by the reconciler at each run, never by this tool")
    detect_deviations: bool = Field(default=True, description="Report open deviations of managed guests")


class Output(ToolOutput):
    """What Proxmox holds vs. what the lab knows."""

    providers: list[str]
    discovered_resources: list[dict[str, Any]] = Field(default_factory=list)
    new_resources_found: list[dict[str, Any]] = Field(default_factory=list, description="Not managed by this lab")
    missing_resources: list[str] = Field(default_factory=list, description="Recorded instances not found live")
    state_deviations: list[dict[str, Any]] = Field(default_factory=list)
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    sync_actions_taken: list[str] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Observe every Proxmox provider of the lab."""
    state = app.state()
    names = {n for n, c in state.lab.spec.providers.items() if c.type == "proxmox"}
    if not names:
        raise AgentError("this lab has no proxmox provider; use discover-infrastructure-context for the others")
    observation = app.observe(state, names)
    out = Output(summary="", providers=sorted(names), unavailable=dict(observation.unavailable),
                 sync_actions_taken=["none: homeport records inventory during reconcile runs; this tool only reads"])
    live: set[str] = set()
    for name, inv in sorted(observation.inventories.items()):
        for node in inv.nodes:
            if args.proxmox_node and node.name != args.proxmox_node:
                continue
            entry: dict[str, Any] = {"provider": name, "name": node.name, "status": node.status, "cpu": node.cpu,
                                     "memory_gb": node.memory_gb, "gpus": len(node.gpus)}
            if args.include_storage:
                entry.update(storage_gb=node.storage_gb, storage_used_gb=node.storage_used_gb)
            out.nodes.append(entry)
        for r in inv.resources:
            if args.proxmox_node and r.node != args.proxmox_node:
                continue
            if not args.include_templates and r.fields.get("template"):
                continue
            item = {"provider": name, "name": r.name, "vmid": r.id, "kind": r.kind, "node": r.node,
                    "status": r.status, "managed": r.owned and r.lab == state.lab_name}
            out.discovered_resources.append(item)
            if item["managed"]:
                live.add(r.name)
            else:
                out.new_resources_found.append(item)
    if args.proxmox_node and not out.nodes and observation.inventories:
        known = sorted(n.name for inv in observation.inventories.values() for n in inv.nodes)
        raise AgentError(f"no Proxmox node {args.proxmox_node!r}; nodes: {', '.join(known) or '(none)'}")
    recorded = [i for i in queries.instances(app.service)
                if i.provider in names and i.status != "deleted" and i.destroyed_at is None]
    if observation.inventories:
        out.missing_resources = sorted(i.name for i in recorded if i.name not in live and
                                       (not args.proxmox_node or i.node == args.proxmox_node))
    if args.detect_deviations:
        wanted = {i.name for i in recorded}
        out.state_deviations = [{"resource": d.resource, "field": d.field, "expected": d.expected,
                                 "actual": d.actual, "severity": d.severity}
                                for d in queries.deviations(app.service) if d.resource in wanted]
    out.summary = (f"{len(out.discovered_resources)} guest(s) on {len(out.nodes)} node(s); "
                   f"{len(out.new_resources_found)} not managed by this lab, {len(out.missing_resources)} missing, "
                   f"{len(out.state_deviations)} open deviation(s)"
                   + (f"; unavailable: {'; '.join(out.unavailable.values())}" if out.unavailable else ""))
    return out


SPEC = ToolSpec(name="discover-proxmox-resources", title="Discover Proxmox resources",
                description="Proxmox nodes and guests compared with the lab's records: guests not managed by "
                            "the lab, recorded guests that are missing, and open deviations. Read only.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

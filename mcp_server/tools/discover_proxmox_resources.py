"""discover-proxmox-resources: Proxmox guests compared with the lab's records (new, missing, drifted).

Guests come a page at a time (`limit`, `cursor`, `fields`; `all` for every one) with counts of the whole
listing, so 200 guests are not one 110 KB answer; each guest of the page is listed once in full
(`new_resources_found` only names the unmanaged ones). Each call makes one GET /cluster/resources (the provider's
change check); when no guest moved, the guests of the last observe and the list derived from them and from
the records are reused (the records are checked by one query), so a warm call costs that one request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.paging import Page, PageInput, page, pick_fields
from mcp_server.toolspec import AgentError, ToolOutput, ToolSpec
from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.service import queries

NAME = "discover-proxmox-resources"
BASE_FIELDS = ("provider", "name", "vmid", "kind", "node", "status", "managed")
EXTRA_FIELDS = ("cores", "memory_mb", "tags", "template")


class Input(PageInput):
    """Which node and what to include."""

    proxmox_node: str | None = Field(default=None, description="Only this PVE node (default: all)")
    include_templates: bool = Field(default=True, description="Include guests that are templates")
    include_storage: bool = Field(default=True, description="Include node storage capacity")
    update_inventory: bool = Field(default=True, description="Ignored (the reconciler records inventory)")
    detect_deviations: bool = Field(default=True, description="Report open deviations of managed guests")


class Output(ToolOutput):
    """What Proxmox holds vs. what the lab knows."""

    providers: list[str]
    total: int = Field(default=0, description="Guests matching the filters, on every page")
    counts: dict[str, dict[str, int]] = Field(default_factory=dict)
    discovered_resources: list[dict[str, Any]] = Field(default_factory=list, description="This page's guests")
    new_resources_found: list[dict[str, Any]] = Field(
        default_factory=list, description="This page's guests not managed by this lab (provider, vmid, name)")
    next_cursor: str | None = None
    missing_resources: list[str] = Field(default_factory=list, description="Recorded instances not found live")
    state_deviations: list[dict[str, Any]] = Field(default_factory=list)
    nodes: list[dict[str, Any]] = Field(default_factory=list)
    sync_actions_taken: list[str] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Derived:
    """The whole guest listing and what the records add, kept while its inputs stay the same."""

    guests: list[dict[str, Any]]  # sorted by (provider, vmid)
    counts: dict[str, dict[str, int]]
    missing: list[str]
    deviations: list[dict[str, Any]]


def _guest(provider: str, r: ObservedResource, lab: str) -> dict[str, Any]:
    return {"provider": provider, "name": r.name, "vmid": r.id, "kind": r.kind, "node": r.node, "status": r.status,
            "managed": r.owned and r.lab == lab, "cores": r.fields.get("cores"),
            "memory_mb": r.fields.get("memory_mb"), "tags": r.fields.get("tags") or [],
            "template": bool(r.fields.get("template")) or r.status == "template"}


def _vmid(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if text.isdigit() else (1 << 62, text)


def _derive(app: HomeportApp, state: DesiredState, inventories: dict[str, Inventory], names: set[str],
            args: Input) -> Derived:
    guests = [_guest(name, r, state.lab_name) for name, inv in sorted(inventories.items()) for r in inv.resources
              if (not args.proxmox_node or r.node == args.proxmox_node)
              and (args.include_templates or not r.fields.get("template"))]
    guests.sort(key=lambda g: (g["provider"], *_vmid(g["vmid"])))
    live = {g["name"] for g in guests if g["managed"]}
    recorded = [i for i in queries.instances(app.service)
                if i.provider in names and i.status != "deleted" and i.destroyed_at is None]
    missing = (sorted(i.name for i in recorded if i.name not in live
                      and (not args.proxmox_node or i.node == args.proxmox_node)) if inventories else [])
    deviations: list[dict[str, Any]] = []
    if args.detect_deviations:
        wanted = {i.name for i in recorded}
        deviations = [{"resource": d.resource, "field": d.field, "expected": d.expected, "actual": d.actual,
                       "severity": d.severity} for d in queries.deviations(app.service) if d.resource in wanted]
    counts = {"managed": dict(Counter("managed" if g["managed"] else "not_managed" for g in guests)),
              "by_node": dict(Counter(str(g["node"]) for g in guests)),
              "by_status": dict(Counter(str(g["status"]) for g in guests)),
              "by_kind": dict(Counter(str(g["kind"]) for g in guests))}
    return Derived(guests=guests, counts=counts, missing=missing, deviations=deviations)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Observe every Proxmox provider of the lab; page the guests."""
    state = app.state()
    names = {n for n, c in state.lab.spec.providers.items() if c.type == "proxmox"}
    if not names:
        raise AgentError("this lab has no proxmox provider; use discover-infrastructure-context for the others")
    observation = app.observe(state, names)
    out = Output(summary="", providers=sorted(names), unavailable=dict(observation.unavailable),
                 sync_actions_taken=["none: homeport records inventory during reconcile runs; this tool only reads"])
    for name, inv in sorted(observation.inventories.items()):
        for node in inv.nodes:
            if args.proxmox_node and node.name != args.proxmox_node:
                continue
            entry: dict[str, Any] = {"provider": name, "name": node.name, "status": node.status, "cpu": node.cpu,
                                     "memory_gb": node.memory_gb, "gpus": len(node.gpus)}
            if args.include_storage:
                entry.update(storage_gb=node.storage_gb, storage_used_gb=node.storage_used_gb)
            out.nodes.append(entry)
    if args.proxmox_node and not out.nodes and observation.inventories:
        known = sorted(n.name for inv in observation.inventories.values() for n in inv.nodes)
        raise AgentError(f"no Proxmox node {args.proxmox_node!r}; nodes: {', '.join(known) or '(none)'}")
    filters = {"node": args.proxmox_node, "templates": args.include_templates, "deviations": args.detect_deviations}
    # The same guest objects (reused by the observer when none moved), records and commit: the same answer.
    inventories = sorted(observation.inventories.items())
    inputs = (state.revision, queries.records_version(app.service, state.lab_name), tuple(sorted(filters.items())),
              tuple(sorted(names)), tuple((n, len(inv.resources)) for n, inv in inventories))
    sources = [r for _n, inv in inventories for r in inv.resources]
    derived = app.memo(NAME, inputs, sources, lambda: _derive(app, state, observation.inventories, names, args))
    guest_fields = BASE_FIELDS + EXTRA_FIELDS
    pick_fields([], args.fields, guest_fields)  # unknown field names are refused before anything else
    listing: Page = page(NAME, derived.guests, args.model_copy(update={"fields": None}),
                         sort_key=lambda g: (g["provider"], *_vmid(g["vmid"])),
                         filters={**filters, "providers": sorted(names)}, as_dict=dict,
                         known=guest_fields, ordered=True)
    out.total, out.next_cursor = listing.total, listing.next_cursor
    out.discovered_resources = pick_fields(listing.items, args.fields, guest_fields, BASE_FIELDS)
    # Each guest is listed once in full; new_resources_found names the page's unmanaged ones.
    out.new_resources_found = [{"provider": g["provider"], "vmid": g["vmid"], "name": g["name"]}
                               for g in listing.items if not g["managed"]]
    out.counts, out.missing_resources, out.state_deviations = derived.counts, derived.missing, derived.deviations
    managed = derived.counts["managed"]
    shown = (f"all {listing.total} guests" if listing.next_cursor is None and not args.cursor
             else f"{len(listing.items)} of {listing.total} guests (next_cursor for more)")
    out.summary = (f"{listing.total} guest(s) on {len(out.nodes)} node(s); {managed.get('not_managed', 0)} not "
                   f"managed by this lab, {len(out.missing_resources)} missing, {len(out.state_deviations)} open "
                   f"deviation(s); this answer lists {shown}"
                   + (f"; unavailable: {'; '.join(out.unavailable.values())}" if out.unavailable else ""))
    return out


SPEC = ToolSpec(name=NAME, title="Discover Proxmox resources",
                description="Proxmox nodes and guests compared with the lab's records: guests not managed by "
                            "the lab, recorded guests that are missing, open deviations. Guests are paged "
                            "(limit, cursor; all: true for every one). Read only.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

"""Read-only view of a PVE cluster: one GET /cluster/resources per cycle, guest configs only when needed.

A guest's config is read when the cheap listing fields (cores, memory, tags, status, boot disk size)
differ from those seen when its config was last read, or that read is older than the refresh interval.
So a no-op cycle costs one call; a guest changed out of band costs one more.

A long-lived reader (the MCP server) may ask for reuse: when the listing's guest entries are the same as
at the last full observe (everything but their usage counters) and that observe is recent enough, the
guests of that inventory are reused and only the nodes (usage, allocation, storage) are rebuilt from the
new listing, still one call, with no provider-state reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from reconciler.models.inventory import Inventory, NodeFacts, ObservedResource
from reconciler.providers.base import ProviderState
from reconciler.providers.errors import ProviderError
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.facts import (
    cheap_fields,
    fields_from_config,
    nodes_from_listing,
    nodes_with_allocation,
)
from reconciler.providers.proxmox.fields import ownership
from reconciler.providers.proxmox.gpus import GpuCache, node_gpus

DETAIL_PREFIX = "detail/"
CONFIGURED_PREFIX = "configured/"


def guest_path(item: dict[str, Any]) -> str:
    """API path of a guest from its listing entry: nodes/<node>/<qemu|lxc>/<vmid>."""
    return f"nodes/{item['node']}/{item['type']}/{item['vmid']}"


def list_resources(client: PveClient, kind: str | None = None) -> list[dict[str, Any]]:
    """GET /cluster/resources (optionally of one type: vm, node, storage)."""
    params = {"type": kind} if kind else {}
    return list(client.get("cluster/resources", **params) or [])


# Counters a guest's listing entry carries that change on every call and no observed field is read from
# (memhost: the host's view of a QEMU guest's memory use, listed by PVE 8.4 and later).
USAGE_KEYS = frozenset({"cpu", "mem", "memhost", "uptime", "netin", "netout", "diskread", "diskwrite", "disk"})


def guests_key(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listing's guest entries without their usage counters, in listing order (pure: equal when the guests
    observe() would build from the two listings are the same; PVE keeps the order stable, and a listing in
    another order only costs a full observe). Copies and deletes in C: a third of the time of a rebuild."""
    key: list[dict[str, Any]] = []
    for item in items:
        if item.get("type") in ("qemu", "lxc"):
            entry = item.copy()
            for name in USAGE_KEYS.intersection(entry):
                del entry[name]
            key.append(entry)
    return key


@dataclass(frozen=True)
class LastObservation:
    """The last full observe: its guests' key (guests_key), when, and the inventory built."""

    key: list[dict[str, Any]]
    at: datetime
    inventory: Inventory


def guests(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The QEMU and LXC entries of a listing."""
    return [i for i in items if i.get("type") in ("qemu", "lxc")]


def read_fields(client: PveClient, item: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(fields, raw config) of one guest, from its config."""
    config = client.get(guest_path(item) + "/config") or {}
    status = "running" if item.get("status") == "running" else "stopped"
    return fields_from_config(str(item["type"]), config, status), config


def agent_address(client: PveClient, item: dict[str, Any]) -> str | None:
    """The guest's first global IPv4 address as its QEMU guest agent reports it; None without an agent."""
    try:
        data = client.get(guest_path(item) + "/agent/network-get-interfaces") or {}
    except ProviderError:
        return None
    interfaces = data.get("result", data) if isinstance(data, dict) else data
    for iface in interfaces or []:
        if iface.get("name") == "lo":
            continue
        for addr in iface.get("ip-addresses") or []:
            ip = str(addr.get("ip-address") or "")
            if addr.get("ip-address-type") == "ipv4" and not ip.startswith(("127.", "169.254.")):
                return ip
    return None


class Observer:
    """Builds an Inventory; keeps each owned guest's last-read fields in provider state."""

    def __init__(
        self,
        client: PveClient,
        state: ProviderState,
        *,
        provider: str,
        lab: str,
        detail_refresh: timedelta,
        gpus: GpuCache | None,
    ) -> None:
        self.client = client
        self.state = state
        self.provider = provider
        self.lab = lab
        self.detail_refresh = detail_refresh
        self.gpus = gpus
        self.last: LastObservation | None = None

    def observe(self, now: datetime, *, reuse_for: timedelta | None = None) -> Inventory:
        """Nodes (capacity, usage, GPUs) and guests (owned and not). Never changes anything on PVE.

        reuse_for: answer from the last full observe when it is younger than this and the listing's guests
        did not move (see the module's docstring); None always builds anew.
        """
        start_calls = self.client.calls
        items = list_resources(self.client)
        key = guests_key(items)
        last = self.last
        if reuse_for is not None and last is not None and last.key == key and now - last.at < reuse_for:
            nodes = self._nodes_again(items, last.inventory)
            if nodes is not None:
                return last.inventory.model_copy(update={
                    "observed_at": now, "nodes": nodes, "resources": list(last.inventory.resources),
                    "api_calls": self.client.calls - start_calls})
        cache = self.state.items(DETAIL_PREFIX)
        configured = self.state.items(CONFIGURED_PREFIX)
        resources = [self._guest(item, now, cache) for item in guests(items)]
        listed = {f"{DETAIL_PREFIX}{r.id}" for r in resources}
        for gone in sorted(set(cache) - listed):  # guests removed since their config was read
            self.state.delete(gone)
        for res in resources:
            stamp = configured.get(CONFIGURED_PREFIX + res.name)
            if res.owned and res.lab == self.lab and stamp:
                res.fields["configured"] = stamp
        nodes = self.node_facts(items, resources, now)
        inventory = Inventory(
            provider=self.provider,
            provider_type="proxmox",
            observed_at=now,
            nodes=nodes,
            resources=resources,
            api_calls=self.client.calls - start_calls,
        )
        self.last = LastObservation(key, now, inventory)
        return inventory

    def _nodes_again(self, items: list[dict[str, Any]], previous: Inventory) -> list[NodeFacts] | None:
        """The nodes from this listing (whose guests are the previous inventory's: their allocation is kept) with
        the GPUs the previous inventory found; None when a node is new or its GPUs are unknown (a node that came
        online since): then the caller observes in full."""
        nodes = nodes_with_allocation(self.provider, items, previous.nodes)
        if nodes is None:
            return None
        before = {n.name: n for n in previous.nodes}
        for node in nodes:
            old = before.get(node.name)
            if self.gpus is not None and node.status == "online":
                if old is None or old.status != "online":
                    return None
                node.gpus = [g.model_copy() for g in old.gpus]
        return nodes

    def forget(self, vmid: str | int) -> None:
        """Drop a guest's cached fields (after apply changed it)."""
        self.state.delete(f"{DETAIL_PREFIX}{vmid}")
        self.last = None

    def _guest(self, item: dict[str, Any], now: datetime, cache: dict[str, Any]) -> ObservedResource:
        tags = cheap_fields(item)["tags"]
        owned, lab = ownership(tags)
        template = bool(item.get("template"))
        base = ObservedResource(
            name=str(item.get("name") or f"{item['type']}-{item['vmid']}"),
            provider=self.provider,
            kind=str(item["type"]),
            id=str(item["vmid"]),
            node=item.get("node"),
            owned=owned and not template,
            lab=lab,
            status="template" if template else str(item.get("status")),
        )
        cheap = cheap_fields(item)
        if not (base.owned and lab == self.lab):
            base.fields = {k: v for k, v in cheap.items() if k != "root_gb"}
            if template:
                base.fields["template"] = True  # discover-proxmox-resources filters templates by this
            base.detail_loaded = False
            return base
        key = f"{DETAIL_PREFIX}{item['vmid']}"
        cached = cache.get(key)
        fresh = (
            cached and cached.get("cheap") == cheap and now - datetime.fromisoformat(cached["at"]) < self.detail_refresh
        )
        if fresh and cached is not None:
            fields = dict(cached["fields"])
        else:
            fields, _config = read_fields(self.client, item)
            self.state.put(key, {"at": now.isoformat(), "cheap": cheap, "fields": fields})
        base.fields = fields
        return base

    def load_detail(self, resource: ObservedResource) -> ObservedResource:
        """The resource with every field read from its config."""
        if resource.detail_loaded or resource.id is None or resource.node is None:
            return resource
        item = {
            "node": resource.node,
            "type": resource.kind,
            "vmid": resource.id,
            "status": resource.fields.get("status"),
        }
        fields, _config = read_fields(self.client, item)
        return resource.model_copy(update={"fields": fields, "detail_loaded": True})

    def node_facts(
        self, items: list[dict[str, Any]], resources: list[ObservedResource], now: datetime
    ) -> list[NodeFacts]:
        """Nodes with capacity, allocation, usage, storage and GPUs, all from the one /cluster/resources
        listing (a GPU is in use when an owned guest's config names it)."""
        nodes = {n.name: n for n in nodes_from_listing(self.provider, items)}
        if self.gpus is not None:
            online = [n for n, f in sorted(nodes.items()) if f.status == "online"]
            pci, mapped = self.gpus.load(online, now)
            in_use = {str(r.fields["gpu"]): r.name for r in resources if r.fields.get("gpu")}
            for name in online:
                nodes[name].gpus = node_gpus(pci.get(name, []), mapped.get(name, {}), in_use)
        return [nodes[n] for n in sorted(nodes)]

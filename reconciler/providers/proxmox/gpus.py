"""GPUs per node: the nodes' PCI listings and the cluster's PCI resource mappings, cached."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reconciler.models.inventory import Gpu
from reconciler.providers.base import ProviderState
from reconciler.providers.proxmox.client import PveClient
from reconciler.providers.proxmox.fields import property_string

DISPLAY_CLASS = "0x03"  # PCI base class 03: display controllers
CACHE_KEY = "gpus"


def _pci_address(text: str) -> str:
    """Short form of a PCI address: 0000:01:00.0 -> 01:00.0 (the listing uses the long form)."""
    return text[5:] if len(text) == 12 and text[4] == ":" else text


def gpus_from_pci(devices: list[dict[str, Any]]) -> list[Gpu]:
    """Display controllers in a node's /hardware/pci listing (functions .0 only: one entry per card)."""
    out = []
    for dev in devices:
        cls = str(dev.get("class") or "")
        pci_id = str(dev.get("id") or "")
        if not cls.startswith(DISPLAY_CLASS) or not pci_id or not pci_id.endswith(".0"):
            continue
        out.append(
            Gpu(
                id=_pci_address(pci_id),
                model=str(dev.get("device_name") or dev.get("device") or ""),
                vendor=str(dev.get("vendor_name") or dev.get("vendor") or ""),
            )
        )
    return out


def mappings_by_node(mappings: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """node -> {pci address: mapping name} from /cluster/mapping/pci ('node=pve1,path=0000:01:00.0,...')."""
    out: dict[str, dict[str, str]] = {}
    for entry in mappings:
        name = str(entry.get("id") or "")
        for item in entry.get("map") or []:
            _head, props = property_string(str(item))
            if props.get("node") and props.get("path") and name:
                out.setdefault(props["node"], {})[_pci_address(props["path"])] = name
    return out


def node_gpus(devices: list[dict[str, Any]], mapped: dict[str, str], in_use: dict[str, str]) -> list[Gpu]:
    """A node's GPUs with their mapping names and the guest each is passed to (by address or mapping)."""
    gpus = gpus_from_pci(devices)
    for gpu in gpus:
        gpu.mapping = mapped.get(gpu.id)
        gpu.in_use_by = in_use.get(gpu.id) or (in_use.get(gpu.mapping) if gpu.mapping else None)
    return gpus


class GpuCache:
    """PCI listings and mappings, read at most once per refresh interval and kept in provider state."""

    def __init__(self, client: PveClient, state: ProviderState, refresh: timedelta) -> None:
        self.client = client
        self.state = state
        self.refresh = refresh

    def load(
        self, nodes: list[str], now: datetime
    ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, str]]]:
        """(node -> PCI devices, node -> {address: mapping}) cached; refreshed when stale."""
        cached = self.state.get(CACHE_KEY) or {}
        fresh = cached.get("at") and now - datetime.fromisoformat(cached["at"]) < self.refresh
        if fresh and all(n in cached.get("pci", {}) for n in nodes):
            return cached["pci"], cached.get("mappings", {})
        pci: dict[str, list[dict[str, Any]]] = {}
        for node in nodes:
            devices = self.client.get(f"nodes/{node}/hardware/pci") or []
            pci[node] = [
                {k: d.get(k) for k in ("id", "class", "device", "device_name", "vendor", "vendor_name")}
                for d in devices
                if str(d.get("class") or "").startswith(DISPLAY_CLASS)
            ]
        mappings = mappings_by_node(self.client.get("cluster/mapping/pci") or [])
        self.state.put(CACHE_KEY, {"at": now.isoformat(), "pci": pci, "mappings": mappings})
        return pci, mappings

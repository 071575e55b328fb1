"""Capacity, allocation and usage from a recorded /cluster/resources answer (fakepve: pve1-3 of 4 cores / 8 GiB,
a template, plex 4 cores / 8 GiB on pve2, scratch 1 core / 512 MiB on pve3 (offline), db 2 cores / 2 GiB on pve1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.providers.proxmox.facts import nodes_from_listing

LISTING = json.loads((Path(__file__).parent / "cases" / "cluster_resources.json").read_text())

EXPECTED = {
    # node: (status, cores, GiB, vCPUs allocated, GiB allocated, guests, cores busy now)
    "pve1": ("online", 4, 8, 2, 2, 1, 0.08),  # the template (vmid 9000) allocates nothing
    "pve2": ("online", 4, 8, 4, 8, 1, 0.08),
    "pve3": ("offline", 0, 0, 1, 0.5, 1, 0),  # an offline node reports no size; its guests still count
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_nodes_from_a_recorded_listing(name: str) -> None:
    node = {n.name: n for n in nodes_from_listing("pve", LISTING)}[name]
    got = (node.status, node.cpu, node.memory_gb, node.cpu_allocated, node.memory_allocated_gb, node.guests,
           node.cpu_used)
    assert got == EXPECTED[name]
    assert [(s.name, s.total_gb, s.free_gb) for s in node.storage] == [("local-lvm", 100, 100)]


def test_nodes_with_allocation_kept_equal_a_full_count_when_only_usage_moved() -> None:
    """A later listing of the same guests with other usage (node and guest counters, storage use): the nodes built
    with the earlier allocation are the nodes a full count builds; a node the earlier listing lacked: None."""
    from reconciler.providers.proxmox.facts import nodes_with_allocation

    later = [dict(item) for item in LISTING]
    for item in later:
        if item.get("type") in ("node", "qemu", "lxc"):
            item.update(cpu=0.37, mem=1234567890 if item.get("type") == "node" else 4096)
        if item.get("type") == "storage":
            item["disk"] = 5 * 1024**3
    earlier = nodes_from_listing("pve", LISTING)
    kept = nodes_with_allocation("pve", later, earlier)
    assert kept == nodes_from_listing("pve", later)
    assert kept != earlier  # usage did move
    assert nodes_with_allocation("pve", later, [n for n in earlier if n.name != "pve2"]) is None

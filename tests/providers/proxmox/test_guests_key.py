"""The change check of a reusing observe (observe.guests_key): usage counters never count as a change,
anything observe() builds a guest from does."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.providers.proxmox.observe import USAGE_KEYS, guests_key

LISTING: list[dict[str, Any]] = [
    {"id": "node/pve1", "type": "node", "node": "pve1", "status": "online", "cpu": 0.1, "mem": 1, "maxmem": 8},
    {"id": "qemu/100", "type": "qemu", "node": "pve1", "name": "vm-100", "vmid": 100, "status": "running",
     "template": 0, "cpu": 0.02, "mem": 67108864, "memhost": 70000000, "disk": 0, "diskread": 1, "diskwrite": 2,
     "netin": 3, "netout": 4, "maxdisk": 34359738368, "maxmem": 536870912, "maxcpu": 4, "uptime": 135,
     "tags": "dev"},
    {"id": "lxc/104", "type": "lxc", "node": "pve2", "name": "ct-104", "vmid": 104, "status": "stopped",
     "template": 0, "cpu": 0, "mem": 0, "disk": 0, "maxdisk": 8589934592, "maxmem": 1073741824, "maxcpu": 1,
     "uptime": 0},
]


def test_usage_counters_and_nodes_do_not_change_the_key() -> None:
    later = copy.deepcopy(LISTING)
    later[0]["cpu"] = 0.9
    for counter in USAGE_KEYS:
        later[1][counter] = 12345  # a running guest's counters move on every listing, memhost included
    assert guests_key(later) == guests_key(LISTING)
    assert [g["vmid"] for g in guests_key(LISTING)] == [100, 104]
    assert "memhost" not in guests_key(LISTING)[0] and LISTING[1]["memhost"] == 70000000  # the listing is kept


def test_a_field_observe_reads_changes_the_key() -> None:
    for field, value in (("status", "stopped"), ("tags", "prod"), ("maxmem", 1), ("maxcpu", 8), ("node", "pve3"),
                         ("name", "renamed"), ("template", 1), ("lock", "backup")):
        later = copy.deepcopy(LISTING)
        later[1][field] = value
        assert guests_key(later) != guests_key(LISTING), field
    assert guests_key(LISTING[:2]) != guests_key(LISTING)
    assert guests_key(list(reversed(LISTING))) != guests_key(LISTING)

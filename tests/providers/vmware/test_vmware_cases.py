"""Recorded property-collector output (cases/, from record_cases.py): parsing and placement, no server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.fields import vm_options, vm_ownership
from reconciler.providers.vmware.observe import parse_objects, with_devices
from reconciler.providers.vmware.placement import clone_source, pick_datastore, pick_host
from tests.providers.vmware.cases_io import CASES, expected_inventory, load_case
from tests.providers.vmware.resources import resource


def test_recorded_inventory_parses_to_the_reviewed_result() -> None:
    parsed = expected_inventory(*load_case("vcsim-inventory"))
    assert parsed == json.loads((CASES / "vcsim-inventory.expected.json").read_text())


def test_what_the_recorded_inventory_says() -> None:
    objects, devices, markers = load_case("vcsim-inventory")
    snapshot = parse_objects(with_devices(objects, devices))
    vms = {vm.name: vm for vm in snapshot.vms.values()}
    assert set(markers) == {vm.moid for vm in vms.values()} and all(markers.values())
    # Attributes emptied by hand: only the notes line is left, and it still marks the VM.
    assert (vm_ownership(vms["half"]).owned, vm_ownership(vms["half"]).source) == (True, "notes")
    assert vm_ownership(vms["web"]).source == "attribute"
    assert [(d.label, d.size_gb) for d in vms["web"].disks] == [("scsi0:0", 8.0), ("scsi0:1", 4.0)]
    assert vms["DC0_H0_VM1"].template and vms["DC0_C0_RP0_VM1"].power_state == "suspended"
    # A distributed port group backing is named by its port group, not its key.
    assert vms["DC0_H0_VM0"].nics[0].network == "DC0_DVPG0"
    assert {h.name: h.parent_moid is not None for h in snapshot.hosts.values()} == {
        "DC0_C0_H0": True,
        "DC0_C0_H1": True,
        "DC0_H0": True,
    }


def test_a_vm_without_devices_in_the_cache_has_none() -> None:
    objects, _, _ = load_case("vcsim-inventory")
    snapshot = parse_objects(with_devices(objects, {}))
    vm: Any = next(iter(snapshot.vms.values()))
    assert vm.disks == [] and vm.nics == []


def test_placement_on_the_recorded_inventory() -> None:
    objects, devices, _ = load_case("vcsim-inventory")
    snapshot = parse_objects(with_devices(objects, devices))
    res = resource("db", node=None)
    chosen = pick_host(snapshot, None, res)
    free = {h.name: h.memory_bytes // 2**20 - h.memory_usage_mb for h in snapshot.hosts.values()}
    assert free[chosen.name] == max(free.values())
    assert pick_host(snapshot, None, res) == chosen  # same facts, same answer
    assert pick_host(snapshot, "DC0_H0", res).name == "DC0_H0"
    with pytest.raises(PermanentProviderError, match="host 'nope' not found"):
        pick_host(snapshot, "nope", res)
    datastore = pick_datastore(snapshot, chosen, vm_options(res), "db")
    assert snapshot.datastores[datastore].name == "LocalDS_0"
    with pytest.raises(PermanentProviderError, match="is not mounted on host"):
        pick_datastore(snapshot, chosen, vm_options(resource("db", overrides={"datastore": "nas"})), "db")
    assert clone_source(snapshot, "DC0_H0_VM1", "db").template
    with pytest.raises(PermanentProviderError, match="clone source 'gold' not found"):
        clone_source(snapshot, "gold", "db")

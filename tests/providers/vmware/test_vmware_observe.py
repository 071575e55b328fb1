"""observe(): one retrieval per cycle, nodes from hosts, VMs in the fields vocabulary, unowned reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from reconciler.providers.vmware import VmwareProvider
from tests.backends.vcsim import run_vcsim
from tests.providers.vmware.conftest import make_provider
from tests.providers.vmware.resources import one_vm, reconfigure


def test_a_no_op_cycle_is_one_round_trip_whatever_the_vm_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {}
    for vms_per_pool in (1, 25):
        with run_vcsim(tmp_path / f"vcsim-{vms_per_pool}", vms_per_pool=vms_per_pool) as server:
            provider = make_provider(server, tmp_path / f"p{vms_per_pool}", monkeypatch)
            try:
                first = provider.observe()
                second = provider.observe()
            finally:
                provider.close()
            counts[vms_per_pool] = (len(second.resources), first.api_calls, second.api_calls)
    # The model puts vms_per_pool VMs in each of 2 pools (cluster and standalone host).
    assert counts[1][0] == 2 and counts[25][0] == 50
    # The first cycle also creates the container view and reads every VM's devices (one call for
    # all); later cycles are one RetrievePropertiesEx.
    assert counts[1][1:] == (3, 1)
    assert counts[25][1:] == (3, 1)


def test_a_changed_vm_costs_one_more_call_and_its_devices_are_fresh(provider: VmwareProvider, vsphere: Any) -> None:
    provider.observe()
    assert provider.observe().api_calls == 1
    vm = one_vm(vsphere, "DC0_H0_VM0")
    nic = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualEthernetCard))
    nic.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network")
    reconfigure(vm, deviceChange=[vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic)])
    changed = provider.observe()
    assert changed.api_calls == 2
    observed = next(r for r in changed.resources if r.name == "DC0_H0_VM0")
    assert observed.fields["nics"][0]["network"] == "VM Network"
    assert provider.observe().api_calls == 1


def test_every_nth_cycle_rereads_all_devices(vcsim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = make_provider(
        vcsim, tmp_path, monkeypatch, options={"full_refresh_every": 3}
    )
    try:
        calls = [provider.observe().api_calls for _ in range(7)]
    finally:
        provider.close()
    assert calls == [3, 1, 1, 2, 1, 1, 2]


def test_a_small_page_size_still_reads_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # vcsim ignores RetrieveOptions.maxObjects (vCenter honours it and returns a token): the
    # result must be complete either way, and never one call per VM.
    with run_vcsim(tmp_path / "vcsim", vms_per_pool=10) as server:
        provider = make_provider(server, tmp_path, monkeypatch, options={"page_size": 8})
        try:
            provider.observe()
            second = provider.observe()
        finally:
            provider.close()
    assert len(second.resources) == 20 and len(second.nodes) == 4
    assert second.api_calls <= (len(second.resources) + len(second.nodes)) // 8 + 1


def test_hosts_become_nodes_with_size_use_and_reach(provider: VmwareProvider) -> None:
    nodes = {n.name: n for n in provider.observe().nodes}
    host = nodes["DC0_C0_H0"]
    assert host.cpu > 0 and host.memory_gb > 0 and host.storage_gb > 0
    assert host.status == "online"
    assert host.labels["cluster"] == "DC0_C0"
    assert "LocalDS_0" in host.labels["datastores"].split(",")
    assert "DC0_DVPG0" in host.labels["networks"].split(",")
    assert "cluster" not in nodes["DC0_H0"].labels


def test_vms_without_the_mark_are_reported_unowned(provider: VmwareProvider) -> None:
    inventory = provider.observe()
    assert inventory.owned("home") == {}
    names = sorted(r.name for r in inventory.unmanaged("home"))
    assert names == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_H0_VM0", "DC0_H0_VM1"]
    vm = next(r for r in inventory.resources if r.name == "DC0_H0_VM0")
    assert vm.kind == "vm" and vm.id and vm.id.startswith("vm-") and vm.node == "DC0_H0"
    assert vm.fields["power_state"] == "on"
    assert vm.fields["nics"][0]["label"] == "nic0" and vm.fields["nics"][0]["network"] == "DC0_DVPG0"
    assert vm.fields["disks"][0]["label"] == "scsi0:0"


def test_annotation_comes_from_config_not_the_stale_summary(provider: VmwareProvider, vsphere: Any) -> None:
    vm = one_vm(vsphere, "DC0_H0_VM1")
    reconfigure(vm, annotation="set out of band")
    # vcsim leaves summary.config.annotation stale; the provider must read config.annotation.
    assert vm.summary.config.annotation != "set out of band"
    observed = next(r for r in provider.observe().resources if r.name == "DC0_H0_VM1")
    assert observed.fields["annotation"] == "set out of band"


def test_a_notes_line_for_another_lab_is_not_ours(provider: VmwareProvider, vsphere: Any) -> None:
    reconfigure(one_vm(vsphere, "DC0_H0_VM1"), annotation="homeport.managed-by=homeport lab=work resource=db")
    inventory = provider.observe()
    assert inventory.owned("home") == {}
    assert set(inventory.owned("work")) == {"db"}

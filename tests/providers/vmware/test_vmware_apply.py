"""apply() on vcsim: create, idempotence, strangers, hot-add or power cycle, disks, NICs, delete, rename."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyVim.task import WaitForTask
from pyVmomi import vim

from reconciler.models.plan import FieldChange, Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware import VmwareProvider
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import make_provider
from tests.providers.vmware.resources import change, one_vm, reconfigure, resource, vms_named


def custom_values(si: Any, vm: Any) -> dict[str, str]:
    """The VM's custom attributes by name, read independently."""
    names = {f.key: f.name for f in si.content.customFieldsManager.field}
    return {names[v.key]: v.value for v in vm.customValue}


def create(provider: VmwareProvider, name: str = "web", **kwargs: Any) -> Any:
    """Create resource `name` through the provider; (resource, apply result)."""
    res = resource(name, **kwargs)
    return res, provider.apply(change(provider, res), res, None)


def test_create_makes_the_vm_as_desired_and_marks_it(provider: VmwareProvider, vsphere: Any) -> None:
    res, result = create(provider, disks=[{"name": "data", "size": 4}], cpu=2, memory_gb=3)
    assert result.outputs["actions"] == ["create", "mark owned", "power_on"]
    vm = one_vm(vsphere, "web")
    assert result.provider_id == vm._moId and result.node == "DC0_C0_H0"
    assert vm.config.hardware.numCPU == 2 and vm.config.hardware.memoryMB == 3072
    assert vm.runtime.powerState == "poweredOn" and vm.runtime.host.name == "DC0_C0_H0"
    assert custom_values(vsphere, vm) == {
        "homeport.managed-by": "homeport",
        "homeport.lab": "home",
        "homeport.resource": "web",
    }
    assert vm.config.annotation == "homeport.managed-by=homeport lab=home resource=web"
    disks = sorted(d.capacityInKB for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk))
    assert disks == [4 * 1024 * 1024, 8 * 1024 * 1024]
    observed = provider.observe().owned("home")["web"]
    assert diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules) == []


def test_create_again_converges_instead_of_duplicating(provider: VmwareProvider, vsphere: Any) -> None:
    res, _ = create(provider)
    again = provider.apply(change(provider, res), res, None)
    assert again.outputs["actions"] == ["exists: converge"]
    assert len(vms_named(vsphere, "web")) == 1


def test_a_half_done_create_is_finished(provider: VmwareProvider, vsphere: Any) -> None:
    # A crash after CreateVM_Task, before the attributes: only the notes line marks the VM.
    res, _ = create(provider)
    vm = one_vm(vsphere, "web")
    manager = vsphere.content.customFieldsManager
    for field in manager.field:
        manager.SetField(entity=vm, key=field.key, value="")
    # The notes line still says whose it is, so it counts as ours and the create finishes it.
    assert set(provider.observe().owned("home")) == {"web"}
    again = provider.apply(change(provider, res), res, None)
    assert "mark owned" in again.outputs["actions"]
    assert custom_values(vsphere, vm)["homeport.lab"] == "home"
    assert set(provider.observe().owned("home")) == {"web"}


def test_a_notes_line_does_not_override_attributes_naming_another_owner(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider)
    vm = one_vm(vsphere, "web")
    manager = vsphere.content.customFieldsManager
    lab_key = next(f.key for f in manager.field if f.name == "homeport.lab")
    manager.SetField(entity=vm, key=lab_key, value="someone-else")
    assert provider.observe().owned("home") == {}


def test_an_unmanaged_vm_of_the_same_name_is_never_touched(provider: VmwareProvider, vsphere: Any) -> None:
    # vcsim, like vCenter in different folders, accepts duplicate names: the provider must ask first.
    stranger = one_vm(vsphere, "DC0_H0_VM0")
    before = (stranger.config.hardware.numCPU, stranger.config.annotation, stranger.runtime.powerState)
    res = resource("DC0_H0_VM0", cpu=4)
    with pytest.raises(PermanentProviderError, match="homeport does not manage it"):
        provider.apply(change(provider, res), res, None)
    assert len(vms_named(vsphere, "DC0_H0_VM0")) == 1
    assert (
        stranger.config.hardware.numCPU,
        stranger.config.annotation,
        stranger.runtime.powerState,
    ) == before
    with pytest.raises(PermanentProviderError, match="no VM managed by lab home"):
        provider.apply(change(provider, res, Op.update), res, None)
    assert provider.apply(change(provider, res, Op.delete), res, None).message.endswith("nothing to delete")
    assert len(vms_named(vsphere, "DC0_H0_VM0")) == 1


def test_cpu_change_without_hot_add_power_cycles(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider)
    bigger = resource("web", cpu=4)
    result = provider.apply(change(provider, bigger, Op.update), bigger, None)
    assert result.outputs["actions"] == ["power_off", "reconfigure: num_cpus", "power_on"]
    vm = one_vm(vsphere, "web")
    assert vm.config.hardware.numCPU == 4 and vm.runtime.powerState == "poweredOn"


def test_cpu_change_with_hot_add_stays_running(provider: VmwareProvider, vsphere: Any) -> None:
    hot = {"cpu_hot_add": True, "memory_hot_add": True}
    create(provider, overrides=hot)
    assert one_vm(vsphere, "web").config.cpuHotAddEnabled is True
    bigger = resource("web", cpu=4, memory_gb=4, overrides=hot)
    result = provider.apply(change(provider, bigger, Op.update), bigger, None)
    assert result.outputs["actions"] == ["reconfigure: num_cpus, memory_mb"]
    # A decrease is never hot: it needs the power cycle again.
    smaller = resource("web", cpu=2, memory_gb=4, overrides=hot)
    result = provider.apply(change(provider, smaller, Op.update), smaller, None)
    assert result.outputs["actions"] == ["power_off", "reconfigure: num_cpus", "power_on"]


def test_power_cycle_refused_by_policy_changes_nothing(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vsphere: Any
) -> None:
    provider = make_provider(
        vcsim,
        tmp_path,
        monkeypatch,
        options={"allow_power_cycle": False, "task_timeout": 60},
    )
    try:
        create(provider)
        bigger = resource("web", cpu=4)
        with pytest.raises(PermanentProviderError, match="allow_power_cycle: false"):
            provider.apply(change(provider, bigger, Op.update), bigger, None)
        vm = one_vm(vsphere, "web")
        assert vm.config.hardware.numCPU == 2 and vm.runtime.powerState == "poweredOn"
        # A resource may allow it where the provider does not.
        allowed = resource("web", cpu=4, overrides={"allow_power_cycle": True})
        provider.apply(change(provider, allowed, Op.update), allowed, None)
        assert vm.config.hardware.numCPU == 4
    finally:
        provider.close()


def test_disks_grow_and_are_added_but_never_shrink(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider, disks=[{"name": "data", "size": 4}])
    grown = resource("web", storage_gb=10, disks=[{"name": "data", "size": 4}, {"name": "logs", "size": 2}])
    result = provider.apply(change(provider, grown, Op.update), grown, None)
    assert result.outputs["actions"] == ["reconfigure: devices"]
    observed = provider.observe().owned("home")["web"]
    assert observed.fields["disks"] == [
        {"label": "scsi0:0", "size_gb": 10.0},
        {"label": "scsi0:1", "size_gb": 4.0},
        {"label": "scsi0:2", "size_gb": 2.0},
    ]
    shrunk = resource("web", storage_gb=6, disks=[{"name": "data", "size": 4}, {"name": "logs", "size": 2}])
    with pytest.raises(PermanentProviderError, match="cannot shrink"):
        provider.apply(change(provider, shrunk, Op.update), shrunk, None)
    assert provider.observe().owned("home")["web"].fields["disks"][0]["size_gb"] == 10.0


def test_a_dropped_disk_is_detached_and_its_file_kept(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider, disks=[{"name": "data", "size": 4}])
    vm = one_vm(vsphere, "web")
    data = next(d for d in vm.config.hardware.device if isinstance(d, vim.vm.device.VirtualDisk) and d.unitNumber == 1)
    fewer = resource("web")
    dropped = change(provider, fewer, Op.update)
    dropped.fields = [FieldChange(path="disks[scsi0:1]", old={"label": "scsi0:1", "size_gb": 4.0}, new=None)]
    provider.apply(dropped, fewer, None)
    assert [d["label"] for d in provider.observe().owned("home")["web"].fields["disks"]] == ["scsi0:0"]
    browser = vm.datastore[0].browser
    folder = data.backing.fileName.rsplit("/", 1)[0]
    spec = vim.host.DatastoreBrowser.SearchSpec(matchPattern=["*.vmdk"])
    task = browser.SearchDatastore_Task(datastorePath=folder, searchSpec=spec)
    WaitForTask(task)
    assert data.backing.fileName.rsplit("/", 1)[1] in [f.path for f in task.info.result.file]


def test_nic_moves_to_a_distributed_port_group(provider: VmwareProvider) -> None:
    create(provider)
    moved = resource("web", overrides={"network": "DC0_DVPG0"})
    provider.apply(change(provider, moved, Op.update), moved, None)
    nics = provider.observe().owned("home")["web"].fields["nics"]
    assert [(n["label"], n["network"]) for n in nics] == [("nic0", "DC0_DVPG0")]


def test_unknown_network_names_the_known_ones(provider: VmwareProvider, vsphere: Any) -> None:
    res = resource("web", overrides={"network": "no-such-net"})
    with pytest.raises(PermanentProviderError, match=r"network .no-such-net. not found; known: .*VM Network"):
        provider.apply(change(provider, res), res, None)
    assert vms_named(vsphere, "web") == []


def test_power_off_and_notes_follow_the_desired_state(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider)
    off = resource("web", overrides={"power_state": "off", "annotation": "build box"})
    result = provider.apply(change(provider, off, Op.update), off, None)
    assert result.outputs["actions"] == ["reconfigure: annotation", "power_off"]
    vm = one_vm(vsphere, "web")
    assert vm.runtime.powerState == "poweredOff"
    assert vm.config.annotation == "build box\nhomeport.managed-by=homeport lab=home resource=web"


def test_out_of_band_change_is_seen_and_healed(provider: VmwareProvider, vsphere: Any) -> None:
    res, _ = create(provider)
    reconfigure(one_vm(vsphere, "web"), numCPUs=6)
    observed = provider.observe().owned("home")["web"]
    drift = diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules)
    assert [(d.path, d.old, d.new) for d in drift] == [("num_cpus", 6, 2)]
    provider.apply(change(provider, res, Op.update), res, None)
    assert one_vm(vsphere, "web").config.hardware.numCPU == 2


def test_delete_destroys_only_the_managed_vm(provider: VmwareProvider, vsphere: Any) -> None:
    res, _ = create(provider)
    result = provider.apply(change(provider, res, Op.delete), None, None)
    assert result.outputs["actions"] == ["power_off", "destroy"]
    assert vms_named(vsphere, "web") == []
    assert len(provider.observe().resources) == 4
    again = provider.apply(change(provider, res, Op.delete), None, None)
    assert again.message == "web: no managed VM left; nothing to delete"


def test_rename_moves_name_marks_and_notes(provider: VmwareProvider, vsphere: Any) -> None:
    create(provider)
    renamed = resource("api")
    result = provider.apply(change(provider, renamed, Op.rename, previous_name="web"), renamed, None)
    assert result.outputs["actions"][:2] == ["rename: web -> api", "mark owned"]
    vm = one_vm(vsphere, "api")
    assert custom_values(vsphere, vm)["homeport.resource"] == "api"
    assert vm.config.annotation.endswith("resource=api")
    assert set(provider.observe().owned("home")) == {"api"}


def test_clone_template_a_template(provider: VmwareProvider, vsphere: Any) -> None:
    source = one_vm(vsphere, "DC0_H0_VM1")
    WaitForTask(source.PowerOffVM_Task())
    source.MarkAsTemplate()
    _, result = create(provider, node="DC0_H0", storage_gb=None, overrides={"clone_template": "DC0_H0_VM1"})
    assert result.outputs["actions"][:2] == ["clone: DC0_H0_VM1", "mark owned"]
    vm = one_vm(vsphere, "web")
    assert vm.config.template is False and vm.config.hardware.numCPU == 2
    assert vm.runtime.powerState == "poweredOn"
    templates = [r for r in provider.observe().resources if r.kind == "template"]
    assert [(t.name, t.owned) for t in templates] == [("DC0_H0_VM1", False)]


def test_unknown_override_is_refused_before_any_call(provider: VmwareProvider, vsphere: Any) -> None:
    res = resource("web", overrides={"cpus": 4})
    with pytest.raises(PermanentProviderError, match=r"overrides\.vmware has unknown keys cpus"):
        provider.desired_fields(res)
    assert vms_named(vsphere, "web") == []


def test_placement_options_are_checked_against_the_inventory(provider: VmwareProvider, vsphere: Any) -> None:
    wrong_dc = resource("web", overrides={"datacenter": "Homelab"})
    with pytest.raises(PermanentProviderError, match="is in datacenter 'DC0', not 'Homelab'"):
        provider.apply(change(provider, wrong_dc), wrong_dc, None)
    no_pool = resource("web", overrides={"resource_pool": "gold"})
    with pytest.raises(PermanentProviderError, match="resource pool 'DC0/host/DC0_C0/Resources/gold' not found"):
        provider.apply(change(provider, no_pool), no_pool, None)
    no_ds = resource("web", overrides={"datastore": "datastore1"})
    with pytest.raises(PermanentProviderError, match="datastore 'datastore1' is not mounted on host DC0_C0_H0"):
        provider.apply(change(provider, no_ds), no_ds, None)
    no_host = resource("web", node="esxi-01")
    with pytest.raises(PermanentProviderError, match="host 'esxi-01' not found; known: DC0_C0_H0"):
        provider.apply(change(provider, no_host), no_host, None)
    assert vms_named(vsphere, "web") == []


def test_folder_and_datastore_options_are_used(provider: VmwareProvider, vsphere: Any) -> None:
    datacenter = vsphere.content.rootFolder.childEntity[0]
    datacenter.vmFolder.CreateFolder("homeport")
    create(provider, overrides={"folder": "homeport", "datastore": "LocalDS_0"})
    vm = one_vm(vsphere, "web")
    assert vm.parent.name == "homeport"
    assert vm.datastore[0].name == "LocalDS_0"


def test_preflight_names_clashes_and_unusable_hosts(provider: VmwareProvider, vsphere: Any) -> None:
    ok = resource("web")
    clash = resource("DC0_H0_VM1", node="DC0_H0")
    lost = resource("db", node="esxi-09")
    changes = [change(provider, r) for r in (ok, clash, lost)]
    assert provider.preflight(changes) == [
        "DC0_H0_VM1: an unmanaged VM of that name exists "
        f"({one_vm(vsphere, 'DC0_H0_VM1')._moId}); rename it or adopt it",
        "db: host 'esxi-09' is not in vSphere; fix the pool's nodes",
    ]
    assert provider.preflight([change(provider, ok, Op.update)]) == []


def test_a_rename_in_vsphere_is_drift_and_healed(provider: VmwareProvider, vsphere: Any) -> None:
    res, _ = create(provider)
    WaitForTask(one_vm(vsphere, "web").Rename_Task(newName="web-old"))
    observed = provider.observe().owned("home")["web"]  # still ours: the attributes say so
    drift = diff_fields(provider.desired_fields(res), observed.fields, None, provider.diff_rules)
    assert [(d.path, d.old, d.new, d.risk.value) for d in drift] == [("vm_name", "web-old", "web", "low")]
    result = provider.apply(change(provider, res, Op.update), res, None)
    assert result.outputs["actions"] == ["rename: web-old -> web"]
    assert len(vms_named(vsphere, "web")) == 1 and vms_named(vsphere, "web-old") == []


def test_a_suspended_vm_is_cycled_for_cpu_and_powered_off_when_off_is_wanted(
    provider: VmwareProvider, vsphere: Any
) -> None:
    create(provider)
    WaitForTask(one_vm(vsphere, "web").SuspendVM_Task())
    assert provider.observe().owned("home")["web"].status == "suspended"
    bigger = resource("web", cpu=3)
    result = provider.apply(change(provider, bigger, Op.update), bigger, None)
    assert result.outputs["actions"] == ["power_off", "reconfigure: num_cpus", "power_on"]
    WaitForTask(one_vm(vsphere, "web").SuspendVM_Task())
    off = resource("web", cpu=3, overrides={"power_state": "off"})
    result = provider.apply(change(provider, off, Op.update), off, None)
    assert result.outputs["actions"] == ["power_off"]
    assert one_vm(vsphere, "web").runtime.powerState == "poweredOff"


def test_powering_off_for_a_change_is_no_cycle_when_off_is_wanted(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vsphere: Any
) -> None:
    options = {"allow_power_cycle": False}
    provider = make_provider(vcsim, tmp_path, monkeypatch, options=options)
    try:
        create(provider)
        off = resource("web", cpu=4, overrides={"power_state": "off"})
        result = provider.apply(change(provider, off, Op.update), off, None)
        assert result.outputs["actions"] == ["power_off", "reconfigure: num_cpus"]
        vm = one_vm(vsphere, "web")
        assert (vm.config.hardware.numCPU, vm.runtime.powerState) == (4, "poweredOff")
    finally:
        provider.close()

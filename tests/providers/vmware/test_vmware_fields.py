"""Pure field vocabulary: desired fields, disk units, ownership marks, options (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.plan.diff import diff_fields
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.facts import VmFacts
from reconciler.providers.vmware.fields import (
    DIFF_RULES,
    desired_fields,
    disk_units,
    notes_with_owner,
    power_cycle_fields,
    rules_for,
    vm_options,
    vm_ownership,
)
from tests.providers.vmware.resources import resource

OWNER = "homeport.managed-by=homeport lab=home resource=web"


def test_defaults_and_units() -> None:
    fields = desired_fields(resource("web", cpu=None, memory_gb=None, storage_gb=None))
    assert fields == {
        "num_cpus": 1,
        "memory_mb": 1024,
        "disks": [{"label": "scsi0:0", "size_gb": 16.0}],
        "nics": [{"label": "nic0", "network": "VM Network"}],
        "power_state": "on",
        "annotation": OWNER,
        "vm_name": "web",
    }


def test_sizes_with_units_become_gib_and_mib() -> None:
    fields = desired_fields(resource("web", memory_gb=1.5, storage_gb="1T", disks=[{"name": "d", "size": "512M"}]))
    assert fields["memory_mb"] == 1536
    assert fields["disks"] == [{"label": "scsi0:0", "size_gb": 1024.0}, {"label": "scsi0:1", "size_gb": 0.5}]


def test_extra_disks_skip_the_controller_unit() -> None:
    disks = [{"name": f"d{i}", "size": 1} for i in range(8)]
    labels = [d["label"] for d in desired_fields(resource("web", disks=disks))["disks"]]
    assert labels == ["scsi0:0", "scsi0:1", "scsi0:2", "scsi0:3", "scsi0:4", "scsi0:5", "scsi0:6", "scsi0:8", "scsi0:9"]
    assert disk_units(3) == [0, 1, 2]
    with pytest.raises(PermanentProviderError, match="at most 15"):
        disk_units(16)


def test_a_clone_keeps_the_templates_boot_disk_unless_sized() -> None:
    cloned = desired_fields(resource("web", storage_gb=None, overrides={"clone_template": "debian-12"}))
    assert cloned["disks"] == []
    sized = desired_fields(resource("web", storage_gb=40, overrides={"clone_template": "debian-12"}))
    assert sized["disks"] == [{"label": "scsi0:0", "size_gb": 40.0}]
    # The template is named for the plan and never compared: vSphere keeps no record of it.
    assert cloned["clone_template"] == "debian-12" and "clone_template" not in desired_fields(resource("web"))
    live = {k: v for k, v in cloned.items() if k != "clone_template"}
    assert diff_fields(cloned, live, cloned, DIFF_RULES) == []


LIVE = {"num_cpus": 2, "memory_mb": 2048, "power_state": "on", "cpu_hot_add": False, "memory_hot_add": False}


@pytest.mark.parametrize(
    ("desired", "live", "restarts"),
    [
        ({"num_cpus": 4, "memory_mb": 4096}, {}, ["num_cpus", "memory_mb"]),  # hot-add off
        ({"num_cpus": 4, "memory_mb": 4096}, {"cpu_hot_add": True, "memory_hot_add": True}, []),  # hot-added
        ({"num_cpus": 1, "memory_mb": 1024}, {"cpu_hot_add": True, "memory_hot_add": True},
         ["num_cpus", "memory_mb"]),  # never taken away live
        ({"num_cpus": 4}, {"cpu_hot_add": True, "power_state": "suspended"}, ["num_cpus"]),  # only on hot-adds
        ({"num_cpus": 4}, {"power_state": "off"}, []),  # reconfigured as it is
        ({"num_cpus": 4, "power_state": "off"}, {}, []),  # powered off as wanted: no cycle
        ({"num_cpus": 2, "memory_mb": 2048}, {}, []),  # nothing changes
    ],
)
def test_power_cycles_follow_hot_add_direction_and_power_state(
    desired: dict[str, Any], live: dict[str, Any], restarts: list[str]
) -> None:
    observed = {**LIVE, **live}
    assert power_cycle_fields({"power_state": "on", **desired}, observed) == restarts
    rules = rules_for({"power_state": "on", **desired}, observed)
    assert rules.restart_fields == restarts
    assert rules.model_dump(exclude={"restart_fields"}) == DIFF_RULES.model_dump(exclude={"restart_fields"})
    assert rules_for(desired, None).restart_fields == []  # not created yet


@pytest.mark.parametrize(
    ("kwargs", "network"),
    [
        ({}, "VM Network"),
        ({"properties": {"network": "LAN"}}, "LAN"),
        ({"properties": {"network": "LAN"}, "overrides": {"network": "DMZ"}}, "DMZ"),
        ({"network": "storage-net"}, "storage-net"),
    ],
)
def test_network_comes_from_overrides_then_properties_then_requirements(kwargs: dict[str, Any], network: str) -> None:
    assert desired_fields(resource("web", **kwargs))["nics"] == [{"label": "nic0", "network": network}]


def test_pool_properties_of_other_providers_are_ignored() -> None:
    fields = desired_fields(resource("web", properties={"storage_pool": "local-lvm", "network_bridge": "vmbr0"}))
    assert fields["nics"][0]["network"] == "VM Network"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cpus": 4}, "unknown keys cpus"),
        ({"power_state": "paused"}, "must be 'on' or 'off'"),
        ({"cpu_hot_add": "yes"}, "cpu_hot_add must be true or false"),
        ({"network": 12}, "network must be text"),
    ],
)
def test_bad_options_are_clear_errors(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PermanentProviderError, match=message):
        vm_options(resource("web", overrides=overrides))


def test_notes_keep_the_users_text_and_one_ownership_line() -> None:
    assert notes_with_owner("", "home", "web") == OWNER
    assert notes_with_owner("db box", "home", "web") == f"db box\n{OWNER}"
    renamed = notes_with_owner(f"db box\n{OWNER}", "home", "api")
    assert renamed == "db box\nhomeport.managed-by=homeport lab=home resource=api"


@pytest.mark.parametrize(
    ("custom", "annotation", "expected"),
    [
        (
            {"homeport.managed-by": "homeport", "homeport.lab": "home", "homeport.resource": "web"},
            "",
            (True, "home", "web", "attribute"),
        ),
        ({}, f"some notes\n{OWNER}", (True, "home", "web", "notes")),
        ({"homeport.managed-by": "homeport", "homeport.lab": "other"}, OWNER, (True, "other", "vm", "attribute")),
        ({"homeport.lab": "home"}, OWNER, (False, None, None, "")),
        ({}, "homeport.managed-by=someone lab=home resource=web", (False, None, None, "")),
        ({}, "", (False, None, None, "")),
    ],
)
def test_ownership(custom: dict[str, str], annotation: str, expected: tuple[Any, ...]) -> None:
    own = vm_ownership(VmFacts(moid="vm-1", name="vm", custom=custom, annotation=annotation))
    assert (own.owned, own.lab, own.resource, own.source) == expected


def test_the_vsphere_vm_charts_values_are_accepted() -> None:
    overrides = {"root_disk_gb": 24, "domain": "home.lan", "guest_id": "debian12_64Guest", "thin_provisioned": False}
    fields = desired_fields(resource("web", storage_gb=None, overrides=overrides))
    assert fields["disks"] == [{"label": "scsi0:0", "size_gb": 24.0}]
    assert vm_options(resource("web")).guest_id == "otherLinux64Guest"
    with pytest.raises(PermanentProviderError, match="root_disk_gb must be a positive number"):
        vm_options(resource("web", overrides={"root_disk_gb": "big"}))


OBSERVED = {
    "num_cpus": 2,
    "memory_mb": 2048,
    "disks": [{"label": "scsi0:0", "size_gb": 8.0}, {"label": "scsi0:1", "size_gb": 4.0}],
    "nics": [{"label": "nic0", "network": "VM Network", "adapter": "vmxnet3", "mac": "00:50:56:00:00:01"}],
    "power_state": "on",
    "annotation": OWNER,
    "vm_name": "web",
    "cpu_hot_add": False,
    "memory_hot_add": False,
}


@pytest.mark.parametrize(
    ("desired_change", "expected"),
    [
        ({}, []),
        ({"num_cpus": 4}, [("num_cpus", "medium")]),
        ({"disks": [{"label": "scsi0:0", "size_gb": 6.0}]}, [("disks[scsi0:0].size_gb", "high")]),
        ({"disks": [{"label": "scsi0:0", "size_gb": 12.0}]}, [("disks[scsi0:0].size_gb", "medium")]),
        (
            {"disks": [{"label": "scsi0:0", "size_gb": 8.0}, {"label": "scsi0:2", "size_gb": 1.0}]},
            [("disks[scsi0:2]", "medium")],
        ),
        ({"nics": [{"label": "nic0", "network": "DMZ"}]}, [("nics[nic0].network", "medium")]),
        ({"annotation": "x"}, [("annotation", "low")]),
        ({"vm_name": "api"}, [("vm_name", "low")]),
        ({"power_state": "off"}, [("power_state", "medium")]),
    ],
)
def test_diff_rules_compare_by_key_and_grade_risk(desired_change: dict[str, Any], expected: list[Any]) -> None:
    desired = {k: v for k, v in OBSERVED.items() if k not in ("cpu_hot_add", "memory_hot_add")}
    desired["nics"] = [{"label": "nic0", "network": "VM Network"}]  # adapter and mac are provider-filled
    desired["disks"] = [{"label": "scsi0:0", "size_gb": 8.0}]  # keys the desired side omits are not compared
    desired.update(desired_change)
    changes = diff_fields(desired, OBSERVED, None, DIFF_RULES)
    assert [(c.path, c.risk.value) for c in changes] == expected

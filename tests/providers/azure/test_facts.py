"""Pure parsers of ARM answers, table-tested on answers recorded from the ARM test server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.providers.azure.facts import (
    ingress_rules,
    owner_of,
    parse_id,
    parse_nic,
    parse_vm,
    parse_what_if,
    power_state,
)
from reconciler.providers.azure.observe import observed_vm

RECORDED = Path(__file__).with_name("recorded")


def recorded(name: str) -> dict:  # type: ignore[type-arg]
    """One recorded answer."""
    data: dict = json.loads((RECORDED / name).read_text())  # type: ignore[type-arg]
    return data


def test_vm_answer_with_instance_view() -> None:
    vm = parse_vm(recorded("vm_get_instance_view.json"))
    assert (vm.name, vm.resource_group, vm.location, vm.vm_size) == ("web", "homelab", "eastus", "Standard_B2s")
    assert vm.image == "Debian:debian-12:12-gen2:latest"
    assert (vm.os_disk_name, vm.os_disk_gb) == ("web-osdisk", 40)
    assert [(d.name, d.lun, d.size_gb) for d in vm.data_disks] == [("web-data", 0, 16)]
    assert vm.power_state == "running" and vm.provisioning_state == "Succeeded"
    assert vm.nic_ids == [
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/homelab/providers/"
        "Microsoft.Network/networkInterfaces/web-nic"]


def test_nic_and_nsg_answers() -> None:
    nic = parse_nic(recorded("nic_get.json"))
    assert nic.subnet_id and nic.subnet_id.endswith("/subnets/default")
    assert nic.nsg_id and nic.nsg_id.endswith("/networkSecurityGroups/web-nsg") and nic.public_ip_id is None
    assert ingress_rules(recorded("nsg_get.json")) == ["tcp:443", "tcp:80"]


def test_observed_fields_use_the_desired_vocabulary() -> None:
    vm = parse_vm(recorded("vm_get_instance_view.json"))
    observed = observed_vm(vm, "cloud", "home", parse_nic(recorded("nic_get.json")), recorded("nsg_get.json"))
    assert observed.owned and observed.name == "web" and observed.status == "running"
    assert observed.fields["disks"] == [{"name": "data", "size_gb": 16, "lun": 0}]
    assert observed.fields["tags"] == {"app": "web"}
    assert observed.fields["ingress"] == ["tcp:443", "tcp:80"]
    stranger = observed_vm(vm.model_copy(update={"tags": {}}), "cloud", "home", None, None)
    assert not stranger.owned and stranger.fields["owner"] == "not managed by homeport (no homeport tags)"
    other = observed_vm(vm.model_copy(update={"tags": {**vm.tags, "homeport.lab": "work"}}), "cloud", "home",
                        None, None)
    assert not other.owned and other.lab == "work" and other.fields["owner"] == "homeport lab work"


@pytest.mark.parametrize(("statuses", "expected"), [
    ([{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/running"}], "running"),
    ([{"code": "PowerState/deallocating"}], "deallocated"),
    ([{"code": "PowerState/starting"}], "running"),
    ([{"code": "PowerState/stopped"}], "stopped"),
    ([{"code": "ProvisioningState/creating"}], None),
    ([], None),
])
def test_power_state(statuses: list[dict[str, str]], expected: str | None) -> None:
    assert power_state(statuses) == expected


def test_what_if_answer() -> None:
    # Recorded after the api executor made `web` (its disks carry no user tags): the chart asks for 8 GiB.
    lines = parse_what_if(recorded("what_if_modify.json"))
    texts = [line.text() for line in lines]
    assert "Modify Microsoft.Compute/virtualMachines web [properties.hardwareProfile.vmSize (Modify)]" in texts
    assert "Modify Microsoft.Compute/disks web-data [tags.app (Create)]" in texts
    changed = [line.change_type for line in lines]
    assert changed == sorted(changed, key=lambda c: c == "NoChange"), "changes first, unchanged last"


def test_ids_and_owners() -> None:
    ident = parse_id("/subscriptions/s1/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/web")
    assert (ident.subscription, ident.resource_group, ident.type, ident.name) == (
        "s1", "RG", "Microsoft.Compute/virtualMachines", "web")
    with pytest.raises(ValueError, match="not an Azure resource id"):
        parse_id("/nope")
    assert owner_of({"homeport.managed-by": "homeport", "homeport.lab": "home", "homeport.resource": "x"}) == "home"
    assert owner_of({"homeport.managed-by": "homeport"}) is None

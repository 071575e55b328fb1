"""observe(): one VM listing per subscription (plus power states, NICs and NSGs), whatever the VM count;
unowned VMs reported with their id and owner, never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.plan import Change, Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.errors import PermanentProviderError
from tests.backends.arm import ArmServer
from tests.providers.azure.conftest import make_provider, make_resource


def _create(server: ArmServer, tmp_path: Path, names: list[str]) -> None:
    provider = make_provider(server, tmp_path)
    for name in names:
        resource = make_resource(server, name)
        provider.apply(Change(op=Op.create, resource=name, provider="cloud", provider_type="azure", reason="t",
                              desired=provider.desired_fields(resource)), resource, None)


def test_observe_costs_the_same_calls_for_one_vm_or_many(tmp_path: Path) -> None:
    server = ArmServer(page_size=3)
    try:
        _create(server, tmp_path, ["vm-0"])
        one = make_provider(server, tmp_path).observe()
        _create(server, tmp_path, [f"vm-{i}" for i in range(1, 5)])
        five = make_provider(server, tmp_path).observe()
    finally:
        server.stop()
    assert sorted(five.owned("home")) == [f"vm-{i}" for i in range(5)]
    assert one.api_calls == 4, "VM list, power states, NICs, NSGs"
    assert five.api_calls == 8, "each of the four listings takes a second page (5 items, page size 3)"
    assert all(r.status == "running" for r in five.resources)


def test_unowned_vms_are_reported_with_id_and_owner_and_never_touched(tmp_path: Path, arm_server: ArmServer) -> None:
    _create(arm_server, tmp_path, ["web"])
    stranger = arm_server.out_of_band_vm("legacy", tags={"team": "ops"})
    other_lab = arm_server.out_of_band_vm("their-web", tags={
        "homeport.managed-by": "homeport", "homeport.lab": "work", "homeport.resource": "their-web"})
    provider = make_provider(arm_server, tmp_path)
    inventory = provider.observe()
    unmanaged = {r.name: r for r in inventory.unmanaged("home")}
    assert unmanaged["legacy"].id == stranger and unmanaged["legacy"].fields["owner"].startswith("not managed")
    assert unmanaged["their-web"].id == other_lab and unmanaged["their-web"].fields["owner"] == "homeport lab work"
    assert sorted(inventory.owned("home")) == ["web"]

    # A definition with the same name as a VM homeport does not own is refused, never converged.
    resource = make_resource(arm_server, "legacy")
    start = len(arm_server.state.calls)
    with pytest.raises(PermanentProviderError, match="belongs to nobody"):
        provider.apply(Change(op=Op.create, resource="legacy", provider="cloud", provider_type="azure", reason="t",
                              desired=provider.desired_fields(resource)), resource, None)
    assert [c for c in arm_server.calls_since(start) if c.method != "GET"] == []
    assert provider.find("legacy") is None


def test_observe_without_a_subscription_says_what_to_set(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path, subscription_id=None, resource_group=None)
    with pytest.raises(PermanentProviderError, match=r"options\.subscription_id_env"):
        provider.observe()


def test_a_pool_of_its_own_resource_group_is_remembered_and_observed(tmp_path: Path, arm_server: ArmServer) -> None:
    arm_server.add_resource_group("lab-west", "westus2")
    arm_server.seed_subnet("lab-west", "west-vnet", "default")
    subnet = arm_server.subnet_id.replace("/homelab/", "/lab-west/").replace("homelab-vnet", "west-vnet")
    provider = make_provider(arm_server, tmp_path)
    resource = make_resource(arm_server, "west", overrides={"resource_group": "lab-west", "location": "westus2",
                                                            "vnet_subnet_id": subnet})
    desired = provider.desired_fields(resource)
    assert (desired["resource_group"], desired["location"], desired["vm_size"]) == ("lab-west", "westus2",
                                                                                    "Standard_B2s")
    change = Change(op=Op.create, resource="west", provider="cloud", provider_type="azure", reason="t",
                    desired=desired)
    assert provider.preflight([change]) == []
    provider.apply(change, resource, None)
    fresh = make_provider(arm_server, tmp_path)  # a new process: the place comes from the provider's state
    inventory = fresh.observe()
    assert inventory.owned("home")["west"].node == "westus2"
    assert {n.name for n in inventory.nodes} == {"eastus", "westus2"}
    found = fresh.find("west")
    assert found is not None and found.fields["resource_group"] == "lab-west"


def test_preflight_names_a_missing_resource_group(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path)
    resource = make_resource(arm_server, overrides={"resource_group": "nowhere"})
    change = Change(op=Op.create, resource="web", provider="cloud", provider_type="azure", reason="t",
                    desired=provider.desired_fields(resource))
    [problem] = provider.preflight([change])
    assert problem.startswith("resource group nowhere does not exist in subscription") and "az group create" in problem


def test_a_provider_without_a_default_resource_group_still_observes(tmp_path: Path, arm_server: ArmServer) -> None:
    _create(arm_server, tmp_path, ["web"])
    elsewhere = tmp_path / "fresh"  # no remembered places: only the provider's subscription to go on
    elsewhere.mkdir()
    provider = make_provider(arm_server, elsewhere, resource_group=None)
    assert sorted(provider.observe().owned("home")) == ["web"]


def test_without_power_states_a_stopped_vm_is_not_started(tmp_path: Path, arm_server: ArmServer) -> None:
    _create(arm_server, tmp_path, ["web"])
    with arm_server.state.lock:
        for key, extra in arm_server.state.extra.items():
            if key.endswith("/virtualmachines/web"):
                extra["power"] = "deallocated"
    provider = make_provider(arm_server, tmp_path, observe_power_state=False)
    inventory = provider.observe()
    assert inventory.api_calls == 3, "VM list, NICs, NSGs: no statusOnly listing"
    desired = provider.desired_fields(make_resource(arm_server, "web"))
    assert "power_state" not in desired
    assert diff_fields(desired, inventory.owned("home")["web"].fields, None, provider.diff_rules) == []

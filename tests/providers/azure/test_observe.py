"""observe(): one VM listing per subscription (plus power states, NICs and NSGs), whatever the VM count;
unowned VMs reported with their id and owner, never touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.plan import Change, Op
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

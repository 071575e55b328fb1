"""The `api` executor on the ARM test server, in process: converging a live VM field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, FieldChange, Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.azure.provider import AzureProvider
from reconciler.providers.errors import PermanentProviderError
from tests.backends.arm import ArmServer
from tests.providers.azure.conftest import make_provider, make_resource


def _apply(provider: AzureProvider, resource: EffectiveResource, op: Op,
           fields: list[FieldChange] | None = None) -> str:
    change = Change(op=op, resource=resource.name, provider="cloud", provider_type="azure", reason="t",
                    desired=provider.desired_fields(resource), fields=fields or [])
    return provider.apply(change, resource, None).message


def _in_sync(provider: AzureProvider, resource: EffectiveResource) -> list[Any]:
    found = provider.find(resource.name)
    assert found is not None
    return diff_fields(provider.desired_fields(resource), found.fields, None, provider.diff_rules)


def test_public_ip_disks_tags_and_ingress_converge_in_place(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path)
    first = make_resource(arm_server, ports=[80], disks={"data": 10}, storage_gb=30)
    assert "created VM web" in _apply(provider, first, Op.create)
    vm_id = arm_server.vms()["web"]["id"]

    second = make_resource(arm_server, ports=[80, 443], disks={"data": 20, "logs": 5}, storage_gb=40,
                           overrides={"public_ip": True})
    second.labels = {"app": "web", "team": "infra"}
    message = _apply(provider, second, Op.update)
    for part in ("tags", "ingress tcp:443, tcp:80", "public IP added", "disk data 10 -> 20 GiB",
                 "attached disk logs (5 GiB)", "deallocated", "OS disk 30 -> 40 GiB", "started"):
        assert part in message, message
    assert _in_sync(provider, second) == []
    assert arm_server.vms()["web"]["id"] == vm_id, "converged in place, never recreated"
    assert "web-ip" in arm_server.of_type("Microsoft.Network/publicIPAddresses")

    # Public IP off again, the logs disk dropped from the definition: detached and kept.
    third = make_resource(arm_server, ports=[80, 443], disks={"data": 20}, storage_gb=40)
    third.labels = {"app": "web", "team": "infra"}
    message = _apply(provider, third, Op.update, [FieldChange(path="disks[logs]", old={"size_gb": 5}, new=None)])
    assert "public IP removed" in message and "detached disk logs (kept)" in message, message
    assert "web-ip" not in arm_server.of_type("Microsoft.Network/publicIPAddresses")
    assert "web-logs" in arm_server.of_type("Microsoft.Compute/disks")
    assert _in_sync(provider, third) == []

    shrink = make_resource(arm_server, ports=[80, 443], disks={"data": 8}, storage_gb=40)
    shrink.labels = third.labels
    with pytest.raises(PermanentProviderError, match="cannot shrink"):
        _apply(provider, shrink, Op.update)


def test_a_deallocated_vm_is_started_and_a_new_image_replaces(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path)
    resource = make_resource(arm_server)
    _apply(provider, resource, Op.create)
    with arm_server.state.lock:
        for key, extra in arm_server.state.extra.items():
            if key.endswith("/virtualmachines/web"):
                extra["power"] = "deallocated"
    found = provider.find("web")
    assert found is not None and found.fields["power_state"] == "deallocated"
    assert _apply(provider, resource, Op.update) == "started"
    assert arm_server.power("web") == "running"

    ubuntu = make_resource(arm_server, overrides={"image": "Canonical:ubuntu-24_04-lts:server:latest"})
    old_id = arm_server.vms()["web"]["properties"]["vmId"]
    message = _apply(provider, ubuntu, Op.replace)
    assert message.startswith("deleted VM web") and "created VM web" in message, message
    assert arm_server.vms()["web"]["properties"]["vmId"] != old_id
    assert arm_server.vms()["web"]["properties"]["storageProfile"]["imageReference"]["publisher"] == "Canonical"


def test_delete_is_idempotent_and_create_twice_converges(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path)
    resource = make_resource(arm_server, disks={"data": 4})
    _apply(provider, resource, Op.create)
    again = _apply(provider, resource, Op.create)
    assert again == "VM web already existed; VM web already matches"
    assert len(arm_server.vms()) == 1
    assert "deleted VM web" in _apply(provider, resource, Op.delete)
    assert _apply(provider, resource, Op.delete) == "web was already absent"
    assert provider.find("web") is None
    assert [r["name"] for r in arm_server.state.resources.values() if r["name"].startswith("web")] == []

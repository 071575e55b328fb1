"""Effective resources and changes for the Proxmox tests, built the way the planner builds them."""

from __future__ import annotations

from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.providers.base import Provider

LAB = "home"


def resource(
    name: str,
    *,
    node: str | None = "pve1",
    overrides: dict[str, Any] | None = None,
    network: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    resource_type: str = "compute",
    **requirements: Any,
) -> EffectiveResource:
    """An effective resource on the `pve` provider of lab `home`."""
    reqs = {"cpu": 2, "memory_gb": 2, "storage_gb": 8, **requirements}
    return EffectiveResource(
        name=name,
        lab=LAB,
        resource_type=resource_type,
        workload_type="general",
        provider="pve",
        provider_type="proxmox",
        pool="/infrastructure/proxmox",
        pool_name="proxmox",
        node=node,
        requirements=Requirements.model_validate(reqs),
        deployment=Deployment(),
        network=NetworkSpec.model_validate(network or {}),
        service=ServiceSpec(),
        properties={"storage_pool": "local-lvm", "network_bridge": "vmbr0", **(properties or {})},
        overrides=overrides or {},
    )


def change(
    provider: Provider,
    res: EffectiveResource,
    op: Op = Op.create,
    *,
    provider_id: str | None = None,
    previous_name: str | None = None,
) -> Change:
    """A change for res with its desired fields, as the planner makes it."""
    return Change(
        op=op,
        resource=res.name,
        provider="pve",
        provider_type="proxmox",
        node=res.node,
        reason=f"test {op.value}",
        desired=provider.desired_fields(res),
        provider_id=provider_id,
        previous_name=previous_name,
    )

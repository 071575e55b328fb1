"""Effective resources, changes and direct vSphere lookups for the VMware tests."""

from __future__ import annotations

from typing import Any

from pyVim.task import WaitForTask
from pyVmomi import vim

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.providers.base import Provider

LAB = "home"


def resource(
    name: str,
    *,
    node: str | None = "DC0_C0_H0",
    overrides: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    **requirements: Any,
) -> EffectiveResource:
    """An effective resource on the `vsphere` provider of lab `home`."""
    reqs = {"cpu": 2, "memory_gb": 2, "storage_gb": 8, **requirements}
    return EffectiveResource(
        name=name,
        lab=LAB,
        resource_type="compute",
        workload_type="general",
        provider="vsphere",
        provider_type="vmware",
        pool="/infrastructure/vsphere",
        pool_name="vsphere",
        node=node,
        requirements=Requirements.model_validate(reqs),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(),
        properties=properties or {},
        overrides=overrides or {},
    )


def change(provider: Provider, res: EffectiveResource, op: Op = Op.create, **extra: Any) -> Change:
    """A change for res with its desired fields, as the planner makes it."""
    return Change(
        op=op,
        resource=res.name,
        provider="vsphere",
        provider_type="vmware",
        node=res.node,
        reason=f"test {op.value}",
        desired=provider.desired_fields(res),
        **extra,
    )


def vms_named(si: Any, name: str) -> list[Any]:
    """Every VM called name, read through an independent session."""
    view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
    try:
        return [vm for vm in view.view if vm.name == name]
    finally:
        view.DestroyView()


def one_vm(si: Any, name: str) -> Any:
    """The single VM called name (fails if there are none or several)."""
    found = vms_named(si, name)
    assert len(found) == 1, f"expected one VM named {name}, found {len(found)}"
    return found[0]


def reconfigure(vm: Any, **spec: Any) -> None:
    """An out-of-band ReconfigVM_Task, as a person in the vSphere client would do."""
    WaitForTask(vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(**spec)))

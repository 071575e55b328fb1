"""The `arm` executor: the azure-vm chart's ARM template deployed to the resource group, incrementally.

What-if is the plan preview (`homeport plan --provider-preview`): ARM's own account of what the
deployment would create or modify, computed by Azure and never executed. A size change deallocates
the VM before the deployment and starts it after, as the api executor does; deletes remove the
resources by name (an incremental deployment never deletes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.plan import Change, Op
from reconciler.providers.azure.apply import TEMPLATE_FILE, ApiExecutor, VmOptions, Where
from reconciler.providers.azure.errors import azure_call
from reconciler.providers.azure.facts import WhatIfLine, parse_vm, parse_what_if
from reconciler.providers.azure.observe import as_json, read_vm
from reconciler.providers.base import ApplyResult, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError

# Template parameters homeport fills from the desired fields, so the deployment and the plan agree.
PARAMETER_FIELDS = {"vmSize": "vm_size", "location": "location", "subnetId": "subnet_id"}


class WhatIfPreview(BaseModel):
    """ARM's what-if answer as a plan preview."""

    deployment: str
    resource_group: str
    status: str
    lines: list[WhatIfLine] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing would be created or modified."""
        return all(line.change_type in ("NoChange", "Ignore") for line in self.lines)


def deployment_name(name: str) -> str:
    """The ARM deployment of a resource (at most 64 characters)."""
    return f"homeport-{name}"[:64]


def template_of(artifacts: RenderedArtifacts | None, resource: str) -> dict[str, Any]:
    """The rendered ARM template among the chart's files."""
    if artifacts is None or TEMPLATE_FILE not in artifacts.files:
        raise PermanentProviderError(
            f"{resource}: the arm executor needs the azure-vm chart's {TEMPLATE_FILE}; render the resource with "
            "the azure-vm chart (template infrastructure.chart: azure-vm)"
        )
    template: dict[str, Any] = json.loads(artifacts.files[TEMPLATE_FILE])
    return template


def template_parameters(template: dict[str, Any], desired: dict[str, Any], options: VmOptions) -> dict[str, Any]:
    """Parameters the template declares that homeport fills (desired fields, the admin's SSH key)."""
    declared = template.get("parameters") or {}
    values: dict[str, Any] = {key: desired[field] for key, field in PARAMETER_FIELDS.items()
                              if key in declared and desired.get(field)}
    if "adminUsername" in declared:
        values["adminUsername"] = options.admin_username
    if "sshPublicKey" in declared:
        if not options.ssh_public_key:
            raise PermanentProviderError(
                "the azure-vm template needs the admin's SSH public key: set options.ssh_public_key_file on the "
                "azure provider (or ssh_public_key in the pool's properties)"
            )
        values["sshPublicKey"] = options.ssh_public_key
    return {key: {"value": value} for key, value in values.items()}


@dataclass
class ArmExecutor:
    """Deploys one resource's template; shares the api executor's plumbing for power and deletes."""

    api: ApiExecutor

    def body(self, artifacts: RenderedArtifacts | None, change: Change, options: VmOptions) -> dict[str, Any]:
        """The deployment's request body (incremental mode)."""
        template = template_of(artifacts, change.resource)
        return {"properties": {"mode": "Incremental", "template": template,
                               "parameters": template_parameters(template, change.desired, options)}}

    def what_if(self, where: Where, change: Change, artifacts: RenderedArtifacts | None,
                options: VmOptions) -> WhatIfPreview:
        """What the deployment would do, as ARM computes it (nothing is deployed)."""
        deployments = self.api.clients.deployments(where.subscription).deployments
        name = deployment_name(change.resource)
        result = self.api.lro(f"what-if {name}", deployments.begin_what_if, where.group, name,
                              self.body(artifacts, change, options))
        data = as_json(result) if result is not None else {}
        error = data.get("error")
        if error:
            raise PermanentProviderError(f"what-if {name}: {error.get('code')}: {error.get('message')}")
        return WhatIfPreview(deployment=name, resource_group=where.group, status=str(data.get("status", "")),
                             lines=parse_what_if(data))

    def deploy(self, where: Where, change: Change, artifacts: RenderedArtifacts | None,
               options: VmOptions) -> ApplyResult:
        """Deallocate first when the size changes, deploy incrementally, then make sure the VM runs."""
        compute = self.api.compute(where)
        name = change.resource
        body = self.body(artifacts, change, options)
        raw = read_vm(self.api.clients, where.subscription, where.group, name)
        vm = parse_vm(raw) if raw is not None else None
        notes = []
        if vm is not None:
            self.api._check_ours(vm, name)
            if change.desired.get("vm_size") and vm.vm_size != change.desired["vm_size"] and \
                    vm.power_state != "deallocated":
                self.api.lro(f"deallocate VM {name}", compute.virtual_machines.begin_deallocate, where.group, name)
                notes.append("deallocated")
        deployments = self.api.clients.deployments(where.subscription).deployments
        deployment = deployment_name(name)
        result = self.api.lro(f"deploy {deployment}", deployments.begin_create_or_update, where.group, deployment,
                              body)
        outputs = ((as_json(result) if result is not None else {}).get("properties") or {}).get("outputs") or {}
        notes.append(f"{'updated' if vm is not None else 'created'} by deployment {deployment}")
        if vm is not None and vm.vm_size != change.desired.get("vm_size"):
            notes.append(f"resized {vm.vm_size} -> {change.desired.get('vm_size')}")
        after = read_vm(self.api.clients, where.subscription, where.group, name)
        if after is not None and parse_vm(after).power_state != "running":
            self.api.lro(f"start VM {name}", compute.virtual_machines.begin_start, where.group, name)
            notes.append("started")
        vm_id = (outputs.get("vmId") or {}).get("value") or (after or {}).get("id")
        return ApplyResult(provider_id=str(vm_id) if vm_id else None, node=where.location, message="; ".join(notes),
                           outputs={"deployment": deployment, "outputs": outputs})

    def apply(self, where: Where, change: Change, artifacts: RenderedArtifacts | None,
              options: VmOptions) -> ApplyResult:
        """Carry out one change through a deployment (deletes by name)."""
        if change.op is Op.delete:
            result = self.api.delete(where, change.resource)
            deployments = self.api.clients.deployments(where.subscription).deployments
            azure_call("delete deployment record", lambda: deployments.begin_delete(
                where.group, deployment_name(change.resource)).result(timeout=self.api.settings.options.lro_timeout))
            return result
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, message=change.reason)
        if change.op is Op.rename:
            raise PermanentProviderError(
                f"{change.resource}: an Azure VM cannot be renamed; rename is a delete and a create"
            )
        if change.op is Op.replace:
            removed = self.api.delete(where, change.resource)
            created = self.deploy(where, change, artifacts, options)
            created.message = f"{removed.message}; {created.message}"
            return created
        return self.deploy(where, change, artifacts, options)

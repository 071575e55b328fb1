"""Pure: the sim provider's field vocabulary and comparison rules."""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.placement import Demand

SIM_DIFF_RULES = DiffRules(
    keyed_lists={"disks": "name", "ports": "name"},
    replace_fields=["image"],
    grow_only_fields=["storage_gb", "disks.size_gb"],
    high_risk_fields=["gpu"],
    set_fields=["tags"],
)


def sim_desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """The fields a sim machine has once this resource is applied."""
    req = resource.requirements
    values = {"image": "generic-linux", "power_state": "running"}
    values.update({k: v for k, v in resource.properties.items() if k in values})
    values.update({k: v for k, v in resource.overrides.items() if k in values})
    fields: dict[str, Any] = {
        "cpu": req.cpu if req.cpu is not None else 1,
        "memory_gb": float(req.memory_gb) if req.memory_gb is not None else 1.0,
        "storage_gb": float(req.storage_gb) if isinstance(req.storage_gb, int | float) else 10.0,
        "gpu": req.gpu_count,
        "image": resource.service.image or values["image"],
        "status": values["power_state"],
        "tags": sorted(f"{k}={v}" for k, v in resource.labels.items()),
    }
    if req.disks:
        fields["disks"] = [{"name": d.name, "size_gb": float(d.size)} for d in req.disks]
    if resource.service.ports:
        fields["ports"] = [{"name": p.name, "port": p.port, "protocol": p.protocol} for p in resource.service.ports]
    if resource.service.env:
        fields["env"] = dict(resource.service.env)
    return fields


def sim_demand(resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
    """Pure: a sim machine allocates its cpu and memory_gb fields (1 vCPU / 1 GiB when unset, said in notes)."""
    req = resource.requirements
    return Demand(
        cpu=float(fields.get("cpu") or 0),
        memory_gb=float(fields.get("memory_gb") or 0),
        gpus=int(fields.get("gpu") or 0),
        gpu_model=req.gpu_model,
        notes=tuple(
            note
            for unset, note in (
                (req.cpu is None, f"cpu unset: the sim machine gets {fields.get('cpu')} vCPU"),
                (req.memory_gb is None, f"memory unset: the sim machine gets {fields.get('memory_gb')} GiB"),
            )
            if unset
        ),
    )

"""Pure: the sim provider's field vocabulary and comparison rules."""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource

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

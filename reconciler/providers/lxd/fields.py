"""Desired fields (pure, from the effective resource), diff rules, restarts, and the rendered request.

The chart (charts/lxd-instance) renders the instance LXD is asked for; `desired_fields` computes
the same facts from the same values so the plan compares like with like (a test checks both agree).
"""

from __future__ import annotations

import copy
import hashlib
import json
from functools import cache
from typing import Any

import yaml

from reconciler.assets import asset_dir
from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError

CHART = "lxd-instance"
INSTANCE_FILE = "instance.yaml"

DIFF_RULES = DiffRules(
    replace_fields=["type", "image"],
    grow_only_fields=["root_gb"],
    high_risk_fields=["gpu_count"],
    set_fields=["tags"],
    low_risk_fields=["autostart", "configured", "profiles"],
    # Restarts depend on the instance type: rules_for() gives each resource RESTART_FIELDS[its type].
)

# What LXD applies to a running instance and what waits for a restart (LXD 5.0 instance options).
# Containers: limits.cpu, limits.memory, disk sizes, NICs and GPUs are live; security.nesting is read at start.
# Virtual machines: CPU and memory limits, disk sizes and GPU passthrough take effect at the next boot.
RESTART_FIELDS: dict[str, tuple[str, ...]] = {
    "container": ("nesting",),
    "virtual-machine": ("cpu", "memory_mb", "root_gb", "gpu_count"),
}

_RULES_BY_TYPE: dict[str, DiffRules] = {
    kind: DIFF_RULES.model_copy(update={"restart_fields": list(slow)}, deep=True)
    for kind, slow in RESTART_FIELDS.items()
}


def rules_for(kind: str, status: str | None) -> DiffRules:
    """Pure: the diff rules of an instance of this type, so the plan line says which changes restart it.

    `status` is the live instance's (None before it exists): homeport restarts only a running instance
    (a stopped one takes its new config when it next starts), so only then do the restart fields apply.
    """
    if status not in (None, "running"):
        return DIFF_RULES
    return _RULES_BY_TYPE.get(kind, DIFF_RULES)


@cache
def chart_defaults() -> dict[str, Any]:
    """The lxd-instance chart's values.yaml (the defaults the chart renders with)."""
    data = yaml.safe_load((asset_dir("charts") / CHART / "values.yaml").read_text(encoding="utf-8"))
    return dict(data or {})


def _merge(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for layer in layers:
        for key, value in layer.items():
            out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def chart_values(resource: EffectiveResource) -> dict[str, Any]:
    """The values the chart renders with: its defaults < properties (pool, template) < overrides.lxd."""
    return _merge(chart_defaults(), resource.properties, resource.overrides)


def instance_type(resource: EffectiveResource, values: dict[str, Any] | None = None) -> str:
    """container or virtual-machine: instance_type, else container for resource_type container."""
    values = values if values is not None else chart_values(resource)
    kind = values.get("instance_type")
    if kind:
        return str(kind)
    return "container" if resource.resource_type == "container" else "virtual-machine"


def gpu_count(resource: EffectiveResource) -> int:
    """GPUs the resource asks for (gpu: true is one)."""
    gpu = resource.requirements.gpu
    if isinstance(gpu, bool):
        return 1 if gpu else 0
    return int(gpu or 0)


def wants_configure(resource: EffectiveResource, values: dict[str, Any] | None = None) -> bool:
    """Whether the configure step runs: values.configure, else when the resource has a static IPv4."""
    values = values if values is not None else chart_values(resource)
    wanted = values.get("configure")
    if wanted is not None:
        return bool(wanted)
    return bool(resource.network.ipv4 and resource.network.ipv4 != "dhcp")


def configuration_stamp(resource: EffectiveResource) -> str | None:
    """A digest of what the configure step applies (template, chart, playbooks, variables), or None.

    Written to the instance as user.homeport.configured once the playbook ran cleanly, so an
    instance whose configuration never ran (or whose playbooks changed) shows up in the plan.
    """
    if not wants_configure(resource):
        return None
    basis = {
        "template": resource.template,
        "chart": resource.chart,
        "playbooks": [p.model_dump(mode="json") for p in resource.configuration],
        "vars": resource.configuration_vars,
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()[:16]


def desired_fields(resource: EffectiveResource) -> dict[str, Any]:
    """Pure: the fields observe() reports once the resource is applied (facts.observed_fields' vocabulary)."""
    values = chart_values(resource)
    kind = instance_type(resource, values)
    req = resource.requirements
    fields: dict[str, Any] = {
        "type": kind,
        "image": str(values["image"]),
        "status": str(values.get("status") or "running"),
        "autostart": bool(values.get("autostart", True)),
        "gpu_count": gpu_count(resource),
        "profiles": [str(p) for p in values.get("profiles") or []],
    }
    if req.cpu:
        fields["cpu"] = int(req.cpu)
    if req.memory_gb:
        fields["memory_mb"] = round(req.memory_gb * 1024)
    size = req.storage_gb or values.get("root_disk_gb")
    if size:
        whole = int(-(-float(size) // 1))  # the chart rounds the root disk up to whole GiB
        fields["root_gb"] = whole
    if values.get("nic_type"):
        nic = {"nictype": str(values["nic_type"])}
        if values.get("nic_parent"):
            nic["parent"] = str(values["nic_parent"])
        fields["nic"] = nic
    elif values.get("network"):
        fields["nic"] = {"network": str(values["network"])}
    if kind == "container":
        fields["nesting"] = bool(values.get("nesting", False))
    stamp = configuration_stamp(resource)
    if stamp:
        fields["configured"] = stamp
    return fields


def restart_reasons(kind: str, changed: list[str]) -> list[str]:
    """The changed fields that only take effect when the instance restarts (empty: applied live)."""
    slow = RESTART_FIELDS.get(kind, ())
    return [path for path in changed if path.split(".", 1)[0].split("[", 1)[0] in slow]


def instance_request(artifacts: RenderedArtifacts | None, name: str) -> dict[str, Any]:
    """The rendered instance.yaml as the body of POST /1.0/instances (name, type, source, config, devices)."""
    if artifacts is None or INSTANCE_FILE not in artifacts.files:
        raise PermanentProviderError(
            f"lxd: {name}: no rendered {INSTANCE_FILE}; the resource must use the {CHART} chart (or one that "
            f"writes {INSTANCE_FILE})"
        )
    try:
        doc = yaml.safe_load(artifacts.files[INSTANCE_FILE])
    except yaml.YAMLError as exc:
        raise PermanentProviderError(f"lxd: {name}: the rendered {INSTANCE_FILE} is not YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("name") != name:
        raise PermanentProviderError(f"lxd: {name}: the rendered {INSTANCE_FILE} does not describe instance {name}")
    config = {str(k): str(v) for k, v in (doc.get("config") or {}).items()}
    devices = {str(k): {str(a): str(b) for a, b in (v or {}).items()} for k, v in (doc.get("devices") or {}).items()}
    request: dict[str, Any] = {
        "name": name,
        "type": str(doc.get("type") or "container"),
        "description": str(doc.get("description") or ""),
        "profiles": [str(p) for p in doc.get("profiles") or []],
        "config": config,
        "devices": devices,
    }
    if doc.get("source"):
        request["source"] = {str(k): v for k, v in doc["source"].items()}
    return request

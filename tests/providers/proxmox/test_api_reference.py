"""Every request the provider makes names a real PVE endpoint and real parameters.

Checked against the official API description (pve-api-endpoints.json, extracted from the PVE API
viewer): HOMEPORT_PVE_API_REFERENCE, else /work/shared/reference/pve-api-endpoints.json. The calls
come from a full run of the provider against fakepve (observe, preflight, create blank and clone,
update with growth and reboot, stop, rename, delete, detail load).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.plan import Op
from reconciler.providers.proxmox import ProxmoxProvider
from tests.backends.pve import TEMPLATE_NAME, PveBackend
from tests.providers.proxmox.resources import change, resource

REFERENCE_ENV = "HOMEPORT_PVE_API_REFERENCE"
DEFAULT_REFERENCE = Path("/work/shared/reference/pve-api-endpoints.json")


def _reference() -> list[dict[str, Any]]:
    path = Path(os.environ.get(REFERENCE_ENV) or DEFAULT_REFERENCE)
    if not path.is_file():
        pytest.fail(f"the PVE API reference {path} is missing; set {REFERENCE_ENV} to pve-api-endpoints.json")
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def _template_regex(template: str) -> re.Pattern[str]:
    parts = [r"[^/]+" if seg.startswith("{") else re.escape(seg) for seg in template.strip("/").split("/")]
    return re.compile("^/" + "/".join(parts) + "$")


def _param_ok(name: str, declared: dict[str, Any]) -> bool:
    if name in declared:
        return True
    indexed = re.fullmatch(r"([a-z]+)\d+", name)
    return bool(indexed and f"{indexed.group(1)}[n]" in declared)


def _exercise(provider: ProxmoxProvider, pve: PveBackend) -> None:
    provider.observe()
    blank = resource("web", network={"ipv4": "127.0.0.11/8", "dns": ["9.9.9.9"]}, disks=[{"name": "data", "size": 2}])
    cloned = resource("db", storage_gb=4, overrides={"clone": TEMPLATE_NAME, "cpu_type": "host"})
    for res in (blank, cloned):
        provider.preflight([change(provider, res)])
        provider.apply(change(provider, res), res, None)
    vmid = str(pve.guest("web").vmid)
    grown = resource("web", cpu=4, storage_gb=12, network={"ipv4": "127.0.0.11/8"}, disks=[{"name": "data", "size": 2}])
    provider.apply(change(provider, grown, Op.update, provider_id=vmid), grown, None)
    stopped = resource("web", cpu=4, storage_gb=12, overrides={"status": "stopped"})
    provider.apply(change(provider, stopped, Op.update, provider_id=vmid), stopped, None)
    renamed = resource("frontend", cpu=4, storage_gb=12, overrides={"status": "stopped"})
    provider.apply(change(provider, renamed, Op.rename, provider_id=vmid, previous_name="web"), renamed, None)
    provider.load_detail(next(r for r in provider.observe().resources if r.name == "plex"))
    provider.apply(change(provider, renamed, Op.delete, provider_id=vmid), None, None)
    pve.pve.store_file("local", "debian-12.tar.zst", 1024, content="vztmpl")
    ct = resource(
        "dns",
        resource_type="container",
        cpu=1,
        memory_gb=0.5,
        network={"ipv4": "10.0.0.5/24"},
        disks=[{"name": "zone", "size": 1}],
        overrides={"ostemplate": "local:vztmpl/debian-12.tar.zst"},
    )
    provider.apply(change(provider, ct), ct, None)
    ctid = str(next(c.vmid for c in pve.pve.cts if c.config.get("hostname") == "dns"))
    bigger = resource(
        "dns",
        resource_type="container",
        cpu=2,
        memory_gb=1,
        network={"ipv4": "10.0.0.5/24"},
        disks=[{"name": "zone", "size": 1}],
        overrides={"ostemplate": "local:vztmpl/debian-12.tar.zst", "status": "stopped"},
    )
    provider.apply(change(provider, bigger, Op.update, provider_id=ctid), bigger, None)
    provider.apply(change(provider, bigger, Op.delete, provider_id=ctid), None, None)


def test_every_call_is_a_documented_endpoint_with_documented_parameters(
    provider: ProxmoxProvider, pve: PveBackend
) -> None:
    reference = _reference()
    _exercise(provider, pve)
    calls = provider.client.log
    assert len({(c.method, c.path) for c in calls}) >= 10
    problems = []
    for call in calls:
        path = "/" + call.path.strip("/")
        matches = [e for e in reference if e["method"] == call.method and _template_regex(e["path"]).match(path)]
        if not matches:
            problems.append(f"{call.method} {path}: no such endpoint")
            continue
        entry = max(matches, key=lambda e: e["path"].count("/") - e["path"].count("{"))
        declared = entry.get("parameters", {}).get("properties", entry.get("parameters", {}))
        unknown = [p for p in call.params if not _param_ok(p, declared)]
        if unknown:
            problems.append(f"{call.method} {entry['path']}: unknown parameters {unknown}")
    assert problems == []

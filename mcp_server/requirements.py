"""Requirements as agents write them (cores or cpu, memory_gb, storage_gb, gpu), checked into the model."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from mcp_server.toolspec import AgentError
from reconciler.models.resource import Requirements

ALIASES = {"cores": "cpu", "vcpu": "cpu", "memory": "memory_gb", "ram_gb": "memory_gb", "disk_gb": "storage_gb",
           "storage": "storage_gb"}


def requirements_from(data: dict[str, Any], *, extra_ok: bool = True) -> Requirements:
    """Requirements from a loose dict; unknown keys are ignored only when extra_ok (hints like 'developers')."""
    known = set(Requirements.model_fields)
    clean: dict[str, Any] = {}
    for key, value in data.items():
        field = ALIASES.get(key, key)
        if field in known:
            clean[field] = value
        elif not extra_ok:
            raise AgentError(f"unknown requirement {key!r}; use cpu, memory_gb, storage_gb, gpu, gpu_model")
    try:
        return Requirements.model_validate(clean)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False))
        raise AgentError(f"invalid requirements: {problems} (e.g. {{'cpu': 4, 'memory_gb': 8, 'gpu': true}})") from None

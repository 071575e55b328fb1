"""The only code that changes the sim: create, update, replace, rename or delete one machine, idempotently."""

from __future__ import annotations

from typing import Any

from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, ProviderState
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.sim.errors import simulated_fault
from reconciler.providers.sim.settings import SimSettings
from reconciler.providers.sim.store import machine_key


def apply_change(state: ProviderState, settings: SimSettings, change: Change, *, lab: str) -> ApplyResult:
    """Carry out one change: ask before creating (a machine that is there is converged), never touch a
    machine homeport does not own."""
    if change.resource in settings.faults:
        raise simulated_fault(settings.faults[change.resource], change.resource)
    key = machine_key(change.resource)
    current = state.get(key)
    if current is not None and current.get("owned") is False:
        raise PermanentProviderError(f"sim: machine {change.resource} exists and is not managed by homeport")
    if change.op is Op.delete:
        if current is not None:
            state.delete(key)
        return ApplyResult(message=f"deleted {change.resource}" if current else f"{change.resource} already gone")
    if change.op is Op.rename and change.previous_name:
        old = state.get(machine_key(change.previous_name))
        if old is not None:
            old["name"] = change.resource
            state.put(key, old)
            state.delete(machine_key(change.previous_name))
            current = old
    node = change.node or (current or {}).get("node")
    if node is None or node not in settings.nodes:
        raise PermanentProviderError(f"sim: node {node!r} does not exist; nodes: {', '.join(sorted(settings.nodes))}")
    fields: dict[str, Any] = dict(change.desired)
    if change.op is Op.update and current is not None:
        fields = {**current.get("fields", {}), **change.desired}
    record = {
        "name": change.resource,
        "node": node,
        "owned": True,
        "lab": lab,
        "id": (current or {}).get("id") or f"sim-{change.resource}",
        "fields": fields,
    }
    state.put(key, record)
    if change.op in (Op.create, Op.replace) or current is None:
        created = "already existed; converged" if current is not None and change.op is Op.create else "created"
        return ApplyResult(provider_id=record["id"], node=node, message=f"{change.resource} {created} on {node}")
    return ApplyResult(provider_id=record["id"], node=node, message=f"{change.resource} {change.op.value}d")

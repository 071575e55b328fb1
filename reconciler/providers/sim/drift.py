"""Causing drift on purpose, for demos and tests (`homeport sim drift`)."""

from __future__ import annotations

import json
from typing import Any

from reconciler.providers.base import ProviderState
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.sim.store import machine_key


def parse_assignment(text: str) -> tuple[str, Any]:
    """'cpu=8' -> ('cpu', 8); values are JSON when they parse as JSON, else strings."""
    if "=" not in text:
        raise ValueError(f"{text!r} is not FIELD=VALUE")
    field, raw = text.split("=", 1)
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return field.strip(), value


def cause_drift(state: ProviderState, name: str, assignments: dict[str, Any]) -> dict[str, Any]:
    """Change a machine's live fields behind homeport's back; returns the new fields."""
    record = state.get(machine_key(name))
    if record is None:
        raise PermanentProviderError(f"sim: no machine called {name}")
    fields = dict(record.get("fields", {}))
    for field, value in assignments.items():
        if value is None:
            fields.pop(field, None)
        else:
            fields[field] = value
    record["fields"] = fields
    state.put(machine_key(name), record)
    return fields


def delete_out_of_band(state: ProviderState, name: str) -> None:
    """Remove a machine behind homeport's back."""
    state.delete(machine_key(name))


def add_unmanaged(state: ProviderState, name: str, node: str, fields: dict[str, Any]) -> None:
    """A machine homeport did not create (reported, never touched)."""
    state.put(
        machine_key(name),
        {"name": name, "node": node, "owned": False, "lab": None, "id": f"sim-{name}", "fields": fields},
    )

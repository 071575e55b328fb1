"""How sim machines and nodes are kept in the provider's durable state."""

from __future__ import annotations

from typing import Any

from reconciler.providers.base import ProviderState

MACHINE_PREFIX = "machine/"


def machine_key(name: str) -> str:
    """State key of a machine."""
    return MACHINE_PREFIX + name


def load_machines(state: ProviderState) -> dict[str, dict[str, Any]]:
    """Every machine, owned or not, by name (one query)."""
    return {key.removeprefix(MACHINE_PREFIX): value for key, value in state.items(MACHINE_PREFIX).items()}

"""Read-only view of the sim: every machine and node, in one query of the provider's durable state."""

from __future__ import annotations

from datetime import datetime

from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.providers.base import ObservationPrint, ProviderState, print_text
from reconciler.providers.sim.facts import machine_resource, node_facts
from reconciler.providers.sim.settings import SimSettings
from reconciler.providers.sim.store import MACHINE_PREFIX, load_machines, machine_key


def observe(state: ProviderState, settings: SimSettings, *, provider: str, now: datetime) -> Inventory:
    """All machines (owned or not) and the nodes with their capacity and allocation."""
    machines = load_machines(state)
    return Inventory(
        provider=provider,
        provider_type="sim",
        observed_at=now,
        nodes=node_facts(provider, settings, machines),
        resources=[machine_resource(provider, name, m) for name, m in sorted(machines.items())],
        api_calls=1,
    )


def find(state: ProviderState, *, provider: str, lab: str, name: str) -> ObservedResource | None:
    """One owned machine of this lab, read by key."""
    record = state.get(machine_key(name))
    if not record or not record.get("owned") or record.get("lab") != lab:
        return None
    return machine_resource(provider, name, record)


def machine_prints(state: ProviderState) -> ObservationPrint | None:
    """Each machine's fingerprint from its stored JSON text, and their digest (None when the state cannot give
    its text: the caller then observes and hashes). Nodes follow from the settings and the machines."""
    items_text = getattr(state, "items_text", None)
    if items_text is None:
        return None
    texts: dict[str, str] = items_text(MACHINE_PREFIX)
    resources = {key.removeprefix(MACHINE_PREFIX): print_text(text) for key, text in texts.items()}
    digest = print_text("\n".join(f"{name}\0{p}" for name, p in sorted(resources.items())))
    return ObservationPrint(digest, resources)

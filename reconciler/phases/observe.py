"""Observe: each enabled provider's inventory; a provider that fails is reported, the others go on."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.phases.context import LabSession
from reconciler.providers.base import ObservationPrint
from reconciler.providers.errors import ProviderError


@dataclass
class Observation:
    """Inventories by provider name, and why others could not be read."""

    inventories: dict[str, Inventory] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    prints: dict[str, ObservationPrint] = field(default_factory=dict)  # fingerprints, when the run asked


def disabled_reason(name: str) -> str:
    """Why a disabled provider is not observed."""
    return f"provider {name} is disabled (enabled: false in homeport.yaml)"


def observe_all(
    session: LabSession,
    state: DesiredState,
    only: set[str] | None = None,
    *,
    prints: dict[str, ObservationPrint] | None = None,
) -> Observation:
    """Observe every enabled provider of the lab (or only those named).

    prints: fingerprint each provider too (for the no-op index); prints already taken are reused, and so is the
    observation a print was taken from."""
    result = Observation()
    lab = state.lab_name
    for name, config in sorted(state.lab.spec.providers.items()):
        if only is not None and name not in only:
            continue
        if not config.enabled:
            result.unavailable[name] = disabled_reason(name)
            continue
        try:
            provider = session.provider(lab, name, config)
            if prints is None:
                result.inventories[name] = provider.observe()
                continue
            taken = prints.get(name) or provider.observation_print()
            result.prints[name] = taken
            result.inventories[name] = taken.inventory if taken.inventory is not None else provider.observe()
        except ProviderError as exc:
            result.unavailable[name] = f"provider {name} could not be observed: {exc}"
        except Exception as exc:  # a vendor error a provider forgot to map must not stop the other providers
            result.unavailable[name] = f"provider {name} could not be observed ({type(exc).__name__}): {exc}"
    return result

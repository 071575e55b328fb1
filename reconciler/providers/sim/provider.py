"""The sim provider: behaves like a real one (ownership, ask before create, drift, capacity) without hardware.

The worked example of the provider shape every provider package follows:
settings.py (options as a pydantic model), errors.py (map_error: vendor errors -> the provider error tree),
facts.py (pure parsers of the provider's answers, table-tested from recorded answers), fields.py (the desired
fields and demand, pure), observe.py (read only), apply.py (the only code that changes anything),
apply_<executor>.py for a second executor, and provider.py wiring them into PROVIDER_CLASS.
"""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.placement import Demand
from reconciler.models.plan import Change
from reconciler.providers.base import (
    ApplyResult,
    ObservationPrint,
    Provider,
    ProviderContext,
    RenderedArtifacts,
)
from reconciler.providers.errors import ProviderError
from reconciler.providers.sim import apply, observe
from reconciler.providers.sim.errors import map_error
from reconciler.providers.sim.fields import SIM_DIFF_RULES, sim_demand, sim_desired_fields
from reconciler.providers.sim.settings import SimSettings, load_settings


class SimProvider(Provider):
    """Simulated nodes and machines kept in the lab's database."""

    type: ClassVar[str] = "sim"
    unset_size: ClassVar[tuple[float, float]] = (1.0, 1.0)  # see demand()
    diff_rules: ClassVar[DiffRules] = SIM_DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self._settings: SimSettings | None = None

    @property
    def settings(self) -> SimSettings:
        """Options from homeport.yaml, checked on first use."""
        if self._settings is None:
            self._settings = load_settings(self.ctx.config, self.name)
        return self._settings

    def observe(self) -> Inventory:
        """All machines and nodes, read in one query."""
        try:
            return observe.observe(self.ctx.state, self.settings, provider=self.name, now=self.ctx.clock())
        except ProviderError:
            raise
        except Exception as exc:
            raise map_error(exc, "observe") from exc

    def observation_print(self) -> ObservationPrint:
        """Fingerprints straight from the stored machine records (one query, nothing parsed)."""
        try:
            prints = observe.machine_prints(self.ctx.state)
        except ProviderError:
            raise
        except Exception as exc:
            raise map_error(exc, "observe") from exc
        return prints if prints is not None else super().observation_print()

    def find(self, name: str) -> ObservedResource | None:
        """One machine, read by key."""
        return observe.find(self.ctx.state, provider=self.name, lab=self.ctx.lab, name=name)

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """See fields.sim_desired_fields."""
        return sim_desired_fields(resource)

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """See fields.sim_demand."""
        return sim_demand(resource, fields)

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """See apply.apply_change."""
        try:
            return apply.apply_change(self.ctx.state, self.settings, change, lab=self.ctx.lab)
        except ProviderError:
            raise
        except Exception as exc:
            raise map_error(exc, f"{change.op.value} {change.resource}") from exc


PROVIDER_CLASS = SimProvider

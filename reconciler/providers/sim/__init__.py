"""The built-in simulated provider: nodes with capacity and resources persisted in the lab's database."""

from reconciler.providers.sim.provider import PROVIDER_CLASS, SimProvider

__all__ = ["PROVIDER_CLASS", "SimProvider"]

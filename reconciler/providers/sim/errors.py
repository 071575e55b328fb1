"""The sim provider's errors: its simulated faults and damaged records, mapped to the provider error tree."""

from __future__ import annotations

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

FAULT_DELAY = 1.0


def map_error(exc: Exception, what: str) -> ProviderError:
    """A sim failure as the reconciler's error: a record that is not the shape the sim writes (edited by hand,
    or by an older homeport) is permanent; anything else is worth a retry."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
        return PermanentProviderError(f"sim: {what}: damaged machine record ({type(exc).__name__}: {exc})")
    return TransientProviderError(f"sim: {what}: {exc}", delay=FAULT_DELAY)


def simulated_fault(kind: str, resource: str) -> ProviderError:
    """The error a configured fault (options.faults) raises for resource."""
    if kind == "transient":
        return TransientProviderError(f"sim: simulated transient failure for {resource}", delay=FAULT_DELAY)
    return PermanentProviderError(f"sim: simulated permanent failure for {resource}")

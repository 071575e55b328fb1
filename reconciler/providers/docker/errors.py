"""Docker SDK and transport errors mapped to the provider error tree, at the edge."""

from __future__ import annotations

import docker.errors

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

RETRY_DELAY = 10.0


def map_error(exc: Exception, what: str) -> ProviderError:
    """A Docker SDK or transport error as a transient (5xx, 408, 429, unreachable) or permanent provider error;
    `what` says where and what was being done ("engine nas (ssh://admin@nas.lan): list containers")."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, docker.errors.APIError):
        message = str(exc.explanation or exc)
        status = exc.status_code or 0
        if status >= 500 or status in (408, 429):
            return TransientProviderError(f"{what}: {message}", delay=RETRY_DELAY)
        return PermanentProviderError(f"{what}: {message}")
    if isinstance(exc, docker.errors.TLSParameterError):
        return PermanentProviderError(f"{what}: TLS settings: {exc}")
    # Connection refused, socket gone, ssh failures, timeouts: the engine may come back.
    return TransientProviderError(f"{what}: cannot reach the engine: {exc}", delay=RETRY_DELAY)

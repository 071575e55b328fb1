"""Azure SDK errors mapped to homeport's error tree at the edge; secrets never reach a message.

Throttling (429) and server errors (5xx) are transient, with ARM's Retry-After honoured as the
delay; so are long-running operations that end in a retryable error code. Everything else
(bad request, conflict, no permission, missing resource group) is permanent.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

T = TypeVar("T")

# Error codes ARM and the resource providers use for conditions a later attempt gets past.
TRANSIENT_CODES = frozenset(
    {
        "TooManyRequests",
        "RetryableError",
        "InternalServerError",
        "InternalExecutionError",
        "InternalOperationError",
        "ServerBusy",
        "ServiceUnavailable",
        "GatewayTimeout",
        "OperationPreempted",
        "AnotherOperationInProgress",
        "RetryableErrorDueToAnotherOperation",
        "ZonalAllocationFailed",
        "AllocationFailed",
        "OverconstrainedAllocationRequest",
    }
)
DEFAULT_DELAY = 10.0
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")
_SECRET_PARAM = re.compile(r"(?i)(client_secret|password|sig|token)=([^&\s]+)")


def scrub(message: str) -> str:
    """A message with bearer tokens and secret-looking query parameters removed."""
    return _SECRET_PARAM.sub(r"\1=[redacted]", _BEARER.sub("Bearer [redacted]", message))


def retry_after(exc: HttpResponseError) -> float | None:
    """Seconds from a Retry-After (or x-ms-retry-after-ms) header, when the answer carries one."""
    response = exc.response
    if response is None:
        return None
    headers: Any = getattr(response, "headers", {})
    millis = headers.get("x-ms-retry-after-ms") or headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            return None
    value = headers.get("Retry-After")
    if value:
        try:
            return float(value)
        except ValueError:
            return None
    return None


def error_code(exc: HttpResponseError) -> str:
    """ARM's error code ('TooManyRequests', 'OperationNotAllowed', ...) or the HTTP reason."""
    code = getattr(exc.error, "code", None) if exc.error is not None else None
    return str(code or exc.reason or "Error")


def _message(exc: HttpResponseError) -> str:
    text = getattr(exc.error, "message", None) if exc.error is not None else None
    return scrub(str(text or exc.message or exc).splitlines()[0])


def map_error(exc: Exception, action: str) -> ProviderError:
    """The homeport error for an Azure SDK failure during `action`."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        return PermanentProviderError(
            f"azure {action}: authentication failed ({scrub(str(exc).splitlines()[0])}); check the service "
            "principal's environment variables or run `az login` for azure-identity's default chain"
        )
    if isinstance(exc, HttpResponseError):
        status = int(exc.status_code or 0)
        code = error_code(exc)
        text = f"azure {action}: {code}: {_message(exc)}"
        if status == 429 or status >= 500 or code in TRANSIENT_CODES:
            delay = retry_after(exc)
            return TransientProviderError(text, delay=DEFAULT_DELAY if delay is None else max(delay, 0.0))
        if status == 403:
            return PermanentProviderError(f"{text} (the identity lacks a role assignment on this scope)")
        return PermanentProviderError(text)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientProviderError(f"azure {action}: cannot reach Azure Resource Manager: {scrub(str(exc))}",
                                      delay=15.0)
    if isinstance(exc, AzureError):
        return PermanentProviderError(f"azure {action}: {scrub(str(exc))}")
    raise exc


def azure_call(action: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one Azure SDK call, mapping vendor errors into Transient/PermanentProviderError."""
    try:
        return fn(*args, **kwargs)
    except AzureError as exc:
        raise map_error(exc, action) from exc

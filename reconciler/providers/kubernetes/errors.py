"""Kubernetes client errors mapped to the provider error tree at the edge, with the API's own message."""

from __future__ import annotations

import json
from typing import Any

import urllib3.exceptions
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

RETRY_DELAY = 5.0
# 409 Conflict on a write, 429 throttling, 5xx server trouble: worth another try. 409 from a
# server-side apply is a field-ownership conflict (FieldConflictError), decided by the provider.
TRANSIENT_STATUSES = {409, 429, 500, 502, 503, 504}


class FieldConflictError(PermanentProviderError):
    """Server-side apply refused: fields homeport sets are owned by another field manager."""

    def __init__(self, message: str, conflicts: list[str]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


class NotFoundError(PermanentProviderError):
    """The object or the API path does not exist (404)."""


def status_body(body: str | bytes | None) -> dict[str, Any]:
    """The Kubernetes Status object in an error body, or {} when the body is not one."""
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def api_error(exc: ApiException, what: str) -> ProviderError:
    """The provider error for an API answer, carrying the server's message (never request bodies)."""
    status = exc.status or 0
    body = status_body(exc.body)
    message = str(body.get("message") or exc.reason or "no message").strip()
    text = f"{what}: HTTP {status} {body.get('reason') or exc.reason or ''}: {message}".replace("  ", " ")
    if status == 0:
        return TransientProviderError(f"{what}: {exc.reason}", delay=RETRY_DELAY)
    if status == 404:
        return NotFoundError(text)
    if status == 403 and "exceeded quota" in message:
        return PermanentProviderError(text + " (the namespace's ResourceQuota: raise it or free room)")
    if status in (401, 403):
        return PermanentProviderError(text + " (check the kubeconfig user or token and its RBAC rights)")
    if status in TRANSIENT_STATUSES:
        retry_after = (exc.headers or {}).get("Retry-After") if exc.headers else None
        delay = float(retry_after) if retry_after and str(retry_after).isdigit() else RETRY_DELAY
        return TransientProviderError(text, delay=delay)
    return PermanentProviderError(text)


def connection_error(exc: Exception, what: str) -> TransientProviderError:
    """A network-level failure (refused, reset, timed out, TLS) as a retryable error."""
    message = f"{what}: cannot reach the API server: {type(exc).__name__}: {exc}"
    return TransientProviderError(message, delay=RETRY_DELAY)


def config_error(exc: Exception, source: str) -> PermanentProviderError:
    """A kubeconfig or in-cluster configuration that cannot be loaded."""
    return PermanentProviderError(f"kubernetes: cannot load {source}: {exc}")


NETWORK_ERRORS: tuple[type[Exception], ...] = (urllib3.exceptions.HTTPError, OSError)
CONFIG_ERRORS: tuple[type[Exception], ...] = (ConfigException,)
API_ERRORS: tuple[type[Exception], ...] = (ApiException,)


def map_error(exc: Exception, what: str) -> ProviderError:
    """Any client error met doing `what` as a provider error: the one name every provider package maps with."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ApiException):
        return api_error(exc, what)
    if isinstance(exc, ConfigException):
        return config_error(exc, what)
    if isinstance(exc, NETWORK_ERRORS):
        return connection_error(exc, what)
    return PermanentProviderError(f"{what}: {type(exc).__name__}: {exc}")

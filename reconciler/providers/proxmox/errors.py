"""PVE API and transport errors mapped to the provider error tree, with PVE's own message, secrets scrubbed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import requests
from proxmoxer.core import AuthenticationError, ResourceException

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

LOCK_DELAY = 10.0

# PVE answers 500 for these, but retrying will not help.
_PERMANENT_500 = re.compile(
    r"already exists|does not exist|not supported|no such|protection mode|only root|"
    r"not allowed|invalid|unable to parse|you can't|can't convert|can't clone|parameter verification",
    re.IGNORECASE,
)
# A guest's config is locked by a task (backup, clone, migrate, another config change).
LOCKED = re.compile(r"can't lock file|VM is locked|CT is locked|is locked \(|got timeout", re.IGNORECASE)


def map_error(
    exc: Exception, what: str, *, host: str, scrub: Callable[[str], str] = lambda text: text
) -> ProviderError:
    """A proxmoxer, requests or transport error raised doing `what` ("GET /cluster/resources") against host."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, ResourceException):
        return map_api_error(exc.status_code, scrub(str(exc.content)), exc.errors, what, scrub)
    if isinstance(exc, AuthenticationError):
        return PermanentProviderError(
            f"proxmox {what}: authentication failed; check the user and password in homeport.yaml's credentials"
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentProviderError(
            f"proxmox {what}: TLS verification of {host} failed; "
            "set ca_file to the PVE CA certificate (pve-root-ca.pem)"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientProviderError(f"proxmox {what}: no answer from {host} in time", 15.0)
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionError):
        return TransientProviderError(f"proxmox {what}: cannot reach {host}", 15.0)
    return PermanentProviderError(f"proxmox {what}: {scrub(type(exc).__name__ + ': ' + str(exc))}")


def map_api_error(status: int, message: str, errors: Any, where: str, scrub: Any = lambda text: text) -> ProviderError:
    """A PVE HTTP error as a homeport error, with PVE's own message (and per-field errors)."""
    detail = message.strip() or "no message"
    if errors:
        fields = errors if isinstance(errors, dict) else {"": errors}
        detail += " (" + "; ".join(f"{k}: {str(v).strip()}" if k else str(v).strip() for k, v in fields.items()) + ")"
    detail = scrub(detail)
    text = f"proxmox {where}: {status} {detail}"
    if status == 401:
        return PermanentProviderError(text + "; check the API token id and secret")
    if status == 403:
        return PermanentProviderError(text + "; grant the token this privilege (pveum acl modify)")
    if status == 501:
        return PermanentProviderError(text + "; this PVE version does not offer it")
    if LOCKED.search(detail):
        return TransientProviderError(text, LOCK_DELAY)
    if status >= 500 and not _PERMANENT_500.search(detail):
        return TransientProviderError(text, 10.0)
    return PermanentProviderError(text)

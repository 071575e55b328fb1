"""PVE API and transport errors mapped to the provider error tree, with PVE's own message, secrets scrubbed."""

from __future__ import annotations

import http.client
import re
import ssl
from collections.abc import Callable
from typing import Any

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


class PveApiError(Exception):
    """PVE answered with an HTTP error: its status, its message (PVE sends it as the reason phrase) and the
    per-field errors of its JSON body."""

    def __init__(self, status: int, reason: str, errors: Any = None) -> None:
        super().__init__(f"{status} {reason}")
        self.status, self.reason, self.errors = status, reason, errors


class PveAuthError(Exception):
    """The ticket login was refused."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(f"login refused ({status})")
        self.status, self.detail = status, detail


def map_error(
    exc: Exception, what: str, *, host: str, scrub: Callable[[str], str] = lambda text: text
) -> ProviderError:
    """An API or transport error raised doing `what` ("GET /cluster/resources") against host."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, PveApiError):
        return map_api_error(exc.status, scrub(exc.reason), exc.errors, what, scrub)
    if isinstance(exc, PveAuthError):
        return PermanentProviderError(
            f"proxmox {what}: authentication failed"
            + (f": {exc.detail}" if exc.detail else "; check the user and password in homeport.yaml's credentials")
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentProviderError(
            f"proxmox {what}: TLS verification of {host} failed ({exc.verify_message}); "
            "set ca_file to the PVE CA certificate (pve-root-ca.pem)"
        )
    if isinstance(exc, ssl.SSLError):
        return PermanentProviderError(f"proxmox {what}: TLS with {host} failed: {exc.reason or exc}")
    if isinstance(exc, TimeoutError):
        return TransientProviderError(f"proxmox {what}: no answer from {host} in time", 15.0)
    if isinstance(exc, OSError | http.client.HTTPException):
        return TransientProviderError(f"proxmox {what}: cannot reach {host} ({type(exc).__name__})", 15.0)
    if isinstance(exc, ValueError):
        return PermanentProviderError(f"proxmox {what}: {host} answered something that is not PVE's JSON")
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

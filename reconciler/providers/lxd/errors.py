"""LXD errors -> TransientProviderError / PermanentProviderError, at the edge (`raise ... from exc`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from pylxd import exceptions as lxd_exc

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

RETRY_DELAY = 10.0
TLS_TEXTS = ("SSLError", "CERTIFICATE_VERIFY_FAILED", "Fingerprints did not match", "certificate")

# Texts of LXD refusals that a later attempt can get past (a busy instance, a locked storage volume).
TRANSIENT_TEXTS = ("already running", "is busy", "locked", "try again", "timeout", "is being", "in progress")


def classify(what: str, status: int | None, text: str) -> ProviderError:
    """The provider error for an LXD answer: 5xx, 409 and busy texts are transient, the rest permanent."""
    message = f"lxd: {what}: {text}".rstrip(": ")
    low = text.lower()
    if "not supported on this server" in low:
        return PermanentProviderError(
            f"{message} (this LXD host cannot run that instance type; virtual machines need KVM and vhost_vsock)"
        )
    if status is not None and (status >= 500 or status in (409, 423, 429)):
        return TransientProviderError(message, RETRY_DELAY)
    if any(t in low for t in TRANSIENT_TEXTS):
        return TransientProviderError(message, RETRY_DELAY)
    if status == 403:
        return PermanentProviderError(f"{message} (the client certificate is not trusted for this project)")
    return PermanentProviderError(message)


def map_error(what: str, exc: Exception) -> ProviderError:
    """One vendor exception as a provider error."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, lxd_exc.LXDAPIException):
        status = getattr(exc.response, "status_code", None)
        return classify(what, None if status == 200 else status, str(exc))
    if isinstance(exc, lxd_exc.ClientConnectionFailed) and any(s in str(exc) for s in TLS_TEXTS):
        return PermanentProviderError(
            f"lxd: {what}: TLS failed ({exc}); ca_file must be the server's certificate (or its CA)"
        )
    if isinstance(exc, lxd_exc.ClientConnectionFailed):
        return TransientProviderError(f"lxd: {what}: cannot reach the LXD daemon: {exc}", RETRY_DELAY)
    if isinstance(exc, requests.exceptions.SSLError):
        return PermanentProviderError(f"lxd: {what}: TLS failed ({exc}); check ca_file and the client certificate")
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientProviderError(f"lxd: {what}: no answer in time", RETRY_DELAY)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return TransientProviderError(f"lxd: {what}: connection failed: {exc}", RETRY_DELAY)
    if isinstance(exc, requests.exceptions.RequestException | lxd_exc.LXDAPIExtensionNotAvailable):
        return PermanentProviderError(f"lxd: {what}: {exc}")
    return PermanentProviderError(f"lxd: {what}: unexpected {type(exc).__name__}: {exc}")


@contextmanager
def lxd_errors(what: str) -> Iterator[None]:
    """Translate pylxd/requests failures inside the block into provider errors naming `what`."""
    try:
        yield
    except ProviderError:
        raise
    except (lxd_exc.LXDAPIException, lxd_exc.ClientConnectionFailed, lxd_exc.LXDAPIExtensionNotAvailable) as exc:
        raise map_error(what, exc) from exc
    except requests.exceptions.RequestException as exc:
        raise map_error(what, exc) from exc

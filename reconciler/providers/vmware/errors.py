"""vSphere faults and transport errors mapped to homeport's error tree, at the edge."""

from __future__ import annotations

import http.client
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pyVmomi import vim, vmodl

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError

# Faults that a later attempt can get past: the object is busy, the host is briefly away,
# the server is overloaded or the session expired. Everything else is permanent.
TRANSIENT_FAULTS: tuple[type[BaseException], ...] = (
    vim.fault.TaskInProgress,
    vim.fault.Timedout,
    vim.fault.ConcurrentAccess,
    vim.fault.ResourceInUse,
    vim.fault.NotAuthenticated,
    vmodl.fault.HostCommunication,
    vmodl.fault.RequestCanceled,
    vmodl.fault.SystemError,
)

TRANSIENT_DELAY = 15.0

# What pyVmomi and the transport under it raise; our own bugs are not in here and propagate.
VENDOR_ERRORS: tuple[type[BaseException], ...] = (vmodl.MethodFault, OSError, http.client.HTTPException)


def fault_text(fault: BaseException) -> str:
    """A short, secret-free description of a vSphere fault: its type and message."""
    name = type(fault).__name__.rsplit(".", 1)[-1]
    message = getattr(fault, "msg", None) or ""
    if not message:
        messages = [m.message for m in getattr(fault, "faultMessage", []) or [] if getattr(m, "message", None)]
        message = "; ".join(messages)
    return f"{name}: {message}" if message else name


def map_error(exc: BaseException, action: str) -> ProviderError:
    """The homeport error for a vendor error raised while doing `action`."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, vim.fault.InvalidLogin):
        return PermanentProviderError(
            f"{action}: vSphere refused the login; check the user name and the password the "
            "provider's credentials point to"
        )
    if isinstance(exc, TRANSIENT_FAULTS):
        return TransientProviderError(f"{action}: {fault_text(exc)}", delay=TRANSIENT_DELAY)
    if isinstance(exc, vim.fault.NoPermission):
        return PermanentProviderError(f"{action}: the vSphere user lacks a privilege ({fault_text(exc)})")
    if isinstance(exc, vmodl.MethodFault):
        return PermanentProviderError(f"{action}: {fault_text(exc)}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return PermanentProviderError(
            f"{action}: the server's TLS certificate is not trusted ({exc.verify_message}); set the "
            "provider's ca_file to the CA that signed it, or verify_tls: false to skip the check"
        )
    if isinstance(exc, VENDOR_ERRORS):
        return TransientProviderError(f"{action}: cannot reach vSphere ({type(exc).__name__}: {exc})")
    return PermanentProviderError(f"{action}: unexpected {type(exc).__name__}: {exc}")


@contextmanager
def vsphere_errors(action: str) -> Iterator[None]:
    """Raise vendor errors inside the block as TransientProviderError or PermanentProviderError."""
    try:
        yield
    except VENDOR_ERRORS as exc:
        raise map_error(exc, action) from exc

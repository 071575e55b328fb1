# mypy: disable-error-code="no-untyped-call"
"""One authenticated pyVmomi session, with certificate checking on and every round trip counted."""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass, field
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware.errors import vsphere_errors
from reconciler.providers.vmware.settings import VmwareSettings


@dataclass
class CallCounter:
    """Counts SOAP round trips (method calls and property reads) made through a session."""

    calls: int = 0
    by_method: dict[str, int] = field(default_factory=dict)

    def record(self, name: str) -> None:
        """Count one round trip to `name`."""
        self.calls += 1
        self.by_method[name] = self.by_method.get(name, 0) + 1


def tls_context(settings: VmwareSettings) -> ssl.SSLContext:
    """The TLS context for the session: verifying against ca_file or the system store, unless turned off."""
    if not settings.verify_tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    # Always an explicit context: pyVmomi silently skips verification for localhost without one.
    return ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file else ssl.create_default_context()


def _count_calls(stub: Any, counter: CallCounter) -> None:
    invoke_method = stub.InvokeMethod
    invoke_accessor = stub.InvokeAccessor

    def counted_method(mo: Any, info: Any, args: Any, *rest: Any) -> Any:
        counter.record(info.wsdlName)
        return invoke_method(mo, info, args, *rest)

    def counted_accessor(mo: Any, info: Any) -> Any:
        counter.record(f"get:{info.name}")
        return invoke_accessor(mo, info)

    stub.InvokeMethod = counted_method
    stub.InvokeAccessor = counted_accessor


class Connection:
    """A logged-in session: the service instance, its content, and the round-trip counter."""

    def __init__(self, settings: VmwareSettings) -> None:
        self.settings = settings
        self.counter = CallCounter()
        # Session-scoped observe state: the container view and VM device lists by change marker.
        self.inventory_view: Any = None
        self.device_cache: dict[str, tuple[str, list[Any]]] = {}
        self.observe_cycles = 0
        try:
            context = tls_context(settings)
        except (OSError, ssl.SSLError) as exc:
            raise PermanentProviderError(
                f"cannot load the vmware ca_file {settings.ca_file}: {exc}; point ca_file to a PEM file"
            ) from exc
        with vsphere_errors(f"connect to vSphere at {settings.host}:{settings.port}"):
            self.si: vim.ServiceInstance = SmartConnect(
                host=settings.host,
                port=settings.port,
                path=settings.path,
                user=settings.username,
                pwd=settings.password,
                sslContext=context,
                disableSslCertValidation=not settings.verify_tls,
                httpConnectionTimeout=settings.connect_timeout,
            )
        _count_calls(self.si._stub, self.counter)
        with vsphere_errors("read the vSphere service content"):
            self.content: Any = self.si.RetrieveContent()

    @property
    def is_vcenter(self) -> bool:
        """True for vCenter (custom attributes exist), False for a standalone ESXi host."""
        return bool(self.content.about.apiType == "VirtualCenter")

    def close(self) -> None:
        """Log out; errors while logging out are ignored (the session expires anyway)."""
        with contextlib.suppress(Exception):
            Disconnect(self.si)

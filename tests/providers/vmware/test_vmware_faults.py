"""Vendor errors are mapped at the edge: transient vs permanent, and none left unmapped."""

from __future__ import annotations

import http.client
import ssl

import pytest
from pyVmomi import VmomiSupport, vim, vmodl

from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError
from reconciler.providers.vmware.faults import map_error, vsphere_errors


@pytest.mark.parametrize(
    "fault",
    [
        vim.fault.TaskInProgress(msg="busy"),
        vim.fault.NotAuthenticated(),
        vmodl.fault.HostCommunication(),
        vim.fault.ConcurrentAccess(),
        ConnectionRefusedError(111, "refused"),
        TimeoutError("timed out"),
        http.client.RemoteDisconnected("closed"),
    ],
)
def test_transient_errors(fault: BaseException) -> None:
    assert isinstance(map_error(fault, "do it"), TransientProviderError)


@pytest.mark.parametrize(
    "fault",
    [
        vim.fault.InvalidLogin(),
        vim.fault.NoPermission(privilegeId="VirtualMachine.Inventory.Create"),
        vim.fault.DuplicateName(name="x"),
        vim.fault.InvalidPowerState(),
        vmodl.fault.InvalidArgument(invalidProperty="spec"),
        vim.fault.InsufficientResourcesFault(),
    ],
)
def test_permanent_errors(fault: BaseException) -> None:
    assert isinstance(map_error(fault, "do it"), PermanentProviderError)


def test_every_vsphere_fault_class_maps_to_our_tree() -> None:
    # pyVmomi loads types lazily: enumerate its type table, not the module attributes.
    names = [n for n in VmomiSupport._dataDefMap if n.startswith(("vim.fault.", "vmodl.fault."))]
    classes = [c for c in map(VmomiSupport.GetVmodlType, names) if issubclass(c, vmodl.MethodFault)]
    assert len(classes) > 300
    for cls in classes:
        with pytest.raises(ProviderError), vsphere_errors("probe"):
            raise cls()


def test_certificate_errors_name_the_fix() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    mapped = map_error(error, "connect")
    assert isinstance(mapped, PermanentProviderError)
    assert "ca_file" in str(mapped) and "verify_tls" in str(mapped)


def test_our_own_bugs_are_not_disguised_as_provider_errors() -> None:
    with pytest.raises(KeyError), vsphere_errors("probe"):
        raise KeyError("a bug in homeport")


def test_fault_messages_are_kept() -> None:
    mapped = map_error(vim.fault.TaskInProgress(msg="VM is busy"), "power on web")
    assert str(mapped) == "power on web: TaskInProgress: VM is busy"

"""Vendor errors are mapped at the edge: transient vs permanent, and none left unmapped."""

from __future__ import annotations

import http.client
import ssl
import time
from pathlib import Path

import pytest
from pyVmomi import VmomiSupport, vim, vmodl

from reconciler.models.plan import Op
from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError
from reconciler.providers.vmware.errors import map_error, vsphere_errors
from reconciler.providers.vmware.tasks import wait_for_task
from tests.backends.vcsim import run_vcsim
from tests.providers.vmware.conftest import make_provider
from tests.providers.vmware.resources import change, resource


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


def test_a_failed_task_is_permanent_with_the_fault_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with run_vcsim(tmp_path / "vcsim") as server:
        provider = make_provider(server, tmp_path, monkeypatch)
        try:
            conn = provider.connection
            vm = next(v for v in provider.observe().resources if v.name == "DC0_H0_VM0")
            task = vim.VirtualMachine(vm.id, conn.si._stub).PowerOnVM_Task()  # it is on already
            with pytest.raises(PermanentProviderError, match="power on twice: InvalidPowerState"):
                wait_for_task(conn, task, 30, "power on twice")
        finally:
            provider.close()


def test_a_call_outlasting_the_timeout_is_transient_and_the_next_run_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with run_vcsim(tmp_path / "vcsim", method_delay={"ReconfigVM_Task": 3000}) as server:
        options = {"connect_timeout": 1}
        provider = make_provider(server, tmp_path, monkeypatch, options=options)
        try:
            res = resource("web", cpu=1)
            provider.apply(change(provider, res), res, None)  # no reconfigure needed: not delayed
            bigger = resource("web", cpu=2)
            with pytest.raises(TransientProviderError, match="cannot reach vSphere"):
                provider.apply(change(provider, bigger, Op.update), bigger, None)
            # The server finishes the reconfigure after the client gave up; the VM was left off.
            deadline = time.monotonic() + 30
            while provider.observe().owned("home")["web"].fields["num_cpus"] != 2:
                assert time.monotonic() < deadline, "vcsim never finished the delayed reconfigure"
                time.sleep(0.5)
            assert provider.observe().owned("home")["web"].fields["power_state"] == "off"
            result = provider.apply(change(provider, bigger, Op.update), bigger, None)
            assert result.outputs["actions"] == ["power_on"]
            assert provider.observe().owned("home")["web"].fields["power_state"] == "on"
        finally:
            provider.close()

"""Faults injected by fakepve: nothing duplicated, nothing lost, each error carries its cause and class."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from reconciler.models.plan import Op
from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError
from reconciler.providers.proxmox import ProxmoxProvider
from reconciler.providers.proxmox.apply import VMID_PREFIX
from tests.backends.pve import PveBackend
from tests.providers.proxmox.conftest import make_provider
from tests.providers.proxmox.resources import change, resource


def _vmids(pve: PveBackend, name: str) -> list[int]:
    return [vm.vmid for vm in pve.pve.vms if vm.name == name]


def test_500_on_create_is_transient_and_the_retry_reuses_the_recorded_vmid(
    provider: ProxmoxProvider, pve: PveBackend
) -> None:
    pve.pve.fail("POST", "/nodes/pve1/qemu", 500, "got signal (unexpected error) - abort", times=1)
    res = resource("web")
    with pytest.raises(TransientProviderError, match=r"POST /nodes/pve1/qemu: 500 got signal"):
        provider.apply(change(provider, res), res, None)
    recorded = provider.ctx.state.get(VMID_PREFIX + "web")
    assert recorded is not None and _vmids(pve, "web") == []
    result = provider.apply(change(provider, res), res, None)
    assert _vmids(pve, "web") == [recorded] and result.provider_id == str(recorded)


def test_failed_task_is_permanent_with_the_task_exit_status_and_resumes(
    provider: ProxmoxProvider, pve: PveBackend
) -> None:
    pve.pve.fail("POST", "/status/start", error="qemu_exited_code", times=1)
    res = resource("web")
    with pytest.raises(
        PermanentProviderError, match=r"start of web failed on pve1: QEMU exited with code 1 \(task UPID:"
    ):
        provider.apply(change(provider, res), res, None)
    assert len(_vmids(pve, "web")) == 1 and pve.guest("web").status == "stopped"
    result = provider.apply(change(provider, res), res, None)
    assert "already existed" in result.message and "started" in result.message
    assert len(_vmids(pve, "web")) == 1 and pve.guest("web").status == "running"


@pytest.mark.pve(time_scale=0.01)
def test_timeout_mid_task_is_transient_and_the_next_run_does_not_repeat_it(pve: PveBackend, tmp_path: Path) -> None:
    provider = make_provider(pve, tmp_path, task_timeout=0.3, task_poll=0.05)
    stopped = resource("web", overrides={"status": "stopped"})
    provider.apply(change(provider, stopped), stopped, None)
    vm = pve.guest("web")
    vm.start_secs = 200  # 2 s of wall time at time_scale 0.01
    running = resource("web")
    with pytest.raises(TransientProviderError, match=r"start of web still running on pve1 after 0.3s"):
        provider.apply(change(provider, running, Op.update, provider_id=str(vm.vmid)), running, None)
    starts = [t for t in pve.pve.tasklog if t["type"] == "qmstart"]
    assert len(starts) == 1
    deadline = time.monotonic() + 30
    while starts[0]["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert vm.status == "running", "the fake's start task did not finish"
    result = provider.apply(change(provider, running, Op.update, provider_id=str(vm.vmid)), running, None)
    assert "already matches" in result.message
    assert len([t for t in pve.pve.tasklog if t["type"] == "qmstart"]) == 1


def test_guest_locked_by_a_backup_is_transient(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vm = pve.guest("web")
    pve.pve.snapshot_lock(vm.vmid, "backup")
    bigger = resource("web", cpu=4)
    with pytest.raises(TransientProviderError, match=r"web \(vmid \d+\) is locked \(backup\)"):
        provider.apply(change(provider, bigger, Op.update, provider_id=str(vm.vmid)), bigger, None)
    pve.pve.unlock(vm.vmid)
    provider.apply(change(provider, bigger, Op.update, provider_id=str(vm.vmid)), bigger, None)
    assert str(pve.guest("web").config["cores"]) == "4"


def test_config_lock_held_by_another_task_is_transient(provider: ProxmoxProvider, pve: PveBackend) -> None:
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    vm = pve.guest("web")
    pve.serving.call(pve.pve.hold_config_lock(vm.vmid, None))
    bigger = resource("web", cpu=4)
    with pytest.raises(TransientProviderError, match="can't lock file '/var/lock/qemu-server/lock-"):
        provider.apply(change(provider, bigger, Op.update, provider_id=str(vm.vmid)), bigger, None)
    pve.pve.release_config_lock(vm.vmid)
    provider.apply(change(provider, bigger, Op.update, provider_id=str(vm.vmid)), bigger, None)
    assert str(pve.guest("web").config["cores"]) == "4"


def test_bad_token_is_permanent_and_never_shows_the_secret(
    pve: PveBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-secret-" + pve.token_secret[:6]
    monkeypatch.setenv("HOMEPORT_TEST_PVE_TOKEN_SECRET", wrong)
    provider = make_provider(pve, tmp_path)
    with pytest.raises(PermanentProviderError) as caught:
        provider.observe()
    assert "401" in str(caught.value) and "check the API token" in str(caught.value)
    assert wrong not in str(caught.value) and pve.token_secret not in str(caught.value)


def test_unreachable_is_transient_and_untrusted_tls_is_permanent(pve: PveBackend, tmp_path: Path) -> None:
    provider = make_provider(pve, tmp_path)
    provider.ctx.config.endpoint = "https://127.0.0.1:1"
    with pytest.raises(TransientProviderError, match=r"cannot reach 127\.0\.0\.1:1"):
        provider.observe()
    untrusting = make_provider(pve, tmp_path)
    untrusting.ctx.config.ca_file = None
    untrusted = r"TLS verification of .* failed \(self-signed certificate\); set ca_file"
    with pytest.raises(PermanentProviderError, match=untrusted):
        untrusting.observe()


def test_parameter_error_is_permanent_with_pve_field_errors(provider: ProxmoxProvider) -> None:
    res = resource("web", overrides={"ostype": "windows95"})
    with pytest.raises(PermanentProviderError, match=r"400 Parameter verification failed\. \(ostype: "):
        provider.apply(change(provider, res), res, None)


def test_ticket_login_works_and_a_wrong_password_is_permanent_without_the_password(
    pve: PveBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMEPORT_TEST_PVE_USER", "root@pam")
    monkeypatch.setenv("HOMEPORT_TEST_PVE_PASSWORD", pve.root_password)
    provider = make_provider(pve, tmp_path)
    provider.ctx.config.credentials = provider.ctx.config.credentials.model_validate(
        {"username_env": "HOMEPORT_TEST_PVE_USER", "password_env": "HOMEPORT_TEST_PVE_PASSWORD"}
    )
    assert provider.client.user == "root@pam" and not provider.client.is_token
    res = resource("web")
    provider.apply(change(provider, res), res, None)
    assert "web" in provider.observe().owned("home")
    wrong = "wrong-" + pve.root_password[:5]
    monkeypatch.setenv("HOMEPORT_TEST_PVE_PASSWORD", wrong)
    refused = make_provider(pve, tmp_path)
    refused.ctx.config.credentials = provider.ctx.config.credentials
    with pytest.raises(PermanentProviderError, match="authentication failed") as caught:
        refused.observe()
    assert wrong not in str(caught.value) and pve.root_password not in str(caught.value)


def test_secrets_stay_out_of_debug_logs(
    provider: ProxmoxProvider, pve: PveBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    res = resource("web", network={"ipv4": "10.0.0.5/24"})
    provider.apply(change(provider, res), res, None)
    provider.observe()
    assert caplog.records, "nothing was logged at all"
    assert pve.token_secret not in caplog.text
    assert "ipconfig0" not in caplog.text  # request bodies are not logged


def test_no_vendor_error_escapes_the_client(provider: ProxmoxProvider) -> None:
    """Whatever PVE answers, the caller sees homeport's error tree, never proxmoxer's or requests'."""
    for call in (
        lambda: provider.client.get("nodes/pve1/qemu/99999/config"),
        lambda: provider.client.get("nodes/pve1/qemu/99999/status/current"),
        lambda: provider.client.post("nodes/pve1/qemu", vmid="not-a-number"),
    ):
        with pytest.raises(ProviderError) as caught:
            call()
        assert type(caught.value) in (PermanentProviderError, TransientProviderError)
        assert str(caught.value).startswith("proxmox ")


def test_vmid_taken_between_nextid_and_create_is_asked_for_again(provider: ProxmoxProvider, pve: PveBackend) -> None:
    pve.pve.fail(
        "POST", "/nodes/pve1/qemu", 500, "unable to create VM 100 - VM 100 already exists on node 'pve2'", times=1
    )
    start = len(pve.pve.requests)
    res = resource("web")
    result = provider.apply(change(provider, res), res, None)
    sent = pve.requests_since(start)
    assert sent.count(("GET", "/api2/json/cluster/nextid")) == 2
    assert sent.count(("POST", "/api2/json/nodes/pve1/qemu")) == 2
    assert [vm.vmid for vm in pve.pve.vms if vm.name == "web"] == [int(result.provider_id or 0)]

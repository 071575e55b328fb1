"""Errors mapped at the edge (real SDK errors from the ARM test server and a closed port) and settings."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.models.lab import Credentials, ProviderConfig
from reconciler.models.plan import Change, Op
from reconciler.providers.azure.clients import AzureClients
from reconciler.providers.azure.errors import azure_call
from reconciler.providers.azure.settings import load_settings
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from tests.backends.arm import RESOURCE_GROUP, SUBSCRIPTION, ArmServer
from tests.providers.azure.conftest import make_provider, make_resource, provider_config


def _compute(server: ArmServer, tmp_path: Path) -> Any:
    return make_provider(server, tmp_path).clients.compute(SUBSCRIPTION)


def test_throttling_is_transient_with_retry_after(tmp_path: Path, arm_server: ArmServer) -> None:
    arm_server.throttle("GET", r"/virtualMachines/web$", retry_after=7)
    compute = _compute(arm_server, tmp_path)
    with pytest.raises(TransientProviderError, match="TooManyRequests") as caught:
        azure_call("read VM", compute.virtual_machines.get, RESOURCE_GROUP, "web")
    assert caught.value.delay == 7.0


def test_server_errors_are_transient_and_client_errors_permanent(tmp_path: Path, arm_server: ArmServer) -> None:
    arm_server.fail_next("GET", r"/virtualMachines/web$", 503, "ServiceUnavailable")
    compute = _compute(arm_server, tmp_path)
    with pytest.raises(TransientProviderError, match="ServiceUnavailable"):
        azure_call("read VM", compute.virtual_machines.get, RESOURCE_GROUP, "web")
    with pytest.raises(PermanentProviderError, match="ResourceNotFound"):
        azure_call("read VM", compute.virtual_machines.get, RESOURCE_GROUP, "web")


def test_a_wrong_field_name_is_refused_by_the_models(tmp_path: Path, arm_server: ArmServer) -> None:
    network = make_provider(arm_server, tmp_path).clients.network(SUBSCRIPTION)
    body = {"location": "eastus", "properties": {"securityRules": [{"name": "x", "properties": {
        "priority": 1000, "direction": "Inbound", "access": "Allow", "protocol": "Tcp",
        "destinationPortRanges": "80", "sourcePortRange": "*", "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "*"}}]}}
    with pytest.raises(PermanentProviderError, match=r"destinationPortRanges: expected a JSON array"):
        azure_call("put NSG", network.network_security_groups.begin_create_or_update, RESOURCE_GROUP, "x", body)
    body["properties"]["securityRules"][0]["properties"]["destinationPortRange"] = (
        body["properties"]["securityRules"][0]["properties"].pop("destinationPortRanges"))
    body["properties"]["provisioningState"] = "Succeeded"
    with pytest.raises(PermanentProviderError, match="provisioningState: is read-only"):
        azure_call("put NSG", network.network_security_groups.begin_create_or_update, RESOURCE_GROUP, "x", body)
    assert len(arm_server.state.schema_errors) == 2
    arm_server.state.schema_errors.clear()


def test_an_unreachable_endpoint_is_transient(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = ProviderConfig(type="azure", endpoint=f"http://127.0.0.1:{port}", region="eastus", options={
        "subscription_id": SUBSCRIPTION, "resource_group": RESOURCE_GROUP, "credential": "none", "retry_total": 0})
    clients = AzureClients(load_settings(config, "cloud"))
    with pytest.raises(TransientProviderError, match="cannot reach Azure Resource Manager"):
        azure_call("list VMs", lambda: list(clients.compute(SUBSCRIPTION).virtual_machines.list_all()))


def test_settings_errors_name_the_field(arm_server: ArmServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PermanentProviderError, match=r"providers.cloud: options.colour: Extra inputs"):
        load_settings(provider_config(arm_server, colour="blue"), "cloud")
    remote = ProviderConfig(type="azure", endpoint="http://management.example.com", options={})
    with pytest.raises(PermanentProviderError, match="must be https"):
        load_settings(remote, "cloud")
    no_token = ProviderConfig(type="azure", options={"credential": "none"})
    with pytest.raises(PermanentProviderError, match=r"allowed only for an endpoint on 127\.0\.0\.1"):
        load_settings(no_token, "cloud")
    with pytest.raises(PermanentProviderError, match="executor 'bicep' is unknown"):
        load_settings(ProviderConfig(type="azure", executor="bicep"), "cloud")
    sp = ProviderConfig(type="azure", credentials=Credentials(client_id_env="T_AZ_CLIENT", tenant_id_env="T_AZ_TENANT",
                                                              client_secret_env="T_AZ_SECRET"))
    monkeypatch.setenv("T_AZ_CLIENT", "client-id")
    monkeypatch.setenv("T_AZ_TENANT", "tenant-id")
    with pytest.raises(PermanentProviderError, match="T_AZ_SECRET is not set"):
        load_settings(sp, "cloud")
    monkeypatch.setenv("T_AZ_SECRET", "s3cr3t-value")
    settings = load_settings(sp, "cloud")
    assert settings.credential == "service-principal" and settings.client_secret == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(settings) and "client-id" not in repr(settings)
    assert load_settings(ProviderConfig(type="azure"), "cloud").credential == "default"


def test_a_subscription_from_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_AZ_SUB", SUBSCRIPTION)
    config = ProviderConfig(type="azure", region="eastus",
                            options={"subscription_id_env": "T_AZ_SUB", "resource_group": "homelab"})
    settings = load_settings(config, "cloud")
    assert (settings.subscription_id, settings.resource_group, settings.location) == (SUBSCRIPTION, "homelab",
                                                                                       "eastus")


def test_a_long_running_operation_past_its_deadline_is_transient_then_converges(tmp_path: Path) -> None:
    server = ArmServer(lro_polls=10**6, settle_seconds=1.0)
    try:
        provider = make_provider(server, tmp_path, lro_timeout=0.2, poll_seconds=0.05)
        resource = make_resource(server)
        change = Change(op=Op.create, resource="web", provider="cloud", provider_type="azure", reason="t",
                        desired=provider.desired_fields(resource))
        with pytest.raises(TransientProviderError, match=r"still running after 0\.2 s"):
            provider.apply(change, resource, None)
        time.sleep(1.2)  # the server settles the operation; the next attempt finds what was made
        again = make_provider(server, tmp_path, poll_seconds=0)
        message = again.apply(change, resource, None).message
        assert "created VM web" in message or "already existed" in message, message
        assert list(server.vms()) == ["web"]
    finally:
        server.stop()


def test_the_sdk_retries_a_throttled_call_after_retry_after(tmp_path: Path, arm_server: ArmServer) -> None:
    arm_server.throttle("GET", r"/providers/Microsoft.Compute/virtualMachines$", retry_after=1)
    provider = make_provider(arm_server, tmp_path, retry_total=2)
    started = time.monotonic()
    inventory = provider.observe()
    assert inventory.errors == [] and time.monotonic() - started >= 1.0, "waited the Retry-After second"
    listings = [c.status for c in arm_server.state.calls if c.path.endswith("/Microsoft.Compute/virtualMachines")]
    assert listings == [429, 200]
    assert inventory.api_calls == 2, "both attempts are counted"


def test_a_service_principal_secret_never_reaches_an_error(tmp_path: Path, arm_server: ArmServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sp-secret-Zq8~not-a-real-one"
    monkeypatch.setenv("T_AZ_CLIENT", "11111111-2222-3333-4444-555555555555")
    monkeypatch.setenv("T_AZ_TENANT", "66666666-7777-8888-9999-000000000000")
    monkeypatch.setenv("T_AZ_SECRET", secret)
    config = ProviderConfig(type="azure", endpoint=arm_server.base_url.replace("http://", "https://"),
                            region="eastus",
                            credentials=Credentials(client_id_env="T_AZ_CLIENT", tenant_id_env="T_AZ_TENANT",
                                                    client_secret_env="T_AZ_SECRET"),
                            options={"subscription_id": SUBSCRIPTION, "resource_group": RESOURCE_GROUP,
                                     "retry_total": 0})
    settings = load_settings(config, "cloud")
    assert settings.credential == "service-principal" and secret not in repr(settings)
    clients = AzureClients(settings)
    # No identity provider is reachable here: getting the token fails, and the message says what to check.
    with pytest.raises(PermanentProviderError) as caught:
        azure_call("list VMs", lambda: list(clients.compute(SUBSCRIPTION).virtual_machines.list_all()))
    assert "authentication failed" in str(caught.value) and secret not in str(caught.value)
    assert arm_server.state.calls == [], "no request reached ARM without a token"
    clients.close()

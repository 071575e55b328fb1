"""Azure provider fixtures: the ARM test server, a file-backed provider state, resources and providers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.resource import Deployment, Disk, NetworkSpec, Port, Requirements, ServiceSpec
from reconciler.providers.azure import AzureProvider
from reconciler.providers.base import ProviderContext
from tests.backends.arm import RESOURCE_GROUP, SUBSCRIPTION, ArmServer, arm_server
from tests.providers.aws.conftest import JsonFileState

__all__ = ["arm_server"]

LAB = "home"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHomeportTestKeyNotARealOne homeport-test"


def provider_config(server: ArmServer, executor: str | None = None, **options: Any) -> ProviderConfig:
    """An azure provider pointed at the ARM test server (no token: a loopback test endpoint)."""
    return ProviderConfig(
        type="azure",
        endpoint=server.base_url,
        region="eastus",
        executor=executor,
        options={"subscription_id": SUBSCRIPTION, "resource_group": RESOURCE_GROUP, "credential": "none",
                 "poll_seconds": 0, "retry_total": 0, "ssh_public_key": SSH_KEY, **options},
    )


def make_provider(server: ArmServer, tmp_path: Path, executor: str | None = None, **options: Any) -> AzureProvider:
    """A provider for lab 'home' against the test server, its state in tmp_path/state.json."""
    ctx = ProviderContext(lab=LAB, name="cloud", config=provider_config(server, executor, **options),
                          state=JsonFileState(tmp_path / "state.json"), work_dir=tmp_path)
    return AzureProvider(ctx)


def make_resource(server: ArmServer, name: str = "web", *, ports: list[int] | None = None,
                  disks: dict[str, int] | None = None, overrides: dict[str, Any] | None = None,
                  **requirements: Any) -> EffectiveResource:
    """An Azure VM resource in pool /cloud/azure whose subnet is the server's seeded one."""
    return EffectiveResource(
        name=name, lab=LAB, labels={"app": name}, resource_type="compute", workload_type="web-app",
        provider="cloud", provider_type="azure", pool="/cloud/azure", pool_name="azure",
        requirements=Requirements(**{"cpu": 2, "memory_gb": 4, **requirements},
                                  disks=[Disk(name=k, size=v) for k, v in (disks or {}).items()]),
        deployment=Deployment(), network=NetworkSpec(),
        service=ServiceSpec(ports=[Port(name=f"p{p}", port=p) for p in ports or []]),
        properties={"vnet_subnet_id": server.subnet_id}, overrides=overrides or {},
    )

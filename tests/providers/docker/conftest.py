"""Docker provider tests: two real dockerd engines (tests/backends/dockerd.py), homeport's store for state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.assets import asset_dir
from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.resource import (
    Deployment,
    HealthCheck,
    NetworkSpec,
    Requirements,
    ServiceSpec,
    SyncPolicy,
    Volume,
)
from reconciler.providers.base import ProviderContext, RenderedArtifacts
from reconciler.providers.docker import DockerProvider
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.backends.dockerd import (  # noqa: F401  (fixtures)
    TEST_IMAGE,
    DockerEngine,
    docker_engines,
    free_port,
    spare_engine,
)

LAB = "lab1"


def web_resource(
    name: str,
    port: int,
    *,
    node: str | None = "node1",
    env: dict[str, str] | None = None,
    image: str = TEST_IMAGE,
    volumes: tuple[str, ...] = ("data",),
    health_command: list[str] | None = None,
    remove_volumes: bool = False,
    secret_env: dict[str, str] | None = None,
    cpu: int | None = 1,
    memory_gb: float | None = 0.25,
) -> EffectiveResource:
    """A busybox httpd service on the host network, health-checked over HTTP."""
    health = (
        HealthCheck(command=health_command, interval="1s", retries=2)
        if health_command
        else HealthCheck(http_path="/", port=port, interval="1s", retries=3)
    )
    return EffectiveResource(
        name=name,
        lab=LAB,
        resource_type="service",
        workload_type="web",
        provider="docker",
        provider_type="docker",
        pool="/docker",
        pool_name="docker",
        node=node,
        candidate_nodes=["node1", "node2"],
        requirements=Requirements(cpu=cpu, memory_gb=memory_gb),
        deployment=Deployment(),
        network=NetworkSpec(),
        service=ServiceSpec(
            image=image,
            command=["httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", "/www"],
            env=env if env is not None else {"GREETING": "hello"},
            secret_env=secret_env or {},
            volumes=[Volume(name=v, path=f"/{v}") for v in volumes],
            healthcheck=health,
            restart="unless-stopped",
        ),
        overrides={"network_mode": "host", "pull_policy": "never"},
        sync=SyncPolicy(remove_volumes=remove_volumes),
    )


_CHARTS: ChartLibrary | None = None


def render(resource: EffectiveResource) -> RenderedArtifacts:
    """The docker-compose chart's output for a resource, as the render phase hands it to apply."""
    global _CHARTS
    if _CHARTS is None:
        _CHARTS = ChartLibrary([asset_dir("charts")])
    out = render_chart(_CHARTS.get("docker-compose"), resource)
    return RenderedArtifacts(chart=out.chart, files=out.files)


@pytest.fixture
def state_db(tmp_path: Path) -> Any:
    """A real homeport SQLite store (migrated) for provider state."""
    db = open_database(f"sqlite:///{tmp_path / 'homeport.db'}")
    yield db
    db.engine.dispose()


@pytest.fixture
def make_provider(state_db: Any, tmp_path: Path) -> Iterator[Callable[..., DockerProvider]]:
    """Build docker providers over given engines; closes them afterwards."""
    made: list[DockerProvider] = []

    def build(engines: dict[str, DockerEngine], *, engine_settings: dict[str, dict[str, Any]] | None = None,
              **options: Any) -> DockerProvider:
        """engine_settings: more settings of an engine beside its endpoint (gpus, tls)."""
        extra = engine_settings or {}
        config = ProviderConfig(
            type="docker",
            nodes=sorted(engines),
            options={"engines": {n: {"endpoint": e.endpoint, **extra[n]} if n in extra else e.endpoint
                                 for n, e in engines.items()}, "wait_timeout": 60, **options},
        )
        ctx = ProviderContext(
            lab=LAB,
            name="docker",
            config=config,
            state=DbProviderState(state_db, LAB, "docker"),
            work_dir=tmp_path / "work",
        )
        provider = DockerProvider(ctx)
        made.append(provider)
        return provider

    yield build
    for provider in made:
        provider.close()


@pytest.fixture
def clean_engines(docker_engines: dict[str, DockerEngine]) -> Iterator[dict[str, DockerEngine]]:  # noqa: F811
    """The two session engines, emptied of containers and volumes after each test."""
    yield docker_engines
    for engine in docker_engines.values():
        client = engine.client()
        try:
            for container in client.containers(all=True):
                client.remove_container(container["Id"], force=True)
            for volume in client.volumes().get("Volumes") or []:
                client.remove_volume(volume["Name"], force=True)
            for network in client.networks():
                if network["Name"] not in ("bridge", "host", "none"):
                    client.remove_network(network["Id"])
        finally:
            client.close()

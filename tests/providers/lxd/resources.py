"""Effective resources, rendered artifacts, changes and a provider on the test daemon, for the LXD tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reconciler.assets import asset_dir
from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.plan import Change, Op
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.providers.base import ProviderContext, RenderedArtifacts
from reconciler.providers.lxd import LxdProvider
from reconciler.render.chart import load_chart
from reconciler.render.engine import render_chart
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.backends.lxd import BUSYBOX, LxdDaemon

LAB = "home"
PROVIDER = "lxd"


def resource(
    name: str,
    *,
    image: str = BUSYBOX,
    resource_type: str = "container",
    network: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    properties: dict[str, Any] | None = None,
    **requirements: Any,
) -> EffectiveResource:
    """An effective resource on provider `lxd` of lab `home`: a local image, no NIC unless asked."""
    reqs = {"cpu": 1, "memory_gb": 0.25, "storage_gb": 1, **requirements}
    props = {"image": image, "image_server": None, "network": None, "nesting": False, **(properties or {})}
    return EffectiveResource(
        name=name,
        lab=LAB,
        resource_type=resource_type,
        workload_type="general",
        provider=PROVIDER,
        provider_type="lxd",
        pool="/infrastructure/lxd",
        pool_name="lxd",
        requirements=Requirements.model_validate(reqs),
        deployment=Deployment(),
        network=NetworkSpec.model_validate(network or {}),
        service=ServiceSpec(),
        properties=props,
        overrides=overrides or {},
    )


def render(res: EffectiveResource) -> RenderedArtifacts:
    """The lxd-instance chart's output for res."""
    chart = load_chart(asset_dir("charts") / "lxd-instance")
    return RenderedArtifacts(chart=chart.name, files=dict(render_chart(chart, res).files))


def change(provider: LxdProvider, res: EffectiveResource, op: Op = Op.create, **extra: Any) -> Change:
    """A change for res with its desired fields, as the planner makes it."""
    return Change(
        op=op,
        resource=res.name,
        provider=PROVIDER,
        provider_type="lxd",
        node=res.node,
        reason=f"test {op.value}",
        desired=provider.desired_fields(res),
        **extra,
    )


def provider_config(daemon: LxdDaemon, **options: Any) -> ProviderConfig:
    """The homeport.yaml entry for the test daemon."""
    return ProviderConfig.model_validate(
        {
            "type": "lxd",
            "endpoint": daemon.endpoint,
            "nodes": ["lxd1"],
            "options": {"operation_timeout": 120, **options},
        }
    )


def make_provider(daemon: LxdDaemon, tmp_path: Path, config: ProviderConfig | None = None) -> LxdProvider:
    """An LxdProvider for lab `home` on the test daemon, its state in SQLite under tmp_path."""
    db = open_database(f"sqlite:///{tmp_path / 'homeport.db'}")
    ctx = ProviderContext(
        lab=LAB,
        name=PROVIDER,
        config=config or provider_config(daemon),
        state=DbProviderState(db, LAB, PROVIDER),
        work_dir=tmp_path,
        sleep=time.sleep,
    )
    return LxdProvider(ctx)

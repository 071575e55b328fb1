"""Effective resources, their rendered manifests and changes for the Kubernetes provider tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.models.resource import Deployment, NetworkSpec, Requirements, ServiceSpec
from reconciler.providers.base import Provider, RenderedArtifacts
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart

LAB = "prov"
CHARTS = Path(__file__).resolve().parents[3] / "charts"
# A 1.20 API server serves PodDisruptionBudget and HorizontalPodAutoscaler only under these.
OLD_API_VERSIONS = {"pdb_api_version": "policy/v1beta1", "hpa_api_version": "autoscaling/v2beta2"}


def workload(
    name: str,
    namespace: str,
    *,
    replicas: int = 2,
    image: str = "registry.lan/web:1.0",
    env: dict[str, str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    lab: str = LAB,
    overrides: dict[str, Any] | None = None,
    self_heal: bool | None = None,
    **requirements: Any,
) -> EffectiveResource:
    """A web workload on provider `k8s` of the lab, in a namespace."""
    return EffectiveResource(
        name=name,
        lab=lab,
        resource_type="service",
        workload_type="web-app",
        provider="k8s",
        provider_type="kubernetes",
        pool="/k8s",
        pool_name="k8s",
        requirements=Requirements.model_validate({"cpu": 1, "memory_gb": 0.5, **requirements}),
        deployment=Deployment(replicas=replicas),
        network=NetworkSpec(),
        service=ServiceSpec.model_validate(
            {
                "image": image,
                "env": env if env is not None else {"LOG_LEVEL": "info"},
                "ports": ports if ports is not None else [{"name": "http", "port": 8080}],
            }
        ),
        properties={"namespace": namespace},
        overrides={**OLD_API_VERSIONS, **(overrides or {})},
        sync={"self_heal": self_heal},
    )


def artifacts(res: EffectiveResource) -> RenderedArtifacts:
    """The kubernetes-workload chart's files for the resource."""
    chart = ChartLibrary([CHARTS]).get("kubernetes-workload")
    return RenderedArtifacts(chart=chart.name, files=dict(render_chart(chart, res).files))


def change(provider: Provider, res: EffectiveResource, op: Op = Op.create, **extra: Any) -> Change:
    """A change for res with its desired fields, as the planner makes it."""
    return Change(
        op=op,
        resource=res.name,
        provider="k8s",
        provider_type="kubernetes",
        reason=f"test {op.value}",
        desired=provider.desired_fields(res),
        **extra,
    )

"""The effective resource: a universal definition merged with its template, pool chain and overrides."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.models.placement import PlacementRules
from reconciler.models.resource import (
    Deployment,
    NetworkSpec,
    Requirements,
    ServiceSpec,
    SyncPolicy,
)
from reconciler.models.template import Playbook


class EffectiveResource(BaseModel):
    """What charts render and the planner compares: every inherited value resolved.

    Merge order (later wins): chart defaults < template < pool chain (root first) < resource < overrides.
    """

    model_config = ConfigDict(extra="forbid", frozen=False)

    name: str
    lab: str
    labels: dict[str, str] = Field(default_factory=dict)
    resource_type: str
    workload_type: str
    provider: str = Field(description="Provider instance name from homeport.yaml")
    provider_type: str
    pool: str = Field(description="Pool path")
    pool_name: str
    template: str | None = None
    chart: str | None = Field(default=None, description="Chart name, when the template pins one")
    node: str | None = Field(default=None, description="Pinned or placed node; None until placed")
    candidate_nodes: list[str] = Field(default_factory=list)
    placement_rules: PlacementRules = Field(
        default_factory=PlacementRules, description="Allocation ratios, node constraints, anti-affinity group"
    )
    requirements: Requirements
    deployment: Deployment
    network: NetworkSpec
    service: ServiceSpec
    properties: dict[str, Any] = Field(default_factory=dict, description="Pool properties + template variables")
    dimensions: dict[str, Any] = Field(default_factory=dict)
    configuration: list[Playbook] = Field(default_factory=list)
    configuration_vars: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Overrides for this provider type only")
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    stateful: bool = False
    renamed_from: str | None = None
    source_file: str = ""
    orchestrator: str | None = Field(
        default=None, description="'swarm' on a Docker provider with options.mode: swarm (the chart renders a stack)"
    )
    member_of: str | None = Field(
        default=None, description="The declared resource this is a high_availability member of (name-1 .. name-N)"
    )
    member: int = Field(default=0, ge=0, description="Member number, 1-based; 0 when not a member")
    members: int = Field(default=0, ge=0, description="How many members the declared resource expands into")

    @property
    def declared_name(self) -> str:
        """The name of the UniversalResource this comes from (the member's resource, else its own)."""
        return self.member_of or self.name

    def values(self) -> dict[str, Any]:
        """The resource as chart values (plain JSON types)."""
        return self.model_dump(mode="json")

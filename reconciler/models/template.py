"""The `DeploymentTemplate` kind, in the seed's format (requirements, infrastructure, configuration)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from reconciler.models.meta import Dimensions, KindBase, StrictModel
from reconciler.models.placement import CONSTRAINT_KEYS, NodeConstraints
from reconciler.models.resource import Requirements


class TemplateResources(StrictModel):
    """Default pool and requirements a template brings."""

    pool_path: str | None = None
    requirements: Requirements = Field(default_factory=Requirements)


class TemplateInfrastructure(StrictModel):
    """Which provider and chart a template targets, and its variables."""

    provider: str | None = Field(default=None, description="Provider type the template is written for")
    chart: str | None = Field(default=None, description="Chart to render; by default chosen by provider type")
    module: str | None = Field(default=None, description="Terraform module under terraform/modules")
    variables: dict[str, Any] = Field(default_factory=dict)


class Playbook(StrictModel):
    """An Ansible playbook the configure step runs."""

    name: str
    path: str


class TemplateConfiguration(StrictModel):
    """Configuration management: playbooks and their variables."""

    playbooks: list[Playbook] = Field(default_factory=list)
    variables: dict[str, Any] = Field(default_factory=dict)


class TemplateValidation(StrictModel):
    """Rules a resource using the template must meet."""

    required_dimensions: list[dict[str, Any]] = Field(default_factory=list)
    node_constraints: list[dict[str, Any]] = Field(
        default_factory=list,
        description="What a node must offer, enforced by placement: has_gpu, gpu_model, min_memory_gb, "
        "min_cpu (or min_cores), labels",
    )

    @field_validator("node_constraints")
    @classmethod
    def _known_constraints(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        unknown = sorted({str(k) for rule in value for k in rule} - set(CONSTRAINT_KEYS))
        if unknown:
            raise ValueError(f"unknown node constraint(s) {', '.join(unknown)}; known: {', '.join(CONSTRAINT_KEYS)}")
        NodeConstraints.from_rules(value)
        return value


class TemplateSpec(StrictModel):
    """The seed's template format."""

    template_type: Literal["vm", "container", "service"] = "vm"
    resources: TemplateResources = Field(default_factory=TemplateResources)
    infrastructure: TemplateInfrastructure = Field(default_factory=TemplateInfrastructure)
    configuration: TemplateConfiguration = Field(default_factory=TemplateConfiguration)
    service: dict[str, Any] = Field(default_factory=dict, description="Service defaults (image, ports, env, ...)")
    dimensions: Dimensions = Field(default_factory=dict)
    validation: TemplateValidation = Field(default_factory=TemplateValidation)


class DeploymentTemplate(KindBase):
    """The `DeploymentTemplate` kind (templates/*.yaml)."""

    kind: Literal["DeploymentTemplate"]
    spec: TemplateSpec

"""A whole lab's desired state at one revision, with each object's source location."""

from __future__ import annotations

from dataclasses import dataclass, field

from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import Lab
from reconciler.models.pool import ResourcePool
from reconciler.models.resource import UniversalResource
from reconciler.models.template import DeploymentTemplate


@dataclass(frozen=True)
class SourceRef:
    """Where an object was declared: file path and document index."""

    file: str
    doc: int = 0


@dataclass
class DesiredState:
    """Validated kinds of one commit plus the effective (merged) resources."""

    revision: str
    lab: Lab
    pools: dict[str, ResourcePool] = field(default_factory=dict)
    templates: dict[str, DeploymentTemplate] = field(default_factory=dict)
    resources: dict[str, UniversalResource] = field(default_factory=dict)
    effective: dict[str, EffectiveResource] = field(default_factory=dict)
    sources: dict[tuple[str, str], SourceRef] = field(default_factory=dict)
    pool_parents: dict[str, str | None] = field(default_factory=dict)  # pool name -> parent pool name

    @property
    def lab_name(self) -> str:
        """The lab's name."""
        return self.lab.metadata.name

    def pool_by_path(self, path: str) -> ResourcePool | None:
        """The pool at a path."""
        for pool in self.pools.values():
            if pool.spec.path == path:
                return pool
        return None

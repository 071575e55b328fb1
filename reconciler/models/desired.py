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

    def effective_of(self, name: str) -> EffectiveResource:
        """The effective resource of a declared resource: itself, or its first high_availability member
        (name-1; every member is rendered alike). KeyError when neither exists."""
        found = self.effective.get(name) or self.effective.get(f"{name}-1")
        if found is None or found.declared_name != name:
            raise KeyError(name)
        return found

    def members_of(self, name: str) -> list[EffectiveResource]:
        """The effective resources a declared resource became: itself, or its members in order."""
        if name in self.effective and self.effective[name].member_of is None:
            return [self.effective[name]]
        found = [e for e in self.effective.values() if e.member_of == name]
        return sorted(found, key=lambda e: e.member)

    def declared(self, name: str) -> UniversalResource | None:
        """The UniversalResource a planned name comes from (a high_availability member's resource)."""
        eff = self.effective.get(name)
        return self.resources.get(eff.declared_name if eff is not None else name)

    def dependencies_of(self, name: str) -> list[str]:
        """The planned names a resource waits for: its spec.depends_on, a high_availability resource as its
        members (a member waits for what its resource depends on)."""
        declared = self.declared(name)
        if declared is None:
            return []
        out: list[str] = []
        for dep in declared.spec.depends_on:
            out.extend([e.name for e in self.members_of(dep)] or [dep])
        return out

    def pool_by_path(self, path: str) -> ResourcePool | None:
        """The pool at a path."""
        for pool in self.pools.values():
            if pool.spec.path == path:
                return pool
        return None

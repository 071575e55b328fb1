"""Snapshots: one document, written by the same code whatever door asked (CLI, MCP tool, daemon schedule).

The document holds the desired state at main's revision (kinds and effective resources), the observed
inventories, and a per-resource digest of the lab's managed resources (provider, node, id, status, live
fields, declared pool, requirements, network) with a migration-readiness summary. Secrets are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.phases.context import LabSession
from reconciler.phases.load import load_main
from reconciler.phases.observe import Observation, observe_all
from reconciler.store.audit import redact
from reconciler.store.snapshots import save_snapshot

SNAPSHOT_SCHEMA = 2


class SnapshotResource(BaseModel):
    """One managed resource as observed, with what Git declares for it."""

    provider: str
    provider_type: str
    node: str | None = None
    id: str | None = None
    status: str = "unknown"
    fields: dict[str, Any] | None = Field(default=None, description="Observed fields (secrets redacted)")
    pool: str | None = None
    requirements: dict[str, Any] | None = None
    network: dict[str, Any] | None = None
    stateful: bool = False


class MigrationReadiness(BaseModel):
    """What a migration of the snapshot's resources has to reckon with."""

    resources: int
    stateful: list[str] = Field(default_factory=list)
    portable: list[str] = Field(default_factory=list)
    not_declared: list[str] = Field(default_factory=list)
    unavailable_providers: dict[str, str] = Field(default_factory=dict)


class SnapshotDocument(BaseModel):
    """The stored document of every snapshot (schema 2); older documents are read with `from_stored`."""

    schema_version: int = SNAPSHOT_SCHEMA
    revision: str | None = None
    lab: dict[str, Any] = Field(default_factory=dict)
    pools: dict[str, Any] = Field(default_factory=dict)
    templates: dict[str, Any] = Field(default_factory=dict)
    desired_resources: dict[str, Any] = Field(default_factory=dict)
    inventories: dict[str, Any] = Field(default_factory=dict)
    observed_resources: list[dict[str, Any]] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict)
    resources: dict[str, SnapshotResource] = Field(default_factory=dict, description="Managed resources by name")
    readiness: MigrationReadiness | None = None

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> SnapshotDocument:
        """A stored document of any schema: before schema 2 the CLI stored only the observed inventory and
        the MCP tool only the per-resource digest; the missing half is derived from the other."""
        doc = cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})
        if not doc.resources and doc.observed_resources:
            lab_name = str((doc.lab.get("metadata") or {}).get("name") or "")
            for item in doc.observed_resources:
                if not item.get("owned") or (lab_name and item.get("lab") != lab_name):
                    continue
                declared = doc.desired_resources.get(item["name"], {})
                inv = doc.inventories.get(item.get("provider", ""), {})
                doc.resources[item["name"]] = SnapshotResource(
                    provider=item.get("provider", ""), provider_type=inv.get("provider_type", ""),
                    node=item.get("node"), id=item.get("id"), status=item.get("status", "unknown"),
                    fields=item.get("fields"), pool=declared.get("pool"), requirements=declared.get("requirements"),
                    network=declared.get("network"), stateful=bool(declared.get("stateful")))
        if doc.readiness is None:
            doc.readiness = readiness(doc.resources, set(doc.desired_resources) or None, doc.unavailable)
        return doc


def readiness(resources: dict[str, SnapshotResource], declared: set[str] | None,
              unavailable: dict[str, str]) -> MigrationReadiness:
    """Stateful, portable and undeclared resources of a snapshot."""
    stateful = sorted(n for n, r in resources.items() if r.stateful)
    known = set(resources) if declared is None else declared
    return MigrationReadiness(resources=len(resources), stateful=stateful,
                              portable=sorted(n for n in resources if n in known and n not in stateful),
                              not_declared=sorted(n for n in resources if n not in known),
                              unavailable_providers=dict(unavailable))


def snapshot_document(state: DesiredState, observation: Observation, *, node: str | None = None,
                      include_fields: bool = True, include_network: bool = True) -> SnapshotDocument:
    """The snapshot document of a desired state and an observation (node: only managed resources on it)."""
    resources: dict[str, SnapshotResource] = {}
    for provider, inv in sorted(observation.inventories.items()):
        for name, r in sorted(inv.owned(state.lab_name).items()):
            if node and r.node != node:
                continue
            eff = state.effective.get(name)
            resources[name] = SnapshotResource(
                provider=provider, provider_type=inv.provider_type, node=r.node, id=r.id, status=r.status,
                fields=redact(r.fields) if include_fields else None,
                pool=eff.pool if eff is not None else None,
                requirements=eff.requirements.model_dump(mode="json", exclude_defaults=True) if eff else None,
                network=eff.network.model_dump(mode="json", exclude_defaults=True)
                if eff is not None and include_network else None,
                stateful=eff.stateful if eff is not None else False)
    return SnapshotDocument(
        revision=state.revision,
        lab=state.lab.model_dump(mode="json"),
        pools={n: p.model_dump(mode="json") for n, p in sorted(state.pools.items())},
        templates={n: t.model_dump(mode="json") for n, t in sorted(state.templates.items())},
        desired_resources={n: e.model_dump(mode="json") for n, e in sorted(state.effective.items())},
        inventories={n: inv.model_dump(mode="json", exclude={"resources"})
                     for n, inv in sorted(observation.inventories.items())},
        observed_resources=[r.model_dump(mode="json") for inv in observation.inventories.values()
                            for r in inv.resources],
        unavailable=dict(observation.unavailable),
        resources=resources,
        readiness=readiness(resources, set(state.effective), dict(observation.unavailable)),
    )


@dataclass(frozen=True)
class SnapshotSummary:
    """What a snapshot holds, in numbers, and its document."""

    id: str
    name: str
    revision: str
    resources_desired: int
    resources_observed: int
    providers_unavailable: list[str]
    document: SnapshotDocument


def take_snapshot(session: LabSession, *, name: str | None = None, snapshot_type: str = "manual",
                  notes: str | None = None, created_by: str | None = None, node: str | None = None,
                  include_fields: bool = True, include_network: bool = True) -> SnapshotSummary:
    """Observe every enabled provider and store the snapshot document with main's desired state (secrets
    redacted). node: only managed resources on that node in the per-resource digest."""
    state = load_main(session)
    observation = observe_all(session, state)
    now = session.clock()
    label = name or f"{snapshot_type}-{now:%Y%m%d-%H%M%S}"
    document = snapshot_document(state, observation, node=node, include_fields=include_fields,
                                 include_network=include_network)
    snap_id = save_snapshot(session.db, lab=state.lab_name, name=label, snapshot_type=snapshot_type,
                            revision=state.revision, data=document.model_dump(mode="json"),
                            created_by=created_by or session.actor, notes=notes)
    return SnapshotSummary(snap_id, label, state.revision, len(state.effective), len(document.observed_resources),
                           sorted(observation.unavailable), document)

"""Queries the web door needs beyond `queries`: where each effective value came from, a resource's YAML at
main, its rendered files, the deviation timeline, keyset pages of runs and the audit log, the lab tree.

Added by the web door (issue 19) beside `queries.py`; every function takes an open `LabService`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from reconciler.models.desired import DesiredState
from reconciler.models.pool import ResourcePool
from reconciler.models.profiles import profile_requirements
from reconciler.phases.render import render_one
from reconciler.proposals.create import file_at_main
from reconciler.service.errors import NotFound, engine_errors
from reconciler.service.lab import LabService
from reconciler.service.views import AuditEntry, DeviationView, InstanceView, RunView, instance_matches
from reconciler.store.tables import AuditLogRow, DeploymentInstanceRow, ReconcileRunRow, StateDeviationRow


class ValueOrigin(BaseModel):
    """One effective value of a resource and the layer that set it (the last one to, in merge order)."""

    path: str = Field(description="Dotted path in the effective resource, e.g. properties.storage_pool")
    value: Any = None
    source: str = Field(description="profile | template | pool | resource | override")
    detail: str = Field(description="Which one: the workload type, the template's or pool's name, the resource's file")


class SourceFile(BaseModel):
    """A desired-state file's text at main."""

    path: str
    revision: str
    text: str


class RenderedFiles(BaseModel):
    """What a resource's chart renders at main."""

    resource: str
    chart: str | None = Field(default=None, description="None when no chart renders this provider and type")
    files: dict[str, str] = Field(default_factory=dict)


def _leaves(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}"))
        return out
    return {prefix: value}


def pool_chain(state: DesiredState, path: str) -> list[ResourcePool]:
    """The pool at path and its ancestors, root first."""
    chain: list[ResourcePool] = []
    pool = state.pool_by_path(path)
    while pool is not None and pool not in chain:
        chain.append(pool)
        parent = state.pool_parents.get(pool.metadata.name)
        pool = state.pools.get(parent) if parent else None
    return list(reversed(chain))


def value_origins(state: DesiredState, name: str) -> list[ValueOrigin]:
    """Where each inherited value of a resource came from (pure): later layers win, as in the merge."""
    resource = state.declared(name)  # a high_availability member's: its resource's
    effective = state.effective.get(name)
    if resource is None or effective is None:
        raise NotFound(f"no resource {name!r} is declared at main")
    spec = resource.spec
    origins: dict[str, ValueOrigin] = {}
    ref = state.sources.get(("UniversalResource", resource.metadata.name))
    file = ref.file if ref else f"resources/{resource.metadata.name}.yaml"

    def layer(section: str, data: dict[str, Any], source: str, detail: str) -> None:
        for path, value in _leaves(data, section).items():
            if path != section:
                origins[path] = ValueOrigin(path=path, value=value, source=source, detail=detail)

    layer("requirements", profile_requirements(spec.workload_type), "profile", spec.workload_type)
    template = state.templates.get(spec.template) if spec.template else None
    if template is not None:
        detail = template.metadata.name
        layer("properties", dict(template.spec.infrastructure.variables), "template", detail)
        layer("dimensions", dict(template.spec.dimensions), "template", detail)
        layer("requirements", template.spec.resources.requirements.model_dump(mode="json", exclude_unset=True),
              "template", detail)
        layer("service", dict(template.spec.service), "template", detail)
    for pool in pool_chain(state, effective.pool):
        detail = pool.metadata.name
        layer("properties", dict(pool.spec.properties), "pool", detail)
        layer("dimensions", dict(pool.spec.dimensions), "pool", detail)
        if pool.spec.provider and not spec.provider:
            origins["provider"] = ValueOrigin(path="provider", value=pool.spec.provider, source="pool", detail=detail)
    layer("dimensions", dict(spec.dimensions), "resource", file)
    layer("requirements", spec.requirements.model_dump(mode="json", exclude_unset=True), "resource", file)
    layer("service", spec.service.model_dump(mode="json", exclude_unset=True), "resource", file)
    if spec.provider:
        origins["provider"] = ValueOrigin(path="provider", value=spec.provider, source="resource", detail=file)
    if spec.placement.node:
        origins["node"] = ValueOrigin(path="node", value=spec.placement.node, source="resource", detail=file)
    layer("overrides", dict(effective.overrides), "override", f"{file}: overrides.{effective.provider_type}")
    return sorted(origins.values(), key=lambda o: o.path)


def resource_origins(lab: LabService, name: str) -> list[ValueOrigin]:
    """Where each effective value of a declared resource came from, at main."""
    return value_origins(lab.state(), name)


def source_file(lab: LabService, kind: str, name: str) -> SourceFile:
    """The YAML file declaring an object at main (the text a person edits into a proposal)."""
    state = lab.state()
    ref = state.sources.get((kind, name))
    if ref is None:
        raise NotFound(f"no {kind} {name!r} is declared at main")
    with engine_errors():
        data = file_at_main(lab.session, ref.file)
    if data is None:
        raise NotFound(f"{ref.file} is not on main")
    return SourceFile(path=ref.file, revision=state.revision, text=data.decode("utf-8", errors="replace"))


def rendered_files(lab: LabService, name: str) -> RenderedFiles:
    """A declared resource's rendered files at main (rendered now, in memory)."""
    state = lab.state()
    effective = state.effective.get(name)
    if effective is None:
        raise NotFound(f"no resource {name!r} is declared at main")
    with engine_errors():
        artifacts = render_one(lab.session, effective)
    if artifacts is None:
        return RenderedFiles(resource=name)
    return RenderedFiles(resource=name, chart=artifacts.chart, files=dict(sorted(artifacts.files.items())))


def deviation_timeline(lab: LabService, *, resource: str | None = None, limit: int = 500) -> list[DeviationView]:
    """Every deviation, open and resolved, newest first (by first seen), optionally of one resource."""
    name = lab.lab_name
    stmt = select(StateDeviationRow).where(StateDeviationRow.lab == name)
    if resource is not None:
        stmt = stmt.where(StateDeviationRow.resource == resource)
    stmt = stmt.order_by(StateDeviationRow.detected_at.desc(), StateDeviationRow.id).limit(limit)
    with engine_errors(), lab.session.db.session() as s:
        return [DeviationView.from_row(r) for r in s.execute(stmt).scalars()]


def run(lab: LabService, run_id: str) -> RunView:
    """One run by id."""
    name = lab.lab_name
    with engine_errors(), lab.session.db.session() as s:
        row = s.execute(select(ReconcileRunRow).where(ReconcileRunRow.lab == name, ReconcileRunRow.id == run_id)
                        ).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no run {run_id!r}; list them with GET /api/v1/runs (or `homeport status`)")
        return RunView.from_row(row)


def audit_page(lab: LabService, *, before_seq: int | None = None, entity: str | None = None,
               limit: int = 50) -> list[AuditEntry]:
    """Audit rows newest first, older than before_seq when given, optionally about one entity."""
    name = lab.lab_name
    stmt = select(AuditLogRow).where(AuditLogRow.lab == name)
    if entity is not None:
        stmt = stmt.where(AuditLogRow.entity_id == entity)
    if before_seq is not None:
        stmt = stmt.where(AuditLogRow.seq < before_seq)
    stmt = stmt.order_by(AuditLogRow.seq.desc()).limit(limit)
    with engine_errors(), lab.session.db.session() as s:
        return [AuditEntry.from_row(r) for r in s.execute(stmt).scalars()]


class ResourceState(BaseModel):
    """A declared resource at a glance: where it lives and whether it is in sync."""

    name: str
    pool: str
    provider: str
    provider_type: str
    template: str | None = None
    node: str | None = Field(default=None, description="Recorded node, else the pinned one")
    status: str = Field(description="The instance's status; 'not applied' when nothing is recorded yet, "
                                    "'provider disabled' when its provider is off (enabled: false)")
    in_sync: bool = Field(description="Running and no open deviation")
    drifted: bool = False


class PoolNode(BaseModel):
    """A pool in the tree, with its child pools and the resources declared directly in it."""

    name: str
    path: str
    provider: str | None = None
    pool_type: str
    nodes: list[str] = Field(default_factory=list)
    children: list[PoolNode] = Field(default_factory=list)
    resources: list[ResourceState] = Field(default_factory=list,
                                           description="Resources declared directly in this pool (maybe the first few)")
    resources_total: int = Field(default=0, description="How many resources are declared directly in this pool")


class ProviderState(BaseModel):
    """One provider of the lab and how its resources stand."""

    name: str
    type: str
    enabled: bool
    resources: int
    in_sync: int
    drifted: int
    not_applied: int


class LabTree(BaseModel):
    """Pools ▸ resources with sync and drift status, and a summary per provider."""

    lab: str
    revision: str
    pools: list[PoolNode]
    providers: list[ProviderState]


def instance_states(lab: LabService, names: list[str] | None = None) -> dict[str, tuple[str, bool, str | None]]:
    """(status, deviation detected, node) of recorded instances by name (all, or the named): no JSON columns."""
    name = lab.lab_name
    stmt = select(DeploymentInstanceRow.name, DeploymentInstanceRow.status, DeploymentInstanceRow.deviation_detected,
                  DeploymentInstanceRow.node).where(DeploymentInstanceRow.lab == name)
    if names is not None:
        stmt = stmt.where(DeploymentInstanceRow.name.in_(names))
    with engine_errors(), lab.session.db.session() as s:
        return {row[0]: (row[1], bool(row[2]), row[3]) for row in s.execute(stmt)}


def instance_named(lab: LabService, name: str) -> InstanceView:
    """One recorded instance by resource name (one row read)."""
    lab_name = lab.lab_name
    with engine_errors(), lab.session.db.session() as s:
        row = s.execute(select(DeploymentInstanceRow).where(DeploymentInstanceRow.lab == lab_name,
                                                            DeploymentInstanceRow.name == name)).scalar_one_or_none()
        if row is not None:
            return InstanceView.from_row(row)
    declared = name in lab.state().resources
    raise NotFound(f"no recorded instance {name!r}; " + (
        "it is declared in Git but not applied yet" if declared else "list them with GET /api/v1/instances"))


def resource_names(lab: LabService, *, pool: str | None = None) -> list[str]:
    """Names of the resources declared at main (in one pool, by path, when given), sorted."""
    state = lab.state()
    if pool is None:
        return sorted(state.effective)
    return sorted(n for n, eff in state.effective.items() if eff.pool == pool)


def _status(state: DesiredState, name: str, recorded: dict[str, tuple[str, bool, str | None]]
            ) -> tuple[str, bool, str | None]:
    """(status, drifted, node) of a declared resource: its instance's, or why there is none."""
    found = recorded.get(name)
    if found is not None:
        return found
    eff = state.effective[name]
    provider = state.lab.spec.providers.get(eff.provider)
    return ("not applied" if provider is not None and provider.enabled else "provider disabled", False, None)


def _resource_state(state: DesiredState, name: str, recorded: dict[str, tuple[str, bool, str | None]]
                    ) -> ResourceState:
    eff = state.effective[name]
    status, drifted, node = _status(state, name, recorded)
    return ResourceState(name=name, pool=eff.pool, provider=eff.provider, provider_type=eff.provider_type,
                         template=eff.template, node=node or eff.node, status=status,
                         in_sync=instance_matches(status, drifted), drifted=drifted)


def resource_states(lab: LabService, names: list[str] | None = None) -> list[ResourceState]:
    """Declared resources at main (all, or the named ones) with their recorded status, by name."""
    state = lab.state()
    wanted = sorted(state.effective) if names is None else [n for n in names if n in state.effective]
    recorded = instance_states(lab, None if names is None else wanted)
    return [_resource_state(state, name, recorded) for name in wanted]


def lab_tree(lab: LabService, *, per_pool: int | None = None) -> LabTree:
    """The pool hierarchy with each pool's resources (the first per_pool of each, when given) and their sync and
    drift status, and a summary per provider over all resources."""
    state = lab.state()
    recorded = instance_states(lab)
    by_pool: dict[str, list[str]] = {}
    counts: dict[str, list[int]] = {}  # provider -> [resources, in sync, drifted, not applied]
    for name in sorted(state.effective):
        eff = state.effective[name]
        by_pool.setdefault(eff.pool, []).append(name)
        status, drifted, _ = _status(state, name, recorded)
        row = counts.setdefault(eff.provider, [0, 0, 0, 0])
        row[0] += 1
        row[1] += instance_matches(status, drifted)
        row[2] += drifted
        row[3] += status in ("not applied", "provider disabled")
    nodes = {}
    for pool_name, p in state.pools.items():
        names = by_pool.get(p.spec.path, [])
        shown = names if per_pool is None else names[:per_pool]
        nodes[pool_name] = PoolNode(name=pool_name, path=p.spec.path, provider=p.spec.provider,
                                    pool_type=p.spec.pool_type, nodes=list(p.spec.nodes), resources_total=len(names),
                                    resources=[_resource_state(state, n, recorded) for n in shown])
    roots: list[PoolNode] = []
    for name in sorted(nodes, key=lambda n: nodes[n].path):
        parent = state.pool_parents.get(name)
        (nodes[parent].children if parent in nodes else roots).append(nodes[name])
    providers = []
    for pname, config in sorted(state.lab.spec.providers.items()):
        total, in_sync, drifted_count, not_applied = counts.get(pname, [0, 0, 0, 0])
        providers.append(ProviderState(name=pname, type=str(config.type), enabled=config.enabled, resources=total,
                                       in_sync=in_sync, drifted=drifted_count, not_applied=not_applied))
    return LabTree(lab=state.lab_name, revision=state.revision, pools=roots, providers=providers)


def latest_finished_run(lab: LabService) -> RunView | None:
    """The newest finished run (live updates watch it)."""
    name = lab.lab_name
    stmt = (select(ReconcileRunRow).where(ReconcileRunRow.lab == name, ReconcileRunRow.finished_at.is_not(None))
            .order_by(ReconcileRunRow.finished_at.desc()).limit(1))
    with engine_errors(), lab.session.db.session() as s:
        row = s.execute(stmt).scalar_one_or_none()
        return RunView.from_row(row) if row is not None else None

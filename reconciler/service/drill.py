"""The rebuild drill: would Git alone bring the lab back?

A scratch lab (see `scratch`) gets the nodes of the latest snapshot (capacity, GPUs) and none of the guests;
main is applied onto it through the real phases; then each resource is judged restored or not restorable,
with every reason found: it does not render (template or chart missing), its apply failed or was held, a
secret it references does not resolve, a manual change recorded as drift was never adopted into Git, a data
volume's backup is unknown to homeport, or a value is only known live. Nothing touches the real providers.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.service import queries
from reconciler.service.errors import NotFound, engine_errors
from reconciler.service.lab import LabService
from reconciler.service.scratch import ProviderSeed, SeedNode, converge, open_scratch, seed_from_snapshot_nodes
from reconciler.service.views import DeviationView, SnapshotView
from reconciler.store.drills import get_drill, save_drill
from reconciler.store.tables import DrillReportRow

ReasonKind = Literal["render", "apply", "secret", "drift", "data", "live-only", "capacity"]

# fields a provider reports that a rebuild cannot know unless Git declares them
LIVE_ADDRESS_FIELDS = ("ipv4", "ip", "ip_address", "ipaddress", "private_ip", "public_ip")


class DrillReason(BaseModel):
    """Why a resource would not come back as it is from Git alone."""

    kind: ReasonKind
    message: str


class DrillItem(BaseModel):
    """One resource of the drill."""

    resource: str
    provider: str
    status: Literal["restored", "not restorable", "not in the drill"]
    node: str | None = Field(default=None, description="Node the rebuild placed it on")
    live_node: str | None = Field(default=None, description="Node it was on in the snapshot")
    reasons: list[DrillReason] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class RebuildDrillReport(BaseModel):
    """The drill's result: a score and one item per resource."""

    lab: str
    revision: str
    snapshot_id: str | None = None
    snapshot_name: str | None = None
    rebuildable: int
    total: int
    score: str = Field(description="'31 of 34 resources rebuildable from Git'")
    items: list[DrillItem]
    seeded_nodes: dict[str, list[str]] = Field(default_factory=dict, description="Provider -> simulated nodes")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    id: str | None = Field(default=None, description="The stored report's id (`homeport drill show ID`)")
    created_at: datetime | None = None
    created_by: str | None = None


class DrillSummary(BaseModel):
    """A stored drill report at a glance (its items: `homeport drill show ID`, GET /api/v1/drills/{id})."""

    id: str
    lab: str
    revision: str
    snapshot_id: str | None = None
    snapshot_name: str | None = None
    rebuildable: int
    total: int
    score: str
    seconds: float = 0.0
    created_at: datetime | None = None
    created_by: str | None = None

    @classmethod
    def from_row(cls, row: DrillReportRow) -> DrillSummary:
        """The summary of a stored report row."""
        data = row.report or {}
        return cls(id=row.id, lab=row.lab, revision=row.revision, snapshot_id=row.snapshot_id,
                   snapshot_name=data.get("snapshot_name"), rebuildable=row.rebuildable, total=row.total,
                   score=str(data.get("score") or f"{row.rebuildable} of {row.total} resources rebuildable from Git"),
                   seconds=float(data.get("seconds") or 0.0), created_at=utc(row.created_at),
                   created_by=row.created_by)


def rebuild_drill(lab: LabService, *, snapshot_id: str | None = None, store: bool = True, actor: str | None = None,
                  actor_kind: str | None = None) -> RebuildDrillReport:
    """Rebuild main onto a scratch lab of simulated nodes and judge, per resource, whether Git alone restores it;
    store the report (secret-looking values masked) as run by actor (default: the service's)."""
    started = time.perf_counter()
    state = lab.state()
    snapshot = _snapshot(lab, snapshot_id)
    notes: list[str] = []
    seeds = drill_seeds(state, snapshot, notes)
    deviations = queries.deviations(lab)
    with engine_errors():
        scratch = open_scratch(lab.session, seeds, state.lab_name)
        try:
            run = converge(scratch, state.revision, render=False)
        finally:
            scratch.close()
    items = judge(state, snapshot, seeds, run.plan.changes, {o.change.resource: o for o in run.outcomes},
                  run.render_errors, deviations, os.environ)
    counted = [i for i in items if i.status != "not in the drill"]
    restored = sum(1 for i in counted if i.status == "restored")
    report = RebuildDrillReport(
        lab=state.lab_name, revision=state.revision, snapshot_id=snapshot.id if snapshot else None,
        snapshot_name=snapshot.name if snapshot else None, rebuildable=restored, total=len(counted),
        score=f"{restored} of {len(counted)} resources rebuildable from Git", items=items,
        seeded_nodes={p: [n.name for n in s.nodes] for p, s in sorted(seeds.items())}, notes=notes,
        seconds=round(time.perf_counter() - started, 3))
    if not store:
        return report
    body = report.model_dump(mode="json", exclude={"id", "created_at", "created_by"})
    with engine_errors():
        row = save_drill(lab.session.db, lab=report.lab, revision=report.revision, snapshot_id=report.snapshot_id,
                         rebuildable=report.rebuildable, total=report.total, report=body,
                         created_by=actor or lab.actor, actor_kind=actor_kind or lab.actor_kind)
    return stored_report(row)


def stored_report(row: DrillReportRow) -> RebuildDrillReport:
    """The report a drill row holds (as stored: secret-looking values masked)."""
    return RebuildDrillReport.model_validate({**(row.report or {}), "id": row.id, "created_at": utc(row.created_at),
                                              "created_by": row.created_by})


def utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def drill_report(lab: LabService, drill_id: str) -> RebuildDrillReport:
    """One stored drill report by id or unique id prefix."""
    with engine_errors():
        row = get_drill(lab.session.db, lab.lab_name, drill_id)
    if row is None:
        raise NotFound(f"no drill report {drill_id!r} (or the prefix is not unique); list them with "
                       "`homeport drill list` or GET /api/v1/drills")
    return stored_report(row)


def _snapshot(lab: LabService, snapshot_id: str | None) -> SnapshotView | None:
    if snapshot_id is not None:
        return queries.snapshot(lab, snapshot_id)
    latest = queries.snapshots(lab, limit=1, with_data=True)
    return latest[0] if latest else None


def drill_seeds(state: DesiredState, snapshot: SnapshotView | None, notes: list[str]) -> dict[str, ProviderSeed]:
    """Pure: each enabled provider's simulated nodes, from the snapshot's inventory (no guests)."""
    inventories: dict[str, Any] = (snapshot.data or {}).get("inventories", {}) if snapshot else {}
    if snapshot is None:
        notes.append("no snapshot yet (`homeport snapshot create`): nodes are the ones homeport.yaml names, "
                     "at the simulator's default size")
    seeds: dict[str, ProviderSeed] = {}
    for name, config in sorted(state.lab.spec.providers.items()):
        if not config.enabled:
            continue
        nodes = (inventories.get(name) or {}).get("nodes") or []
        if nodes:
            seeds[name] = seed_from_snapshot_nodes(nodes)
        else:
            if snapshot is not None:
                notes.append(f"the snapshot has no nodes of provider {name}: using the nodes homeport.yaml names")
            seeds[name] = ProviderSeed(nodes=[SeedNode(name=n, cpu=32, memory_gb=128, storage_gb=2000, gpu=1)
                                              for n in config.nodes])
    return seeds


def unresolved_secrets(config: ProviderConfig, env: Any) -> list[str]:
    """Credential references of a provider that do not resolve here (variable unset, file unreadable)."""
    missing: list[str] = []
    creds = config.credentials.model_dump(exclude_none=True)
    for key, ref in sorted(creds.items()):
        if key.endswith("_env"):
            file_key = key.removesuffix("_env") + "_file"
            if not env.get(ref) and not (file_key in creds and Path(creds[file_key]).expanduser().is_file()):
                missing.append(f"credentials.{key}: environment variable {ref} is not set")
        elif key.endswith("_file") and not Path(ref).expanduser().is_file():
            missing.append(f"credentials.{key}: secrets file {ref} cannot be read")
    for key, value in sorted(config.options.items()):
        if key.endswith("_env") and isinstance(value, str) and not env.get(value):
            missing.append(f"options.{key}: environment variable {value} is not set")
    return missing


def judge(state: DesiredState, snapshot: SnapshotView | None, seeds: dict[str, ProviderSeed], changes: list[Any],
          outcomes: dict[str, Any], render_errors: dict[str, str], deviations: list[DeviationView],
          env: Any) -> list[DrillItem]:
    """Pure once the scratch run is done: one item per resource (declared, or owned live but not in Git)."""
    live = _live_resources(snapshot, state.lab_name)
    by_change = {c.resource: c for c in changes}
    drift: dict[str, list[DeviationView]] = {}
    for d in deviations:
        drift.setdefault(d.resource, []).append(d)
    provider_secrets = {n: unresolved_secrets(c, env) for n, c in state.lab.spec.providers.items()}
    items: list[DrillItem] = []
    for name, eff in sorted(state.effective.items()):
        config = state.lab.spec.providers[eff.provider]
        if not config.enabled or eff.provider not in seeds:
            items.append(DrillItem(resource=name, provider=eff.provider, status="not in the drill",
                                   notes=[f"provider {eff.provider} is disabled (enabled: false): homeport never "
                                          "applies it, from Git or otherwise"]))
            continue
        items.append(_judge_one(eff, by_change.get(name), outcomes.get(name), render_errors.get(name),
                                drift.get(name, []), provider_secrets.get(eff.provider, []), live.get(name), env))
    for name, observed in sorted(live.items()):
        if name in state.effective:
            continue
        items.append(DrillItem(
            resource=name, provider=str(observed.get("provider")), status="not restorable",
            live_node=observed.get("node"),
            reasons=[DrillReason(kind="live-only", message=(
                "exists live and is managed by this lab, but no file in Git declares it: only the live copy "
                "knows it (adopt it into Git with a proposal, or delete it)"))]))
    return items


def _live_resources(snapshot: SnapshotView | None, lab: str) -> dict[str, dict[str, Any]]:
    if snapshot is None:
        return {}
    return {r["name"]: r for r in (snapshot.data or {}).get("observed_resources", [])
            if r.get("owned") and r.get("lab") == lab}


def _judge_one(eff: EffectiveResource, change: Any, outcome: Any, render_error: str | None,
               drift: list[DeviationView], secrets: list[str], observed: dict[str, Any] | None,
               env: Any) -> DrillItem:
    reasons: list[DrillReason] = []
    notes: list[str] = []
    if render_error is not None:
        what = f"template {eff.template!r}" if eff.template else "its chart"
        reasons.append(DrillReason(kind="render", message=f"does not render ({what} or chart missing?): "
                                                          f"{render_error}"))
    if outcome is not None and outcome.status != "applied" and render_error is None:
        reasons.append(DrillReason(kind="apply", message=f"apply {outcome.status}: {outcome.message}"))
    elif change is not None and change.blocked and render_error is None:
        kind: ReasonKind = "capacity" if change.block and change.block.kind.value == "capacity" else "apply"
        reasons.append(DrillReason(kind=kind, message=f"held back: {change.blocked}"))
    for ref in secrets:
        reasons.append(DrillReason(kind="secret", message=f"provider {eff.provider}: {ref}"))
    for var, ref in sorted(eff.service.secret_env.items()):
        if not env.get(ref):
            reasons.append(DrillReason(kind="secret", message=(
                f"service.secret_env.{var}: environment variable {ref} is not set on this host")))
    for d in drift:
        reasons.append(DrillReason(kind="drift", message=(
            f"{d.field} was changed live to {d.actual!r} (Git says {d.expected!r}) and never adopted: a rebuild "
            "brings back Git's value (adopt it: `homeport drift propose " + eff.name + " --adopt`)")))
    if eff.stateful:
        reasons.append(DrillReason(kind="data", message=(
            "holds data (stateful) and homeport knows no backup of its volumes: a rebuild brings it back empty"
            + (" (deployment.backup_required is set, but where the backup lives is not in Git)"
               if eff.deployment.backup_required else ""))))
    node = change.node if change is not None else None
    live_node = observed.get("node") if observed else None
    if observed is not None:
        fields = observed.get("fields") or {}
        for key in LIVE_ADDRESS_FIELDS:
            value = fields.get(key)
            if value and not eff.network.ipv4:
                reasons.append(DrillReason(kind="live-only", message=(
                    f"address {key}={value} is only known live (network.ipv4 is not set in Git)")))
                break
        if live_node and node and live_node != node and not eff.node:
            notes.append(f"was on {live_node}; the rebuild placed it on {node} (pin placement.node to keep it)")
    return DrillItem(resource=eff.name, provider=eff.provider, status="not restorable" if reasons else "restored",
                     node=node or live_node, live_node=live_node, reasons=reasons, notes=notes)


def require_resource(report: RebuildDrillReport, name: str) -> DrillItem:
    """The item of one resource (NotFound names the drill's resources)."""
    for item in report.items:
        if item.resource == name:
            return item
    raise NotFound(f"the drill has no resource {name!r}")

"""A throwaway scratch lab: the real repository read-only, a temporary SQLite database and work folder, and
every provider replaced by `sim` seeded with nodes (and guests) taken from an observation or a snapshot.

The rebuild drill and the what-if of a proposal run the real phases (render, observe, diff, gate, preflight,
apply, record) on it. Nothing it does reaches a real provider, the lab's database or the lab's folder: the
scratch folder is removed when the lab is closed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, NodeFacts, ObservedResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.plan import BlockKind, Mode, Op, Plan
from reconciler.phases.apply import ApplyOutcome, apply_changes
from reconciler.phases.context import LabSession
from reconciler.phases.diff import plan_lab
from reconciler.phases.fetch import fetch
from reconciler.phases.gate import PruneFacts, gate
from reconciler.phases.load import load
from reconciler.phases.observe import Observation, observe_all
from reconciler.phases.preflight import preflight
from reconciler.phases.record import record_results
from reconciler.phases.render import render_all
from reconciler.providers.base import Provider
from reconciler.providers.sim.fields import sim_desired_fields
from reconciler.providers.sim.store import machine_key
from reconciler.store.database import Database, open_database
from reconciler.store.instances import load_instances
from reconciler.store.runs import finish_run, start_run
from reconciler.store.tables import ProviderStateRow


@dataclass(frozen=True)
class SeedNode:
    """One simulated node: its capacity as observed (or recorded in a snapshot)."""

    name: str
    cpu: float
    memory_gb: float
    storage_gb: float
    gpu: int = 0
    gpu_model: str = "simulated GPU"


@dataclass(frozen=True)
class SeedGuest:
    """One guest to place on a simulated node before anything is applied (managed or not)."""

    name: str
    node: str
    owned: bool
    fields: dict[str, Any]


@dataclass
class ProviderSeed:
    """What one provider of the scratch lab starts with."""

    nodes: list[SeedNode] = field(default_factory=list)
    guests: list[SeedGuest] = field(default_factory=list)


_NUMBERS = (int, float)


def allocation_of(fields: dict[str, Any]) -> dict[str, float]:
    """Pure: a guest's configured cpu, memory_gb, storage_gb and gpu from any provider's field vocabulary
    (sim cpu/memory_gb, Proxmox cores/memory_mb, Docker cpus/memory_mb, Kubernetes and LXD cpu/memory_mb)."""

    def number(*keys: str) -> float | None:
        for key in keys:
            value = fields.get(key)
            if value is not None and value.__class__ in _NUMBERS:
                return float(value)
        return None

    cpu = number("cpu", "cores", "vcpus", "cpus", "num_cpus") or 0.0
    memory = number("memory_gb")
    if memory is None:
        mb = number("memory_mb", "memory_mib")
        memory = mb / 1024 if mb is not None else 0.0
    storage = number("storage_gb", "root_gb", "disk_gb")
    if storage is None:
        disks = fields.get("disks")
        storage = float(sum(float(d.get("size_gb") or 0) for d in disks if isinstance(d, dict))) \
            if isinstance(disks, list) else 0.0
    gpus = fields.get("gpus")
    gpu = number("gpu", "gpu_count")
    if gpu is None:
        gpu = float(len(gpus)) if isinstance(gpus, list) else 0.0
    return {"cpu": cpu, "memory_gb": memory, "storage_gb": storage, "gpu": gpu}


def seed_from_inventory(inventory: Inventory, state: DesiredState | None, *, with_guests: bool) -> ProviderSeed:
    """Pure: a provider seed from an observed inventory: its nodes, and (with_guests) every guest with its
    allocation. Guests the lab manages and main declares get main's sim fields, with the live allocation."""
    seed = ProviderSeed(nodes=[seed_node(n) for n in inventory.nodes])
    if not with_guests:
        return seed
    known = {n.name for n in inventory.nodes}
    lab = state.lab_name if state is not None else None
    for r in inventory.resources:
        if r.node is None or r.node not in known or r.status == "template" or r.fields.get("template"):
            continue  # a VM template allocates nothing: it never runs
        seed.guests.append(seed_guest(r, state.effective.get(r.name) if state is not None else None, lab))
    return seed


def seed_node(node: NodeFacts) -> SeedNode:
    """A simulated node the size of an observed one."""
    model = next((g.model for g in node.gpus if g.model), "simulated GPU")
    return SeedNode(name=node.name, cpu=node.cpu, memory_gb=node.memory_gb, storage_gb=node.storage_gb,
                    gpu=len(node.gpus), gpu_model=model)


def seed_guest(observed: ObservedResource, declared: EffectiveResource | None, lab: str | None) -> SeedGuest:
    """A simulated guest standing for an observed one (its allocation kept; main's fields when it is managed)."""
    allocation = allocation_of(observed.fields)
    owned = bool(observed.owned and observed.lab == lab and lab is not None)
    fields: dict[str, Any] = sim_desired_fields(declared) if owned and declared is not None else {
        "status": observed.status}
    fields.update({"cpu": allocation["cpu"], "memory_gb": allocation["memory_gb"],
                   "storage_gb": allocation["storage_gb"], "gpu": int(allocation["gpu"])})
    return SeedGuest(name=observed.name, node=str(observed.node), owned=owned, fields=fields)


def seed_from_snapshot_nodes(nodes: list[dict[str, Any]]) -> ProviderSeed:
    """Pure: a provider seed with the nodes of a snapshot's inventory and no guests."""
    return ProviderSeed(nodes=[seed_node(NodeFacts.model_validate(n)) for n in nodes])


def sim_config(config: ProviderConfig, seed: ProviderSeed | None) -> ProviderConfig:
    """The sim provider that stands in for config: same name and nodes, sized as seeded."""
    nodes: dict[str, dict[str, Any]] = {}
    for n in (seed.nodes if seed is not None else []):
        nodes[n.name] = {"cpu": n.cpu, "memory_gb": n.memory_gb, "storage_gb": n.storage_gb, "gpu": n.gpu,
                         "gpu_model": n.gpu_model}
    names = list(config.nodes) if not nodes else list(nodes)
    return ProviderConfig.model_construct(**{**dict(config), "type": "sim", "nodes": names,
                                             "options": {"nodes": nodes} if nodes else {},
                                             "endpoint": None})


@dataclass
class ScratchSession(LabSession):
    """A LabSession whose database, work folders and rendered output live in a scratch folder and whose
    providers are all `sim` stand-ins (the lab's repository is only read)."""

    scratch_dir: Path = field(default_factory=Path)
    seeds: dict[str, ProviderSeed] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        """The scratch lab's own `.homeport` (render index, work folders, locks)."""
        return self.scratch_dir / ".homeport"

    @property
    def rendered_dir(self) -> Path:
        """Rendered output of the scratch applies."""
        return self.scratch_dir / "rendered-configs"

    def provider(self, lab: str, name: str, config: ProviderConfig) -> Provider:
        """The sim stand-in for provider name, whatever type homeport.yaml gives it."""
        return super().provider(lab, name, sim_config(config, self.seeds.get(name)))

    def close(self) -> None:
        """Close the scratch database and remove the scratch folder."""
        try:
            super().close()
        finally:
            shutil.rmtree(self.scratch_dir, ignore_errors=True)


def open_scratch(real: LabSession, seeds: dict[str, ProviderSeed], lab: str) -> ScratchSession:
    """A scratch lab beside real (same repository and parse cache, read only), providers seeded, guests placed."""
    scratch_dir = Path(tempfile.mkdtemp(prefix="homeport-scratch-", dir=scratch_root()))
    try:
        db = open_database(f"sqlite:///{scratch_dir / 'state.db'}")
        throwaway_sqlite(db)
        # the real session's chart libraries: loading and checking the charts again costs a third of a second
        session = ScratchSession(lab_dir=real.lab_dir, repo=real.repo, db=db, charts=real.charts, cache=real.cache,
                                 clock=real.clock, sleep=lambda _s: None, actor=f"scratch:{real.actor}",
                                 actor_kind="system", _chart_libraries=dict(real._chart_libraries),
                                 scratch_dir=scratch_dir,
                                 seeds=seeds)
    except Exception:
        shutil.rmtree(scratch_dir, ignore_errors=True)
        raise
    seed_guests(db, lab, seeds)
    return session


def scratch_root() -> str | None:
    """Where scratch labs go: memory-backed /dev/shm when it is writable (a drill renders and removes thousands
    of small folders), else the system's temp folder."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else None


def throwaway_sqlite(db: Database) -> None:
    """The scratch database is thrown away: no fsync, journal in memory (its connections, now and later)."""

    def pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()

    event.listen(db.engine, "connect", pragmas)
    db.engine.dispose()


def seed_guests(db: Database, lab: str, seeds: dict[str, ProviderSeed]) -> None:
    """Write every seeded guest as a sim machine record, in one transaction."""
    with db.session() as s:
        s.add_all(ProviderStateRow(lab=lab, provider=provider, key=machine_key(g.name), value={
            "name": g.name, "node": g.node, "owned": g.owned, "lab": lab if g.owned else None, "id": f"sim-{g.name}",
            "fields": g.fields}) for provider, seed in sorted(seeds.items()) for g in seed.guests)


@dataclass
class ScratchRun:
    """One converge of the scratch lab to a revision: its plan, what applying it did, render failures."""

    state: DesiredState
    plan: Plan
    outcomes: list[ApplyOutcome]
    render_errors: dict[str, str]
    observation: Observation


def converge(session: ScratchSession, ref: str, *, apply: bool = True, render: bool = True,
             record: bool = False) -> ScratchRun:
    """Plan (and apply) the commit at ref on the scratch lab through the real phases, even off main.

    Resources whose chart fails to render are left out of the apply and reported, instead of failing the run.
    render=False renders only what is applied (apply renders each change itself), not the whole lab; the
    resources whose apply failed are rendered again afterwards, to tell a chart that does not render apart.
    record=False leaves out the record phase (instances, deviations): nothing reads a scratch lab's records.
    """
    revision = fetch(session, ref)
    state = load(session, revision)
    render_errors = _render_errors(session, state, None) if render else {}
    observation = observe_all(session, state)
    instances = load_instances(session.db, state.lab_name)
    plan = plan_lab(session, state, observation, instances)
    owned = sum(len(inv.owned(state.lab_name)) for inv in observation.inventories.values())
    gate(plan, state, mode=Mode.manual, now=session.clock(), prune=PruneFacts(owned_total=owned), backoff={})
    preflight(session, state, plan)
    for change in plan.changes:
        if change.resource in render_errors and not change.blocked and change.op is not Op.noop:
            change.hold(BlockKind.preflight, f"does not render: {render_errors[change.resource]}")
    outcomes: list[ApplyOutcome] = []
    if apply and plan.has_changes:
        run_id = start_run(session.db, state.lab_name, revision=state.revision, trigger="scratch", mode="manual")
        outcomes = apply_changes(session, state, plan, run_id)
        if record:
            record_results(session, state, plan, outcomes, observation.inventories, run_id, session.clock(),
                           instances)
        finish_run(session.db, run_id, status="ok", revision=state.revision, phase_timings={}, summary={})
        failed = {o.change.resource for o in outcomes if o.status != "applied"} & set(state.effective)
        if not render and failed:
            render_errors = _render_errors(session, state, failed)
    return ScratchRun(state, plan, outcomes, render_errors, observation)


def _render_errors(session: ScratchSession, state: DesiredState, names: set[str] | None) -> dict[str, str]:
    """Resource -> why its chart does not render (all resources, or the named ones)."""
    renders = render_all(session, state, use_index=False, names=names)
    by_file = {r.source_file: n for n, r in state.effective.items()}
    errors: dict[str, str] = {}
    for error in renders.errors:
        source, _, message = error.partition(": ")
        errors[by_file.get(source, source)] = message or error
    return errors


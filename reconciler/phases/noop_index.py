"""The no-op fast path: a run whose commit tree, engine, records and observations are all as the last fully
converged run left them skips load, render and diff, and plans every resource as the no-op it was.

How it decides (cheapest check first; the first that differs sends the run down the full path):
1. the lab has an index row (written by the last full run that did not fail; deleted when a full run starts,
   so a run that crashed half way never leaves one behind);
2. the engine key is the same (homeport's version and the files of its code and built-in charts);
3. the database stamp is the same (instance rows: count and newest update; open deviations; unfinished
   apply intents): another command that changed a record forces a full run without reuse;
4. the main branch's commit has the same Git tree id (any file changed, added or removed);
5. the run that wrote the index found the whole lab converged;
6. every enabled provider's observation digest is the same (each provider fingerprints what it observes; a
   provider that cannot vouch for its observation, e.g. a cheap listing, never takes the fast path).
When 1-3 hold but 4-6 do not, the full run still reuses the index resource by resource (see `reuse`): a
resource whose input files are as indexed is not rendered, and one whose observation is as indexed too is not
diffed. `--full` (CLI `homeport plan/apply --full`, daemon `--full`) skips all of it.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.assets import asset_dir
from reconciler.models.desired import DesiredState
from reconciler.models.lab import Lab
from reconciler.models.plan import BlockKind, BlockReason, Change, Op, Plan, Risk
from reconciler.phases.context import LabSession
from reconciler.phases.fetch import Revision, checked_out_branch, fetch
from reconciler.phases.observe import Observation, disabled_reason
from reconciler.providers.base import ObservationPrint
from reconciler.source.gitrepo import LAB_FILE, iter_desired_blobs, read_path, tree_id
from reconciler.source.loader import parse_blob
from reconciler.store.noop_index import (
    LabIndex,
    ResourceIndex,
    database_stamp,
    read_lab_index,
    read_resource_index,
    write_index,
)

INDEX_FORMAT = "1"
_ENGINE: list[str] = []


def engine_key() -> str:
    """homeport's version and the size and time of every file of its code and built-in charts (computed once per
    process): a new release or an edited chart or planner never trusts an index written by the old one."""
    if _ENGINE:
        return _ENGINE[0]
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("homeport")
    except PackageNotFoundError:
        release = "source"
    h = hashlib.blake2b(f"{INDEX_FORMAT}:{release}".encode(), digest_size=16)
    for root in sorted({Path(__file__).resolve().parents[1], asset_dir("charts")}):
        for path, size, mtime in sorted(_files(root)):
            h.update(f"{path}\0{size}\0{mtime}\n".encode())
    _ENGINE.append(h.hexdigest())
    return _ENGINE[0]


def _files(root: Path) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__" and not entry.name.startswith("."):
                        stack.append(entry.path)
                elif entry.name.endswith((".py", ".yaml", ".yml", ".j2", ".json", ".md", ".tf")):
                    st = entry.stat()
                    out.append((entry.path, st.st_size, st.st_mtime_ns))
    return out


def lab_at(session: LabSession, revision: Revision) -> Lab | None:
    """homeport.yaml of a revision, parsed and validated alone (None when it does not load)."""
    data = read_path(session.repo, revision.commit, LAB_FILE)
    if data is None:
        return None
    parsed = parse_blob(LAB_FILE, data)
    labs = [obj for _, obj in parsed.objects if isinstance(obj, Lab)]
    return labs[0] if len(labs) == 1 and not parsed.issues else None


def main_revision_light(session: LabSession) -> tuple[Revision, Lab] | None:
    """The main branch's revision and its Lab, reading homeport.yaml only (the same branch choice as
    load.load_main_revision); None when anything is unusual, so the full path explains it."""
    repo = session.repo
    start = "main" if "refs/heads/main" in repo.references else checked_out_branch(repo)
    if start is None or f"refs/heads/{start}" not in repo.references:
        return None
    revision = fetch(session, None, main_branch=start)
    lab = lab_at(session, revision)
    if lab is None:
        return None
    if lab.spec.main_branch != start:
        if f"refs/heads/{lab.spec.main_branch}" not in repo.references:
            return None
        revision = fetch(session, None, main_branch=lab.spec.main_branch)
        lab = lab_at(session, revision)
        if lab is None or lab.spec.main_branch != revision.ref:
            return None
    return revision, lab


@dataclass(slots=True)
class FastCheck:
    """The outcome of the check: a plan when the run may skip its work, else why not (and any observation
    already taken, for the full path to reuse)."""

    why: str
    plan: Plan | None = None
    revision: Revision | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    prints: dict[str, ObservationPrint] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    index: LabIndex | None = None  # the index row read, for the full path's per-resource reuse

    @property
    def skipped(self) -> int:
        """Resources planned from the index without load, render or diff."""
        return len(self.plan.changes) if self.plan is not None else 0


def observe_prints(session: LabSession, lab: Lab) -> tuple[dict[str, ObservationPrint], dict[str, str]]:
    """Each enabled provider's fingerprints; a provider that fails is left out of the prints."""
    prints: dict[str, ObservationPrint] = {}
    unavailable: dict[str, str] = {}
    for name, config in sorted(lab.spec.providers.items()):
        if not config.enabled:
            unavailable[name] = disabled_reason(name)
            continue
        try:
            prints[name] = session.provider(lab.metadata.name, name, config).observation_print()
        except Exception as exc:  # the full path observes again and reports it properly
            unavailable[name] = f"provider {name} could not be observed: {exc}"
    return prints, unavailable


def check(session: LabSession, lab_name: str) -> FastCheck:
    """Whether this run may answer from the index (see the module's docstring); never raises for a lab the full
    path would explain."""
    index = read_lab_index(session.db, lab_name)
    if index is None:
        return FastCheck("no index (no full run has found the lab converged since the last change)")
    try:
        light = main_revision_light(session)
    except Exception:  # no main branch, a broken ref: the full path says what is wrong
        light = None
    if light is None:
        return FastCheck("main's homeport.yaml does not load on its own")
    revision, lab = light
    if lab.metadata.name != lab_name:
        return FastCheck("the lab's name changed")
    if index.engine != engine_key():
        return FastCheck("homeport's code or built-in charts changed", revision=revision)
    if database_stamp(session.db, lab_name) != index.db_stamp:
        return FastCheck("instance records, deviations or intents changed since the index was written",
                         revision=revision)
    if str(revision.commit.tree_id) != index.tree_id:
        return FastCheck("the commit's tree changed", revision=revision, index=index)
    if index.plan_extras.get("converged") is False:
        return FastCheck("the last run changed something (or held it back)", revision=revision, index=index)
    prints, unavailable = observe_prints(session, lab)
    current = {n: p.digest for n, p in prints.items()}
    current.update({n: "disabled" for n, c in lab.spec.providers.items() if not c.enabled})
    for name in sorted(set(current) | set(index.providers)):
        if current.get(name) is None or current.get(name) != index.providers.get(name):
            return FastCheck(f"provider {name}'s observation changed", revision=revision, prints=prints, index=index)
    with gc_paused():
        rows = read_resource_index(session.db, lab_name)
        if len(rows) != index.resources:
            return FastCheck("the index is incomplete", revision=revision, prints=prints)
        plan = _plan_from_index(lab_name, revision.id, rows, index.plan_extras)
    return FastCheck("unchanged", plan=plan, revision=revision, unavailable=unavailable, prints=prints)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while many small acyclic objects are made (an index row and a no-op
    change per resource): otherwise their allocations set off full collections that walk every object of the
    process, several times over, for garbage they never form (reference counting frees them)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _plan_from_index(lab: str, revision: str, rows: dict[str, ResourceIndex], extras: dict[str, Any]) -> Plan:
    """The all-no-op plan of the last full run, built from trusted rows without validation."""
    changes = [_noop_change(r) for r in rows.values()]  # rows come sorted by name
    return Plan.model_construct(lab=lab, revision=revision, changes=changes,
                                unmanaged=list(extras.get("unmanaged", [])), warnings=list(extras.get("warnings", [])))


_CHANGE_FIELDS = frozenset(Change.model_fields)


DISABLED = "disabled"  # `observed` of a resource whose provider is disabled in homeport.yaml (planned, not observed)


def _noop_change(r: ResourceIndex) -> Change:
    """A no-op Change from a trusted index row. What `Change.model_construct` does, without its per-field default
    handling: every field is given here, so 10,000 of them cost milliseconds, not a large part of the run."""
    block = BlockReason(kind=BlockKind.unavailable, message=disabled_reason(r.provider)) if r.observed == DISABLED \
        else None
    change = Change.__new__(Change)
    object.__setattr__(change, "__dict__", {
        "op": Op.noop, "resource": r.name, "provider": r.provider, "provider_type": r.provider_type, "node": r.node,
        "fields": [], "reason": r.reason, "risk": Risk.low, "drift": False, "previous_name": None,
        "provider_id": r.provider_id, "desired": {}, "block": block, "placement": None, "preview": None,
    })
    object.__setattr__(change, "__pydantic_fields_set__", set(_CHANGE_FIELDS))
    object.__setattr__(change, "__pydantic_extra__", None)
    object.__setattr__(change, "__pydantic_private__", None)
    return change


@dataclass(slots=True)
class Reuse:
    """What a full run may take from the index, resource by resource: those whose inputs are unchanged need no
    render; those whose observation is unchanged too need no diff (their no-op change is the index's)."""

    rows: dict[str, ResourceIndex] = field(default_factory=dict)
    unchanged_inputs: set[str] = field(default_factory=set)
    why_not: str = ""

    def unchanged(self, observation: Observation) -> dict[str, Change]:
        """The no-op changes of resources whose inputs and observation are both as indexed."""
        out: dict[str, Change] = {}
        with gc_paused():
            for name in sorted(self.unchanged_inputs):
                row = self.rows[name]
                prints = observation.prints.get(row.provider)
                if prints is None or prints.digest is None or row.provider in observation.unavailable:
                    continue
                if row.observed not in ("-", DISABLED) and prints.resources.get(name) == row.observed:
                    out[name] = _noop_change(row)
        return out


def reuse(session: LabSession, state: DesiredState, revision: Revision, fast: FastCheck) -> Reuse:
    """The per-resource reuse a full run may make of the index. Only when the index was valid as the run began
    (the last full run converged and wrote it, and nothing else changed the records since), the engine is the same,
    and no resource belongs to an anti-affinity group (placing a member reads where the others run)."""
    index = fast.index
    if index is None or fast.revision is None or fast.revision.id != revision.id:
        return Reuse(why_not="no index valid at the start of this run")
    if any(e.placement_rules.anti_affinity_group for e in state.effective.values()):
        return Reuse(why_not="anti-affinity groups are always planned in full")
    with gc_paused():
        rows = read_resource_index(session.db, state.lab_name)
    keys = input_keys(session, state, revision)
    same = {n for n, e in state.effective.items()
            if (r := rows.get(n)) is not None and r.input_key == keys.get(n) and r.provider == e.provider}
    return Reuse(rows=rows, unchanged_inputs=same)


def _of_disabled(change: Change, state: DesiredState) -> bool:
    """A no-op held back only because homeport.yaml disables its provider (the same for as long as the tree is)."""
    config = state.lab.spec.providers.get(change.provider)
    return (change.op is Op.noop and change.block is not None and change.block.kind is BlockKind.unavailable
            and config is not None and not config.enabled)


def converged(plan: Plan, observation: Observation, state: DesiredState) -> bool:
    """Whether a full run found the whole lab converged: every resource a no-op that is not held back (but for
    resources of disabled providers), every enabled provider observed with a digest it vouches for."""
    if any((c.op is not Op.noop or c.block is not None) and not _of_disabled(c, state) for c in plan.changes):
        return False
    enabled = {n for n, c in state.lab.spec.providers.items() if c.enabled}
    if any(n in enabled for n in observation.unavailable):
        return False
    return all(observation.prints.get(n) is not None and observation.prints[n].digest is not None for n in enabled)


def input_keys(session: LabSession, state: DesiredState, revision: Revision) -> dict[str, str]:
    """Each resource's input key: a hash of the blob ids of the files it is made from (its own file, its
    template's, its pool chain's, homeport.yaml) and of the lab's charts tree."""
    blobs = dict(iter_desired_blobs(session.repo, revision.commit))
    charts = tree_id(revision.commit, "charts") or "-"
    lab_blob = blobs.get(LAB_FILE, "-")
    keys: dict[str, str] = {}
    for name, eff in state.effective.items():
        own = eff.source_file or "-"
        parts = [lab_blob, charts, f"{own}:{blobs.get(own, '-')}", _blob(state, blobs, "UniversalResource", name)]
        if eff.template:
            parts.append(_blob(state, blobs, "DeploymentTemplate", eff.template))
        pool: str | None = eff.pool_name
        seen: set[str] = set()
        while pool and pool not in seen:
            seen.add(pool)
            parts.append(_blob(state, blobs, "ResourcePool", pool))
            pool = state.pool_parents.get(pool)
        keys[name] = hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()
    return keys


def _blob(state: DesiredState, blobs: dict[str, str], kind: str, name: str) -> str:
    ref = state.sources.get((kind, name))
    return f"{ref.file}@{ref.doc}:{blobs.get(ref.file, '-')}" if ref is not None else f"{kind}/{name}:-"


def remember(session: LabSession, state: DesiredState, revision: Revision, plan: Plan, observation: Observation,
             run_id: str) -> int:
    """Write the index after a full run: every resource it planned as a no-op that was not held back (the others
    lose their rows). Only a run that found the whole lab converged lets the next run skip everything; after a
    run that changed something, the next one renders and diffs only what is not as indexed. Returns the resource
    rows written."""
    whole = converged(plan, observation, state)
    keys = input_keys(session, state, revision)
    resources = {}
    for c in plan.changes:
        disabled = _of_disabled(c, state)
        if c.op is not Op.noop or (c.block is not None and not disabled) or c.resource not in state.effective:
            continue
        prints = observation.prints.get(c.provider)
        observed = DISABLED if disabled else (prints.resources.get(c.resource, "-") if prints is not None else "-")
        resources[c.resource] = ResourceIndex(
            name=c.resource, provider=c.provider, provider_type=c.provider_type, node=c.node,
            provider_id=c.provider_id, input_key=keys.get(c.resource, "-"), render_key=None,
            observed=observed, reason=c.reason,
        )
    providers: dict[str, str] = {n: p.digest for n, p in observation.prints.items() if p.digest is not None}
    providers.update({n: "disabled" for n, c in state.lab.spec.providers.items() if not c.enabled})
    lab_index = LabIndex(
        lab=state.lab_name, tree_id=str(revision.commit.tree_id), engine=engine_key(), run_id=run_id,
        revision=revision.id, db_stamp=database_stamp(session.db, state.lab_name), providers=providers,
        plan_extras={"unmanaged": list(plan.unmanaged), "warnings": list(plan.warnings), "converged": whole},
        resources=len(resources),
    )
    return write_index(session.db, lab_index, resources)

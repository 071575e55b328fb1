"""What-if of a proposal: run it on a simulated copy of the live lab before merging it.

The providers the proposal touches are observed (read only); a scratch lab (see `scratch`) gets their nodes
and every guest on them with its allocation, managed or not. main is applied onto it, then the proposal,
through the real phases. The report gives the proposal's plan there, where each new or moved resource lands,
each node's allocation against capacity x allocation ratio before and after, which other open proposals
would no longer fit afterwards, and the monthly cost change where homeport has a cited price.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.inventory import Inventory
from reconciler.models.plan import Op, Plan
from reconciler.phases.diff import plan_lab
from reconciler.phases.fetch import fetch
from reconciler.phases.load import load
from reconciler.phases.observe import observe_all
from reconciler.plan.capacity import capacity_report
from reconciler.proposals.forge import ForgeClient, ForgeError
from reconciler.proposals.prbody import pull_request_body
from reconciler.proposals.records import ProposalView
from reconciler.service import queries
from reconciler.service.errors import Conflict, NotFound, engine_errors
from reconciler.service.lab import LabService
from reconciler.service.scratch import (
    ScratchSession,
    allocation_of,
    converge,
    open_scratch,
    seed_from_inventory,
)
from reconciler.service.whatif_cost import CostChange, cost_change
from reconciler.store.instances import load_instances
from reconciler.store.whatifs import latest_whatif, save_whatif


class NodeLoad(BaseModel):
    """One node's allocation against its capacity x allocation ratio."""

    provider: str
    node: str
    cpu: float
    cpu_allocated: float
    cpu_ratio: float
    memory_gb: float
    memory_allocated_gb: float
    memory_ratio: float
    gpus: int = 0
    gpus_allocated: int = 0
    guests: int = 0

    @property
    def over(self) -> list[str]:
        """What passes its limit: 'cpu 70/64 (16 x 4.0)', 'memory 40/32 GiB', 'gpu 2/1'."""
        found = []
        if self.cpu and self.cpu_allocated > self.cpu * self.cpu_ratio + 1e-9:
            found.append(f"cpu {self.cpu_allocated:g}/{self.cpu * self.cpu_ratio:g} "
                         f"({self.cpu:g} x {self.cpu_ratio:g})")
        if self.memory_gb and self.memory_allocated_gb > self.memory_gb * self.memory_ratio + 1e-9:
            found.append(f"memory {self.memory_allocated_gb:g}/{self.memory_gb * self.memory_ratio:g} GiB "
                         f"({self.memory_gb:g} x {self.memory_ratio:g})")
        if self.gpus_allocated > self.gpus:
            found.append(f"gpu {self.gpus_allocated}/{self.gpus}")
        return found


class NodeChange(BaseModel):
    """A node before and after the proposal."""

    provider: str
    node: str
    before: NodeLoad
    after: NodeLoad
    over_after: list[str] = Field(default_factory=list, description="Limits the node passes after the proposal")
    over_before: list[str] = Field(default_factory=list)


class Placement(BaseModel):
    """Where a new or moved resource lands in the simulation."""

    resource: str
    provider: str
    op: str
    node: str | None
    reason: str


class PendingFit(BaseModel):
    """Another open proposal, and whether it still fits once this one is applied."""

    proposal_id: str
    title: str
    fits_before: bool
    fits_after: bool
    why: list[str] = Field(default_factory=list, description="Why it does not fit after (nodes, limits)")


class WhatIfReport(BaseModel):
    """The what-if of one proposal on a simulated copy of the live lab."""

    proposal_id: str
    title: str
    main_commit: str
    head_commit: str
    created_at: datetime | None = None
    providers: list[str] = Field(description="Providers observed and simulated")
    unavailable: dict[str, str] = Field(default_factory=dict)
    plan: dict[str, Any] = Field(description="The proposal's plan on the simulated lab after main")
    placements: list[Placement] = Field(default_factory=list)
    nodes: list[NodeChange] = Field(default_factory=list)
    over_ratio: list[str] = Field(default_factory=list, description="'sim-3: memory 40/32 GiB (32 x 1)'")
    no_longer_fit: list[PendingFit] = Field(default_factory=list)
    pending: list[PendingFit] = Field(default_factory=list)
    cost: CostChange
    failed: list[str] = Field(default_factory=list, description="Changes whose simulated apply failed or was held")
    notes: list[str] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def summary(self) -> str:
        """One line: changes, nodes over their ratio, proposals that would no longer fit, cost."""
        counts = ", ".join(f"{n} {op}" for op, n in self.plan.get("counts", {}).items() if n and op != "noop")
        parts = [counts or "no changes"]
        parts.append(f"over ratio: {'; '.join(self.over_ratio)}" if self.over_ratio else "no node over its ratio")
        if self.no_longer_fit:
            parts.append("would no longer fit: " + ", ".join(p.proposal_id for p in self.no_longer_fit))
        parts.append(self.cost.line)
        return "; ".join(parts)

    def markdown(self) -> str:
        """The report as Markdown (PR bodies, review pages)."""
        lines = [f"**What-if** on a simulated copy of the live lab (main {self.main_commit[:12]}, "
                 f"providers {', '.join(self.providers) or 'none'}): {self.summary}", ""]
        if self.placements:
            lines.append("| resource | op | node | why |")
            lines.append("|---|---|---|---|")
            lines += [f"| {p.resource} | {p.op} | {p.node or '-'} | {p.reason} |" for p in self.placements]
            lines.append("")
        changed = [n for n in self.nodes if n.before != n.after or n.over_after]
        if changed:
            lines.append("| node | cpu before → after | memory GiB before → after | over its ratio after |")
            lines.append("|---|---|---|---|")
            for n in changed:
                lines.append(
                    f"| {n.provider}/{n.node} | {n.before.cpu_allocated:g} → {n.after.cpu_allocated:g} of "
                    f"{n.after.cpu:g} x {n.after.cpu_ratio:g} | {n.before.memory_allocated_gb:g} → "
                    f"{n.after.memory_allocated_gb:g} of {n.after.memory_gb:g} x {n.after.memory_ratio:g} | "
                    f"{'; '.join(n.over_after) or 'no'} |")
            lines.append("")
        for p in self.no_longer_fit:
            lines.append(f"- proposal {p.proposal_id} ({p.title}) would no longer fit: {'; '.join(p.why)}")
        for f in self.failed:
            lines.append(f"- {f}")
        for note in self.notes:
            lines.append(f"- note: {note}")
        return "\n".join(lines).rstrip() + "\n"


def whatif_proposal(lab: LabService, proposal_id: str, *, store: bool = True, actor: str | None = None,
                    actor_kind: str | None = None) -> WhatIfReport:
    """Simulate main then the proposal on a scratch copy of the live providers it touches; store the report
    (recorded as run by actor, default the service's)."""
    started = time.perf_counter()
    proposal = queries.proposal(lab, proposal_id)
    if proposal.status != "open":
        raise Conflict(f"proposal {proposal.id} is {proposal.status}: a what-if is for open proposals")
    main = lab.state()
    head = lab.state(ref=proposal.head_commit)
    affected = affected_providers(main, head)
    enabled = {p for p in affected if p in main.lab.spec.providers and main.lab.spec.providers[p].enabled}
    notes = [f"provider {p} is disabled (enabled: false): not simulated" for p in sorted(affected - enabled)]
    observation = lab.observe(main, only=enabled) if enabled else None
    inventories = observation.inventories if observation else {}
    seeds = {name: seed_from_inventory(inv, main, with_guests=True) for name, inv in inventories.items()}
    others = [p for p in queries.proposals(lab, status="open") if p.id != proposal.id]
    others.sort(key=lambda p: (p.created_at or datetime.min, p.id))
    with engine_errors():
        scratch = open_scratch(lab.session, seeds, main.lab_name)
        try:
            report = _simulate(scratch, main, proposal.head_commit, sorted(inventories), others)
        finally:
            scratch.close()
    report = report.model_copy(update={
        "proposal_id": proposal.id, "title": proposal.title, "main_commit": main.revision,
        "head_commit": proposal.head_commit, "created_at": lab.session.clock(),
        "unavailable": dict(observation.unavailable) if observation else {},
        "cost": cost_change(main, head), "notes": notes + report.notes,
        "seconds": round(time.perf_counter() - started, 3)})
    if store:
        report.notes.extend(refresh_pull_request(lab, proposal, report, head))
        with engine_errors():
            save_whatif(lab.session.db, lab=main.lab_name, proposal_id=proposal.id,
                        head_commit=proposal.head_commit, main_commit=main.revision,
                        report={**report.model_dump(mode="json"), "summary": report.summary},
                        created_by=actor or lab.actor, actor_kind=actor_kind or lab.actor_kind)
    return report


def refresh_pull_request(lab: LabService, proposal: ProposalView, report: WhatIfReport,
                         state: DesiredState) -> list[str]:
    """Put the what-if into the proposal's pull request body, when it has one; a forge that refuses is a note."""
    forge = state.lab.spec.proposals.forge
    if not proposal.forge_url or forge is None:
        return []
    number = proposal.forge_url.rstrip("/").rsplit("/", 1)[-1]
    if not number.isdigit():
        return [f"pull request {proposal.forge_url}: no number in its address; its body was not updated"]
    client = None
    try:
        client = ForgeClient(forge)
        body = pull_request_body(proposal, agent=proposal.author.startswith("agent"), whatif=report.markdown())
        client.update_pull_request_body(int(number), body)
    except ForgeError as exc:
        return [f"the pull request's body was not updated: {exc}"]
    finally:
        if client is not None:
            client.close()
    return [f"shown in the body of pull request {proposal.forge_url}"]


def stored_whatif(lab: LabService, proposal_id: str) -> WhatIfReport | None:
    """The newest stored what-if of a proposal (None when none was run)."""
    with engine_errors():
        row = latest_whatif(lab.session.db, proposal_id)
    if row is None:
        return None
    data = {k: v for k, v in row.report.items() if k != "summary"}
    return WhatIfReport.model_validate(data)


def affected_providers(main: DesiredState, head: DesiredState) -> set[str]:
    """Pure: providers of the resources the proposal adds, removes or changes."""
    names = set(main.effective) | set(head.effective)
    found: set[str] = set()
    for name in names:
        before, after = main.effective.get(name), head.effective.get(name)
        if before is not None and after is not None and before == after:
            continue
        found.update(r.provider for r in (before, after) if r is not None)
    return found


def _simulate(scratch: ScratchSession, main: DesiredState, head_commit: str, providers: list[str],
              others: list[Any]) -> WhatIfReport:
    converge(scratch, main.revision, render=False)
    before = node_loads(scratch, main)
    fits_before = {p.id: pending_fit(scratch, p.head_commit, before) for p in others}
    run = converge(scratch, head_commit, render=False)
    after = node_loads(scratch, main)
    fits_after = {p.id: pending_fit(scratch, p.head_commit, after) for p in others}
    placements = [Placement(resource=c.resource, provider=c.provider, op=c.op.value, node=c.node,
                            reason=c.blocked or c.reason)
                  for c in run.plan.changes
                  if c.op in (Op.create, Op.replace) or any(f.path == "node" for f in c.fields)]
    failed = [f"{o.change.resource}: {o.status}: {o.message}" for o in run.outcomes if o.status != "applied"]
    failed += [f"{c.resource}: held back: {c.blocked}" for c in run.plan.changes
               if c.blocked and c.op is not Op.noop and c.provider in providers]
    nodes = []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if b is None or a is None:
            continue
        nodes.append(NodeChange(provider=key[0], node=key[1], before=b, after=a, over_after=a.over, over_before=b.over))
    over = [f"{n.provider}/{n.node}: {'; '.join(n.over_after)}" for n in nodes if n.over_after]
    pending = []
    for p in others:
        ok_before, _ = fits_before[p.id]
        ok_after, why = fits_after[p.id]
        pending.append(PendingFit(proposal_id=p.id, title=p.title, fits_before=ok_before, fits_after=ok_after,
                                  why=why))
    return WhatIfReport(proposal_id="", title="", main_commit="", head_commit="", providers=providers,
                        plan=plan_summary(run.plan, providers), placements=placements, nodes=nodes, over_ratio=over,
                        no_longer_fit=[p for p in pending if p.fits_before and not p.fits_after], pending=pending,
                        cost=CostChange(), failed=failed)


def plan_summary(plan: Plan, providers: list[str]) -> dict[str, Any]:
    """The plan's counts, risk and actionable changes (on the simulated providers)."""
    changes = [c for c in plan.changes if c.provider in providers]
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.op.value] = counts.get(c.op.value, 0) + 1
    actionable = [c for c in changes if c.op is not Op.noop]
    return {"counts": counts, "risk": max((c.risk for c in actionable), key=lambda r: r.rank, default=plan.risk).value,
            "changes": [{"op": c.op.value, "resource": c.resource, "provider": c.provider, "node": c.node,
                         "risk": c.risk.value, "reason": c.reason, "blocked": c.blocked} for c in actionable]}


def node_loads(scratch: ScratchSession, state: DesiredState) -> dict[tuple[str, str], NodeLoad]:
    """Every simulated node's allocation (all guests, managed or not) against capacity x ratio."""
    observation = observe_all(scratch, state, only=set(scratch.seeds))
    return loads_of(state, observation.inventories)


def loads_of(state: DesiredState, inventories: dict[str, Inventory]) -> dict[tuple[str, str], NodeLoad]:
    """Pure: per node, its allocation against capacity with the ratios placement uses there (nearest pool,
    then provider, then the default), from the capacity view."""
    report = capacity_report(state, inventories, {})
    return {(n.provider, n.node): NodeLoad(
        provider=n.provider, node=n.node, cpu=n.cpu, cpu_allocated=n.cpu_allocated, cpu_ratio=n.cpu_allocation_ratio,
        memory_gb=n.memory_gb, memory_allocated_gb=n.memory_allocated_gb, memory_ratio=n.memory_allocation_ratio,
        gpus=n.gpus, gpus_allocated=n.gpus - n.gpus_free, guests=n.guests) for n in report.nodes}


def pending_fit(scratch: ScratchSession, head_commit: str,
                loads: dict[tuple[str, str], NodeLoad]) -> tuple[bool, list[str]]:
    """Whether another proposal's creates and growth fit the simulated lab as it is now (plan only)."""
    try:
        state = load(scratch, fetch(scratch, head_commit))
    except Exception as exc:  # a pending proposal that no longer loads cannot fit; say why
        return False, [f"does not load: {exc}"]
    observation = observe_all(scratch, state, only=set(scratch.seeds))
    plan = plan_lab(scratch, state, observation, load_instances(scratch.db, state.lab_name))
    observed = {(r.name): r for inv in observation.inventories.values() for r in inv.resources}
    extra: dict[tuple[str, str], dict[str, float]] = {}
    why: list[str] = []
    for c in plan.changes:
        if c.provider not in scratch.seeds or c.op not in (Op.create, Op.replace, Op.update):
            continue
        if c.op is Op.create and c.node is None:
            why.append(f"{c.resource}: {c.blocked or c.reason}")
            continue
        want = allocation_of(c.desired)
        current = observed.get(c.resource)
        had = allocation_of(current.fields) if current is not None and c.op is not Op.create else None
        node = c.node or (current.node if current is not None else None)
        if node is None:
            continue
        slot = extra.setdefault((c.provider, node), {"cpu": 0.0, "memory_gb": 0.0, "gpu": 0.0})
        for key in slot:
            slot[key] += want[key] - (had[key] if had else 0.0)
    for (provider, node), add in sorted(extra.items()):
        base = loads.get((provider, node))
        if base is None:
            continue
        grown = base.model_copy(update={"cpu_allocated": base.cpu_allocated + add["cpu"],
                                        "memory_allocated_gb": base.memory_allocated_gb + add["memory_gb"],
                                        "gpus_allocated": base.gpus_allocated + int(add["gpu"])})
        if grown.over and not base.over:
            why.append(f"{provider}/{node}: {'; '.join(grown.over)}")
        elif grown.over and (add["cpu"] > 0 or add["memory_gb"] > 0 or add["gpu"] > 0):
            why.append(f"{provider}/{node} is already over its ratio ({'; '.join(base.over)}) and it adds more")
    return not why, why


def require_whatif(lab: LabService, proposal_id: str) -> WhatIfReport:
    """The stored what-if of a proposal; NotFound says how to run one."""
    report = stored_whatif(lab, proposal_id)
    if report is None:
        raise NotFound(f"no what-if of proposal {proposal_id!r} yet: run `homeport proposals whatif {proposal_id}`")
    return report

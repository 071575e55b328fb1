"""Deterministic placement over the one capacity model: allocation against capacity x ratio, constraints,
anti-affinity and GPUs; usage only breaks ties. Same inventory + same input = same node, with the reason.

A node fits a guest when its status is online, it meets the template's node constraints, the guest is not
bigger than the node (more vCPUs than cores, more memory than the node has), the vCPUs and memory already
allocated plus the guest's stay within cores x cpu_allocation_ratio and memory x memory_allocation_ratio,
a free GPU of the asked model is there, and the target storage has the space (where the provider reports it).
Among fitting nodes the least loaded one (allocation after placing, as a share of what may be allocated)
wins; then a node without free GPUs for a guest that asks none; then current usage; then a stable hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from reconciler.models.inventory import NodeFacts
from reconciler.models.placement import Demand, Limit, NodeVerdict, PlacementReport, PlacementRules

ONLINE = ("online", "running", "ready")
BUSY_SHARE = 0.9  # usage above this on the picked node is a warning (never a refusal)


@dataclass
class NodeLedger:
    """One node's capacity and what this plan has claimed on it so far."""

    facts: NodeFacts
    cpu_claimed: float = 0.0
    memory_claimed_gb: float = 0.0
    gpus_claimed: list[str] = field(default_factory=list)
    storage_claimed_gb: dict[str, float] = field(default_factory=dict)
    usage: float = 0.0  # usage_share(facts), computed once
    has_free_gpu: bool = False

    def __post_init__(self) -> None:
        self.usage = usage_share(self.facts)
        self.has_free_gpu = self.facts.free_gpus > 0


@dataclass
class Ledger:
    """Capacity of every node of one provider, with what earlier placements in the same plan claimed."""

    nodes: dict[str, NodeLedger]
    groups: dict[str, set[str]] = field(default_factory=dict)
    ordered: list[NodeLedger] = field(default_factory=list)  # by node name, for a stable order

    def __post_init__(self) -> None:
        self.ordered = [self.nodes[n] for n in sorted(self.nodes)]

    @classmethod
    def of(cls, nodes: list[NodeFacts]) -> Ledger:
        """A ledger over the observed nodes (nothing claimed yet)."""
        return cls({n.name: NodeLedger(n) for n in nodes})

    def join_group(self, group: str | None, node: str | None) -> None:
        """Record that a member of an anti-affinity group runs on node."""
        if group and node:
            self.groups.setdefault(group, set()).add(node)

    def claim(self, node: str, demand: Demand, group: str | None = None) -> None:
        """Reserve demand on node for the rest of the plan."""
        entry = self.nodes.get(node)
        if entry is not None:
            entry.cpu_claimed += demand.cpu
            entry.memory_claimed_gb += demand.memory_gb
            entry.gpus_claimed.extend([demand.gpu_model or ""] * demand.gpus)
            if demand.storage_pool and demand.storage_gb:
                pool = demand.storage_pool
                entry.storage_claimed_gb[pool] = entry.storage_claimed_gb.get(pool, 0.0) + demand.storage_gb
        self.join_group(group, node)


def _tiebreak(resource: str, node: str) -> bytes:
    # stable across processes (unlike hash()) and different per resource: same input = same node, ties spread
    return hashlib.blake2b(f"{resource}\0{node}".encode(), digest_size=8).digest()


def _gpu_matches(model: str, wanted: str | None) -> bool:
    return not wanted or wanted.lower() in model.lower()


def _free_gpus(entry: NodeLedger, model: str | None) -> int:
    free = [g.model for g in entry.facts.gpus if g.in_use_by is None and _gpu_matches(g.model, model)]
    taken = sum(1 for m in entry.gpus_claimed if not model or not m or _gpu_matches(m, model))
    return len(free) - taken


def _constraint_problem(facts: NodeFacts, rules: PlacementRules) -> str | None:
    c = rules.constraints
    if not c.any:
        return None
    if c.has_gpu and not facts.gpus:
        return "the template needs a node with a GPU (node_constraints has_gpu); it has none"
    if c.gpu_model and not any(_gpu_matches(g.model, c.gpu_model) for g in facts.gpus):
        have = ", ".join(g.model for g in facts.gpus) or "none"
        return f"the template needs a {c.gpu_model} GPU; the node has {have}"
    if c.min_memory_gb and facts.memory_gb < c.min_memory_gb:
        return f"the template needs a node with at least {c.min_memory_gb:g} GiB; it has {facts.memory_gb:g}"
    if c.min_cpu and facts.cpu < c.min_cpu:
        return f"the template needs a node with at least {c.min_cpu:g} cores; it has {facts.cpu:g}"
    for key, value in c.labels.items():
        if facts.labels.get(key) != value:
            return f"the template needs node label {key}={value}; the node has {facts.labels.get(key)!r}"
    return None


def assess(
    entry: NodeLedger, demand: Demand, rules: PlacementRules, constrained: bool | None = None
) -> tuple[Limit, float]:
    """(limit, load): "ok" and the share of allocatable capacity allocated after placing, or the first rule the
    node breaks (pure, numbers only: the explanation is written by judge() for the nodes a plan shows).
    constrained: whether rules have node constraints, when the caller already knows (a big plan asks 50,000 times)."""
    f = entry.facts
    if f.status not in ONLINE:
        return "status", 0.0
    if (rules.constraints.any if constrained is None else constrained) and _constraint_problem(f, rules):
        return "constraint", 0.0
    if f.cpu and demand.cpu > f.cpu:
        return "cpu", 0.0
    if f.memory_gb and demand.memory_gb > f.memory_gb:
        return "memory", 0.0
    cpu_after = f.cpu_allocated + entry.cpu_claimed + demand.cpu
    mem_after = f.memory_allocated_gb + entry.memory_claimed_gb + demand.memory_gb
    cpu_cap = f.cpu * rules.cpu_allocation_ratio
    mem_cap = f.memory_gb * rules.memory_allocation_ratio
    if f.cpu and cpu_after > cpu_cap + 1e-9:
        return "cpu", 0.0
    if f.memory_gb and mem_after > mem_cap + 1e-9:
        return "memory", 0.0
    if demand.gpus and _free_gpus(entry, demand.gpu_model) < demand.gpus:
        return "gpu", 0.0
    if demand.storage_pool and demand.storage_gb:
        pool = f.storage_pool(demand.storage_pool)
        if pool is not None and pool.free_gb - entry.storage_claimed_gb.get(pool.name, 0.0) + 1e-9 < demand.storage_gb:
            return "storage", 0.0
    cpu_share = cpu_after / cpu_cap if cpu_cap else 0.0
    mem_share = mem_after / mem_cap if mem_cap else 0.0
    return "ok", cpu_share if cpu_share > mem_share else mem_share


def usage_share(facts: NodeFacts) -> float:
    """The busier of cpu and memory use right now, as a share of the node (the tie-breaker)."""
    cpu = facts.cpu_used / facts.cpu if facts.cpu else 0.0
    mem = facts.memory_used_gb / facts.memory_gb if facts.memory_gb else 0.0
    return round(max(cpu, mem), 4)


def judge(entry: NodeLedger, demand: Demand, rules: PlacementRules) -> NodeVerdict:
    """Whether one node fits the demand, with the limiting figure for people (pure)."""
    f = entry.facts
    limit, load = assess(entry, demand, rules)
    load = round(load, 4)
    cpu_alloc = f.cpu_allocated + entry.cpu_claimed
    mem_alloc = f.memory_allocated_gb + entry.memory_claimed_gb
    cpu_cap = f.cpu * rules.cpu_allocation_ratio
    mem_cap = f.memory_gb * rules.memory_allocation_ratio
    if limit == "ok":
        figure = (
            f"cpu {cpu_alloc + demand.cpu:g}/{cpu_cap:g}, memory {mem_alloc + demand.memory_gb:g}/{mem_cap:g} GiB "
            "allocated after placing"
            if cpu_cap or mem_cap
            else "capacity not reported by the provider"
        )
    elif limit == "status":
        figure = f"{f.name} is {f.status}"
    elif limit == "constraint":
        figure = _constraint_problem(f, rules) or "a node constraint is not met"
    elif limit == "cpu" and demand.cpu > f.cpu:
        figure = f"the guest asks {demand.cpu:g} vCPUs, more than the node's {f.cpu:g} cores"
    elif limit == "memory" and demand.memory_gb > f.memory_gb:
        figure = f"the guest asks {demand.memory_gb:g} GiB, more than the node's {f.memory_gb:g} GiB"
    elif limit == "cpu":
        figure = (
            f"cpu {cpu_alloc:g} allocated + {demand.cpu:g} > {cpu_cap:g} ({f.cpu:g} cores x "
            f"{rules.cpu_allocation_ratio:g})"
        )
    elif limit == "memory":
        figure = (
            f"memory {mem_alloc:g} GiB allocated + {demand.memory_gb:g} > {mem_cap:g} ({f.memory_gb:g} GiB x "
            f"{rules.memory_allocation_ratio:g})"
        )
    elif limit == "gpu":
        kind = f"{demand.gpu_model} " if demand.gpu_model else ""
        figure = f"{max(_free_gpus(entry, demand.gpu_model), 0)} free {kind}GPU(s), needs {demand.gpus}"
    else:
        pool = f.storage_pool(demand.storage_pool or "")
        free_gb = (pool.free_gb if pool else 0.0) - entry.storage_claimed_gb.get(demand.storage_pool or "", 0.0)
        figure = f"storage {demand.storage_pool} has {free_gb:g} GiB free, needs {demand.storage_gb:g}"
    # model_construct: values computed right here, for the few nodes a plan shows
    return NodeVerdict.model_construct(
        node=f.name,
        fits=limit == "ok",
        limit=limit,
        figure=figure,
        cpu_allocated=round(cpu_alloc, 3),
        cpu_allocatable=round(cpu_cap, 3),
        memory_allocated_gb=round(mem_alloc, 3),
        memory_allocatable_gb=round(mem_cap, 3),
        load=load,
        usage=entry.usage,
    )


Ranked = tuple[bool, float, bool, float, NodeLedger]


def break_ties(name: str, ranked: list[Ranked]) -> list[Ranked]:
    """Sort by (anti-affinity, load, GPU sparing, usage); nodes equal on all of them are ordered by a stable hash
    of (resource, node), computed only for those, so equal nodes share resources out evenly across a plan."""
    ranked.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    i, end = 0, len(ranked)
    while i < end:
        first = ranked[i]
        j = i + 1
        while (
            j < end
            and ranked[j][1] == first[1]
            and ranked[j][0] == first[0]
            and ranked[j][2] == first[2]
            and ranked[j][3] == first[3]
        ):
            j += 1
        if j - i > 1:
            ranked[i:j] = sorted(ranked[i:j], key=lambda r: _tiebreak(name, r[4].facts.name))
        i = j
    return ranked


def place(
    name: str,
    demand: Demand,
    rules: PlacementRules,
    ledger: Ledger,
    *,
    candidates: list[str] | None = None,
    pinned: str | None = None,
) -> PlacementReport:
    """Choose a node for one new guest and claim its demand there (or explain why none fits)."""
    base = {
        "demand": demand,
        "cpu_allocation_ratio": rules.cpu_allocation_ratio,
        "memory_allocation_ratio": rules.memory_allocation_ratio,
    }
    notes = list(demand.notes)
    if pinned:
        entry = ledger.nodes.get(pinned)
        if entry is None:
            known = ", ".join(sorted(ledger.nodes)) or "none"
            return PlacementReport(
                node=None,
                source="refused",
                warnings=notes,
                **base,
                reason=f"placement.node {pinned} is not a node of the provider (nodes: {known})",
            )
        verdict = judge(entry, demand, rules)
        if verdict.limit == "status":  # a pinned node that is down: the provider's preflight says why
            return PlacementReport(
                node=pinned,
                source="pinned",
                nodes=[verdict],
                warnings=[*notes, f"{verdict.figure}: its capacity could not be checked"],
                **base,
                reason=f"pinned to {pinned} by placement.node ({verdict.figure})",
            )
        if not verdict.fits:
            return PlacementReport(
                node=None,
                source="refused",
                nodes=[verdict],
                warnings=notes,
                **base,
                reason=f"placement.node {pinned} cannot take {demand.describe()}: {verdict.figure}",
            )
        ledger.claim(pinned, demand, rules.anti_affinity_group)
        return PlacementReport(
            node=pinned,
            source="pinned",
            nodes=[verdict],
            warnings=notes + _busy(entry),
            **base,
            reason=f"pinned to {pinned} by placement.node; fits: {verdict.figure}",
        )
    wanted = set(candidates) if candidates else None
    entries = ledger.ordered if wanted is None else [e for e in ledger.ordered if e.facts.name in wanted]
    if not entries:
        names = ", ".join(sorted(wanted or ())) or "(none)"
        return PlacementReport(
            node=None,
            source="refused",
            warnings=notes,
            **base,
            reason=f"none of the pool's nodes ({names}) is known to the provider",
        )
    group_nodes = set(ledger.groups.get(rules.anti_affinity_group or "", ()))
    spare_gpu = demand.gpus == 0
    constrained = rules.constraints.any
    ranked: list[tuple[bool, float, bool, float, NodeLedger]] = []
    for entry in entries:
        limit, load = assess(entry, demand, rules, constrained)
        if limit == "ok":
            gpu_node = spare_gpu and entry.has_free_gpu
            ranked.append((entry.facts.name in group_nodes, load, gpu_node, entry.usage, entry))
    if not ranked:
        verdicts = [judge(e, demand, rules) for e in entries]
        limits = "; ".join(f"{v.node}: {v.figure}" for v in verdicts)
        return PlacementReport(
            node=None,
            source="refused",
            nodes=verdicts,
            warnings=notes,
            **base,
            reason=f"no node fits {demand.describe()}: {limits}",
        )
    if group_nodes and rules.anti_affinity_members:
        hard = rules.anti_affinity_required or len(entries) >= rules.anti_affinity_members
        apart = [r for r in ranked if not r[0]]
        if hard and not apart:
            taken = ", ".join(sorted(group_nodes))
            why = (
                f"anti-affinity {rules.anti_affinity_group}: every node that fits {demand.describe()} already runs a "
                f"member ({taken}); {rules.anti_affinity_members} members need {rules.anti_affinity_members} nodes"
            )
            if rules.anti_affinity_required:
                why += " (members publishing ports cannot share a node)"
            return PlacementReport(
                node=None,
                source="refused",
                nodes=[judge(e, demand, rules) for e in entries],
                warnings=notes,
                **base,
                reason=why,
            )
        if hard:
            ranked = apart
    ranked = break_ties(name, ranked)
    fitting = [judge(r[4], demand, rules) for r in ranked[:2]]
    best = fitting[0]
    runner = fitting[1] if len(fitting) > 1 else None
    warnings = notes + _busy(ledger.nodes[best.node])
    if best.node in group_nodes:
        short = (
            f" (the pool has {len(entries)} node(s) for {rules.anti_affinity_members} members)"
            if rules.anti_affinity_members > len(entries)
            else ""
        )
        warnings.append(
            f"anti-affinity: {best.node} already runs a member of {rules.anti_affinity_group}; no other node fits"
            + short
        )
    ledger.claim(best.node, demand, rules.anti_affinity_group)
    why = f"least allocated of {len(ranked)} fitting node(s): {best.figure}"
    if group_nodes and best.node not in group_nodes:
        why += f"; away from {', '.join(sorted(group_nodes))} (anti-affinity {rules.anti_affinity_group})"
    if runner is not None:
        why += f"; runner-up {runner.node}"
    return PlacementReport(
        node=best.node,
        source="placed",
        runner_up=runner.node if runner else None,
        alternatives=[r[4].facts.name for r in ranked[1:]],
        nodes=[best] + ([runner] if runner else []),
        warnings=warnings,
        **base,
        reason=f"placed on {best.node}: {why}",
    )


def _busy(entry: NodeLedger) -> list[str]:
    f = entry.facts
    out = []
    if f.cpu and f.cpu_used / f.cpu > BUSY_SHARE:
        out.append(f"{f.name} is busy: {f.cpu_used / f.cpu:.0%} of its CPU in use now (usage warns, never refuses)")
    if f.memory_gb and f.memory_used_gb / f.memory_gb > BUSY_SHARE:
        out.append(f"{f.name} is busy: {f.memory_used_gb / f.memory_gb:.0%} of its memory in use now")
    return out

"""Cost optimisation across providers: what each resource costs now, where it would cost less, and an
ordered migration plan. Pure functions of the desired state and one observation; nothing here changes
anything (execute-optimization-plan turns plan steps into proposals).

Rules (stated, not learned):
- Cloud cost: the instance type (AWS) or VM size (Azure) homeport renders, priced from the cited, dated
  catalogs in reconciler/providers/{aws,azure}/data, 730 hours a month, on-demand.
- On-premise cost: power only (hardware already owned) = the node's measured watts
  (homeport.yaml providers.<name>.node_watts) x the resource's share of the node (the larger of its CPU
  and memory share) x 730 h / 1000 x spec.electricity_cost_per_kwh. Without watts or a price: no figure.
- A resource may move when its environment is not production and an enabled, observed on-premise
  provider has a node with room for it now. Production stays put: moving it is a person's decision
  (the cheaper options are still listed).
- Spot or preemptible prices are not in homeport's catalogs: never estimated.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, Field

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, NodeFacts
from reconciler.models.placement import Demand, PlacementRules
from reconciler.models.resource import Requirements
from reconciler.plan.capacity import ratios_for_pool
from reconciler.plan.placement import NodeLedger, assess
from reconciler.providers.errors import ProviderError
from reconciler.providers.registry import provider_class
from reconciler.service.prices import CLOUDS, HOURS_PER_MONTH, price_catalog

CLOUD = set(CLOUDS)
PRODUCTION = {"production", "prod"}


class Cost(BaseModel):
    """A monthly figure with its currency and where it comes from (amount None: no figure, and why)."""

    monthly: float | None
    currency: str
    basis: str
    sources: list[str] = Field(default_factory=list)


class Option(BaseModel):
    """Somewhere else the resource could run."""

    pool: str
    provider: str
    provider_type: str
    fits_now: bool
    node: str | None = None
    cost: Cost
    note: str = ""


class ResourceCost(BaseModel):
    """One resource: its cost now, what it uses, and the cheaper places it fits."""

    resource: str
    environment: str
    provider: str
    provider_type: str
    pool: str
    cost: Cost
    utilisation: str
    options: list[Option] = Field(default_factory=list)
    recommendation: str = Field(description="move | stay")
    reason: str


class Analysis(BaseModel):
    """Every resource costed, the findings in words, and totals per currency."""

    revision: str
    resources: list[ResourceCost]
    totals: dict[str, float]
    findings: list[str]
    unpriced: list[str] = Field(default_factory=list, description="Resources without a cost figure, and why")


class MigrationStep(BaseModel):
    """One move of the plan."""

    order: int
    resource: str
    from_pool: str
    to_pool: str
    to_provider: str
    saving: dict[str, float] = Field(description="Monthly cost removed (+) and added (-) per currency")
    amount_usd: float = Field(description="The monthly cloud cost the step changes (what thresholds compare)")
    risk: str
    risk_reason: str


class MigrationPlan(BaseModel):
    """An ordered migration plan: lowest risk first, then the largest saving."""

    plan_id: str
    revision: str
    steps: list[MigrationStep]
    monthly_saving: dict[str, float]
    stays: list[str]


def _pool_provider(state: DesiredState, path: str) -> str:
    pool = state.pool_by_path(path)
    name = pool.name if pool is not None else None
    while name is not None:
        spec = state.pools[name].spec
        if spec.provider:
            return spec.provider
        name = state.pool_parents.get(name)
    return ""


def _gpu_pool(state: DesiredState, path: str) -> bool:
    pool = state.pool_by_path(path)
    if pool is None:
        return False
    dims = pool.spec.dimensions or {}
    if dims.get("gpu_passthrough") or dims.get("tier") == "gpu":
        return True
    return "tier" not in dims and bool(getattr(pool.spec.capacity, "gpu", None))


def _target_pool(state: DesiredState, provider: str, req: Requirements) -> str | None:
    paths = sorted(p.spec.path for p in state.pools.values() if _pool_provider(state, p.spec.path) == provider)
    leaves = [p for p in paths if not any(o != p and o.startswith(p + "/") for o in paths)]
    ordered = leaves + [p for p in paths if p not in leaves]
    wanted = [p for p in ordered if _gpu_pool(state, p) == bool(req.gpu_count)]
    found = wanted or ordered
    return found[0] if found else None


def _rules(state: DesiredState, provider: str, pool_path: str) -> PlacementRules:
    """The allocation ratios placement would use for a guest in that pool (nearest pool, provider, default)."""
    cpu, mem = ratios_for_pool(state, provider, pool_path)
    return PlacementRules(cpu_allocation_ratio=cpu, memory_allocation_ratio=mem)


def _unset_size(provider_type: str) -> tuple[float, float]:
    """What the provider type gives a guest without cpu / memory_gb (1 / 1 when the type is not built in)."""
    try:
        return provider_class(provider_type).unset_size
    except ProviderError:
        return (1.0, 1.0)


def fits_now(node: NodeFacts, req: Requirements, rules: PlacementRules,
             unset_size: tuple[float, float] = (1.0, 1.0)) -> bool:
    """Whether the node could take the guest now by the planner's own rule (allocation against capacity x
    ratio, GPUs, status); an unset cpu or memory allocates what the target provider gives a guest without it
    (its Provider.unset_size: a Docker container without limits reserves nothing, a Proxmox VM 1 core / 1 GiB)."""
    demand = Demand.from_requirements(req, unset_cpu=unset_size[0], unset_memory_gb=unset_size[1],
                                      what="the guest")
    return assess(NodeLedger(node), demand, rules)[0] == "ok"


def cloud_cost(provider_type: str, region: str | None, req: Requirements, pinned: str | None = None) -> Cost:
    """The monthly on-demand price of what homeport renders for req (or the pinned type), with its source."""
    catalog = price_catalog(provider_type)
    where = region or catalog.default_region
    try:
        itype = pinned or catalog.choose_instance_type(req, where)
    except ValueError as exc:
        return Cost(monthly=None, currency="USD", basis=str(exc))
    price = catalog.on_demand_price(itype, where)
    if price is None:
        return Cost(monthly=None, currency="USD",
                    basis=f"{itype} in {where}: no published price in homeport's catalog (not guessed)")
    return Cost(monthly=round(price.usd_per_hour * HOURS_PER_MONTH, 2), currency="USD",
                basis=f"{itype} on-demand in {where}, {price.usd_per_hour} USD/h x {HOURS_PER_MONTH} h",
                sources=[f"{price.source.title} ({price.source.url}, {price.source.date})"])


def power_cost(state: DesiredState, provider: str, node: NodeFacts | None, req: Requirements) -> Cost:
    """The resource's share of its node's power, priced at the lab's kWh price (or why there is no figure)."""
    spec = state.lab.spec
    cfg = spec.providers.get(provider)
    watts = (cfg.node_watts.get(node.name) if cfg is not None and node is not None else None)
    if node is None:
        return Cost(monthly=None, currency=spec.currency, basis="node not known yet (not placed or not observed)")
    if spec.electricity_cost_per_kwh is None:
        return Cost(monthly=None, currency=spec.currency,
                    basis="no electricity price: set spec.electricity_cost_per_kwh in homeport.yaml")
    if watts is None:
        return Cost(monthly=None, currency=spec.currency,
                    basis=f"no published figure for {node.name}'s power draw: measure it (a plug meter, or the "
                          f"BMC's power reading) and set providers.{provider}.node_watts.{node.name}")
    share = max(float(req.cpu or 1) / node.cpu if node.cpu else 0.0,
                float(req.memory_gb or 1) / node.memory_gb if node.memory_gb else 0.0)
    share = min(share, 1.0)
    monthly = round(watts * share * HOURS_PER_MONTH / 1000 * spec.electricity_cost_per_kwh, 2)
    return Cost(monthly=monthly, currency=spec.currency,
                basis=f"{watts:g} W x {share:.0%} of {node.name} x {HOURS_PER_MONTH} h x "
                      f"{spec.electricity_cost_per_kwh} {spec.currency}/kWh",
                sources=[f"homeport.yaml providers.{provider}.node_watts.{node.name} (measured by the lab owner)",
                         "homeport.yaml spec.electricity_cost_per_kwh"])


def _node_of(res: EffectiveResource, inventories: dict[str, Inventory]) -> NodeFacts | None:
    inv = inventories.get(res.provider)
    if inv is None:
        return None
    observed = next((r for r in inv.resources if r.name == res.name and r.owned), None)
    name = (observed.node if observed else None) or res.node
    return next((n for n in inv.nodes if n.name == name), None)


def _utilisation(node: NodeFacts | None) -> str:
    if node is None:
        return "not observed (provider disabled or unreachable)"
    cpu = f"{node.cpu_used / node.cpu:.0%}" if node.cpu else "unknown"
    mem = f"{node.memory_used_gb / node.memory_gb:.0%}" if node.memory_gb else "unknown"
    return (f"node {node.name} allocated: CPU {cpu}, memory {mem} [live inventory]; the resource's own use is "
            "not measured by homeport: watch it in the provider's metrics before resizing")


def analyze(state: DesiredState, inventories: dict[str, Inventory]) -> Analysis:
    """Every resource costed, with the cheaper places it fits now and a move-or-stay recommendation."""
    configs = state.lab.spec.providers
    on_prem = [(name, inventories[name]) for name, cfg in sorted(configs.items())
               if cfg.enabled and cfg.type not in CLOUD and name in inventories]
    rows: list[ResourceCost] = []
    totals: dict[str, float] = {}
    unpriced: list[str] = []
    for name in sorted(state.effective):
        res = state.effective[name]
        req = res.requirements
        env = res.deployment.environment or "unspecified"
        cfg = configs.get(res.provider)
        node = _node_of(res, inventories)
        if res.provider_type in CLOUD:
            pinned = res.overrides.get("vm_size" if res.provider_type == "azure" else "instance_type")
            cost = cloud_cost(res.provider_type, cfg.region if cfg else None, req,
                              pinned if isinstance(pinned, str) else None)
        else:
            cost = power_cost(state, res.provider, node, req)
        if cost.monthly is None:
            unpriced.append(f"{name}: {cost.basis}")
        else:
            totals[cost.currency] = round(totals.get(cost.currency, 0.0) + cost.monthly, 2)
        options: list[Option] = []
        for pname, inv in on_prem:
            if pname == res.provider:
                continue
            target = _target_pool(state, pname, req)
            if target is None:
                continue
            rules = _rules(state, pname, target)
            unset = _unset_size(configs[pname].type)
            fit = next((n for n in sorted(inv.nodes, key=lambda n: (n.memory_allocated_gb - n.memory_gb, n.name))
                        if fits_now(n, req, rules, unset)), None)
            options.append(Option(pool=target, provider=pname, provider_type=configs[pname].type,
                                  fits_now=fit is not None, node=fit.name if fit else None,
                                  cost=power_cost(state, pname, fit, req),
                                  note="" if fit else "no node has room for it now [live inventory]"))
        for cname, ccfg in sorted(configs.items()):
            if ccfg.type in CLOUD and cname != res.provider:
                target = _target_pool(state, cname, req)
                if target is not None:
                    options.append(Option(pool=target, provider=cname, provider_type=ccfg.type,
                                          fits_now=ccfg.enabled, cost=cloud_cost(ccfg.type, ccfg.region, req),
                                          note="" if ccfg.enabled else "provider disabled in homeport.yaml"))
        move = next((o for o in options if o.fits_now and o.provider_type not in CLOUD), None)
        if res.provider_type in CLOUD and env.lower() not in PRODUCTION and move is not None:
            recommendation, reason = "move", (f"{env} on {res.provider} ({res.provider_type}) fits on "
                                              f"{move.provider} ({move.node}) now, where hardware is already owned")
        elif env.lower() in PRODUCTION:
            recommendation, reason = "stay", "production stays put: moving it is a person's decision"
        elif res.provider_type in CLOUD:
            recommendation, reason = "stay", ("no on-premise node has room for it now; spot or preemptible "
                                              "capacity may be cheaper, but homeport's catalogs hold no spot "
                                              "prices (not estimated)")
        else:
            recommendation, reason = "stay", "already on owned hardware (power only)"
        rows.append(ResourceCost(resource=name, environment=env, provider=res.provider,
                                 provider_type=res.provider_type, pool=res.pool, cost=cost,
                                 utilisation=_utilisation(node), options=options, recommendation=recommendation,
                                 reason=reason))
    findings = [f"{r.resource} ({r.environment}): {r.recommendation} - {r.reason}" for r in rows
                if r.recommendation == "move" or r.provider_type in CLOUD]
    return Analysis(revision=state.revision, resources=rows, totals=totals, findings=findings, unpriced=unpriced)


def _step_risk(res: EffectiveResource) -> tuple[str, str]:
    if res.resource_type == "service" or res.workload_type in ("web-app", "web"):
        return "medium", "recreated on the new provider, then removed from the old one; stateless, no data to copy"
    return "high", ("recreated on the new provider, then removed from the old one; data on its disks is not "
                    "copied: back it up and restore it by hand")


def plan_migration(state: DesiredState, analysis: Analysis) -> MigrationPlan:
    """The moves of an analysis as ordered steps (lowest risk, then largest saving), with an id to execute."""
    steps: list[MigrationStep] = []
    for row in analysis.resources:
        if row.recommendation != "move":
            continue
        target = next(o for o in row.options if o.fits_now and o.provider_type not in CLOUD)
        saving: dict[str, float] = {}
        if row.cost.monthly is not None:
            saving[row.cost.currency] = row.cost.monthly
        if target.cost.monthly is not None:
            saving[target.cost.currency] = round(saving.get(target.cost.currency, 0.0) - target.cost.monthly, 2)
        risk, why = _step_risk(state.effective[row.resource])
        steps.append(MigrationStep(order=0, resource=row.resource, from_pool=row.pool, to_pool=target.pool,
                                   to_provider=target.provider, saving=saving,
                                   amount_usd=row.cost.monthly if row.cost.currency == "USD" and row.cost.monthly
                                   else 0.0, risk=risk, risk_reason=why))
    steps.sort(key=lambda s: (0 if s.risk == "medium" else 1, -s.amount_usd, s.resource))
    total: dict[str, float] = {}
    for i, step in enumerate(steps, 1):
        step.order = i
        for cur, amount in step.saving.items():
            total[cur] = round(total.get(cur, 0.0) + amount, 2)
    digest = hashlib.sha256(json.dumps([analysis.revision, [s.model_dump() for s in steps]],
                                       sort_keys=True).encode()).hexdigest()[:12]
    stays = [f"{r.resource}: {r.reason}" for r in analysis.resources if r.recommendation == "stay"
             and r.provider_type in CLOUD]
    return MigrationPlan(plan_id=digest, revision=analysis.revision, steps=steps, monthly_saving=total, stays=stays)

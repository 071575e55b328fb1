"""Pure planning of a whole lab: creates, updates, replaces, renames, deletes and explained no-ops."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.placement import Demand, PlacementReport
from reconciler.models.plan import BlockKind, BlockReason, Change, FieldChange, Op, Plan, Risk
from reconciler.plan.diff import diff_fields, drifted
from reconciler.plan.fieldpaths import matches
from reconciler.plan.placement import Ledger, place
from reconciler.plan.risk import change_risk


@dataclass
class DesiredItem:
    """One desired resource with its provider's fields and rules."""

    resource: EffectiveResource
    fields: dict[str, Any]
    rules: DiffRules
    demand: Demand | None = None  # what the provider reserves for it; None: its requirements, unset = nothing

    def placement_demand(self) -> Demand:
        """The demand placement counts (the provider's, else the requirements with unset values reserving 0)."""
        if self.demand is not None:
            return self.demand
        return Demand.from_requirements(
            self.resource.requirements, unset_cpu=0, unset_memory_gb=0, what=f"a {self.resource.provider_type} guest"
        )


@dataclass
class PlanInput:
    """Everything the planner needs; all of it already read."""

    lab: str
    revision: str
    desired: list[DesiredItem]
    inventories: dict[str, Inventory]
    last_applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    recorded_nodes: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # provider -> why it was not observed
    provider_types: dict[str, str] = field(default_factory=dict)


def _describe(fields: dict[str, Any]) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, list | dict):
            parts.append(f"{key} ({len(value)})")
        else:
            parts.append(f"{key} {value}")
        if len(parts) == 5:
            break
    more = len(fields) - len(parts)
    return ", ".join(parts) + (f" and {more} more field(s)" if more > 0 else "")


# what a provider or homeport chose for a new resource, shown before apply (the node is shown with every change)
CHOSEN_FIELDS = ("instance_type", "vm_size", "ami", "image", "clone_template", "ostemplate", "region")


def _chosen(fields: dict[str, Any]) -> str:
    chosen = [f"{key} {fields[key]}" for key in CHOSEN_FIELDS if isinstance(fields.get(key), str) and fields[key]]
    return " with " + ", ".join(chosen) if chosen else ""


def _fields_reason(changes: list[FieldChange]) -> str:
    shown = []
    for c in changes[:4]:
        if c.old is None:
            shown.append(f"{c.path} set to {c.new!r}")
        elif c.new is None:
            shown.append(f"{c.path} removed (was {c.old!r})")
        else:
            shown.append(f"{c.path} {c.old!r} -> {c.new!r}")
    more = len(changes) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _placement(
    item: DesiredItem, observed: ObservedResource | None, inputs: PlanInput, ledgers: dict[str, Ledger]
) -> PlacementReport:
    res = item.resource
    if observed is not None and observed.node:
        return PlacementReport(node=observed.node, source="observed", reason=f"stays on {observed.node}, where it runs")
    recorded = inputs.recorded_nodes.get(res.name)
    if recorded and not res.node:
        return PlacementReport(node=recorded, source="recorded", reason=f"recorded on {recorded} by an earlier run")
    ledger = ledgers.get(res.provider)
    if ledger is None:
        inventory = inputs.inventories.get(res.provider)
        ledger = ledgers[res.provider] = Ledger.of(inventory.nodes if inventory else [])
    if not ledger.nodes:
        if res.node:
            return PlacementReport(node=res.node, source="pinned", reason=f"pinned to {res.node} by placement.node")
        return PlacementReport(node=None, source="placed", reason="the provider reports no nodes: it places the guest")
    return place(
        res.name,
        item.placement_demand(),
        res.placement_rules,
        ledger,
        candidates=res.candidate_nodes or None,
        pinned=res.node,
    )


def plan_resource(
    item: DesiredItem,
    observed: ObservedResource | None,
    last: dict[str, Any] | None,
    decision: PlacementReport,
    previous: ObservedResource | None = None,
) -> Change:
    """The change for one desired resource (pure)."""
    res = item.resource
    base = {
        "resource": res.name,
        "provider": res.provider,
        "provider_type": res.provider_type,
        "node": decision.node,
        "desired": item.fields,
    }
    ignore = list(res.sync.ignore_fields)
    if observed is None and previous is not None:
        fields = diff_fields(item.fields, previous.fields, last, item.rules, ignore)
        reason = f"renamed from {previous.name}" + (f"; {_fields_reason(fields)}" if fields else "")
        risk = max([Risk.medium, *(f.risk for f in fields)], key=lambda r: r.rank)
        return Change(
            op=Op.rename,
            fields=fields,
            reason=reason,
            risk=risk,
            previous_name=previous.name,
            provider_id=previous.id,
            **{**base, "node": previous.node or decision.node},
        )
    if observed is None:
        if decision.source == "refused":
            return Change(
                op=Op.create,
                reason="does not exist yet; no node can take it",
                risk=Risk.medium,
                block=BlockReason(kind=BlockKind.capacity, message=f"no capacity: {decision.reason}"),
                placement=decision,
                **base,
            )
        fields = [FieldChange(path=k, old=None, new=v) for k, v in item.fields.items()]
        where = f" ({decision.reason})" if decision.node else ""
        return Change(
            op=Op.create,
            fields=fields,
            reason=f"does not exist yet; create{_chosen(item.fields)}{where}",
            risk=change_risk(Op.create, fields),
            placement=decision,
            **base,
        )
    fields = diff_fields(item.fields, observed.fields, last, item.rules, ignore)
    if res.node and observed.node and res.node != observed.node:
        fields.append(FieldChange(path="node", old=observed.node, new=res.node, risk=Risk.high))
    base["provider_id"] = observed.id
    base["node"] = observed.node or decision.node
    if not fields:
        return Change(
            op=Op.noop,
            reason=f"{observed.kind} {observed.id or res.name} matches: {_describe(item.fields)}",
            risk=Risk.low,
            **base,
        )
    is_drift = drifted(fields, item.fields, last)
    if any(f.forces_replacement for f in fields):
        forced = ", ".join(f.path for f in fields if f.forces_replacement)
        return Change(
            op=Op.replace,
            fields=fields,
            drift=is_drift,
            risk=Risk.high,
            reason=f"{forced} cannot change in place: replace ({_fields_reason(fields)})",
            **base,
        )
    prefix = "drifted from the declared state: " if is_drift else ""
    restarts = [f.path for f in fields if matches(f.path, item.rules.restart_fields)]
    suffix = f"; restarts it to change {', '.join(restarts)}" if restarts else ""
    return Change(
        op=Op.update,
        fields=fields,
        drift=is_drift,
        risk=change_risk(Op.update, fields),
        reason=prefix + _fields_reason(fields) + suffix,
        **base,
    )


def unmanaged_label(provider: str, resource: ObservedResource) -> str:
    """'aws/app1 (instance i-0abc, owned by lab other)': provider/name, with its kind and id and the lab that
    owns it, if any."""
    kind = "" if resource.kind == "resource" else resource.kind  # the model's default says nothing
    ident = resource.id if resource.id and resource.id != resource.name else ""
    details = [" ".join(part for part in (kind, ident) if part)] if kind or ident else []
    if resource.lab:
        details.append(f"owned by lab {resource.lab}")
    return f"{provider}/{resource.name}" + (f" ({', '.join(details)})" if details else "")


def _delete_reason(name: str, member_counts: dict[str, int]) -> str:
    """Why an owned resource is deleted: a high_availability member beyond the count, or no longer declared."""
    base, _, number = name.rpartition("-")
    count = member_counts.get(base)
    if count is not None and number.isdigit() and int(number) > count:
        return f"member {number} of {base}: high_availability now runs {count} members (deployment.replicas)"
    return "no longer declared in the desired state"


def build_plan(inputs: PlanInput) -> Plan:
    """Plan every desired resource, then deletions of owned resources no longer declared."""
    plan = Plan(lab=inputs.lab, revision=inputs.revision)
    owned: dict[str, dict[str, ObservedResource]] = {
        name: inv.owned(inputs.lab) for name, inv in inputs.inventories.items()
    }
    ledgers: dict[str, Ledger] = {
        name: Ledger.of(inv.nodes) for name, inv in inputs.inventories.items() if name not in inputs.unavailable
    }
    for item in inputs.desired:  # members of a high_availability group already running hold their node
        group = item.resource.placement_rules.anti_affinity_group
        live = owned.get(item.resource.provider, {})
        running = live.get(item.resource.name) or live.get(item.resource.renamed_from or "")
        if group and running is not None and item.resource.provider in ledgers:
            ledgers[item.resource.provider].join_group(group, running.node)
    renamed_sources: set[str] = set()
    for item in sorted(inputs.desired, key=lambda d: d.resource.name):
        res = item.resource
        if res.provider in inputs.unavailable:
            plan.changes.append(
                Change(
                    op=Op.noop,
                    resource=res.name,
                    provider=res.provider,
                    provider_type=res.provider_type,
                    risk=Risk.low,
                    reason=f"not planned: {inputs.unavailable[res.provider]}",
                    block=BlockReason(kind=BlockKind.unavailable, message=inputs.unavailable[res.provider]),
                    desired=item.fields,
                )
            )
            continue
        live = owned.get(res.provider, {})
        observed = live.get(res.name)
        previous = None
        if observed is None and res.renamed_from and res.renamed_from in live:
            previous = live[res.renamed_from]
            renamed_sources.add(res.renamed_from)
        last = inputs.last_applied.get(res.name) or (
            inputs.last_applied.get(res.renamed_from or "") if previous else None
        )
        decision = _placement(item, observed or previous, inputs, ledgers)
        plan.changes.append(plan_resource(item, observed, last, decision, previous))
    declared = {d.resource.name for d in inputs.desired}
    member_counts = {d.resource.member_of: d.resource.members for d in inputs.desired if d.resource.member_of}
    for provider, resources in sorted(owned.items()):
        for name, obs in sorted(resources.items()):
            if name in declared or name in renamed_sources:
                continue
            plan.changes.append(
                Change(
                    op=Op.delete,
                    resource=name,
                    provider=provider,
                    provider_type=inputs.provider_types.get(provider, inputs.inventories[provider].provider_type),
                    node=obs.node,
                    provider_id=obs.id,
                    risk=Risk.high,
                    reason=_delete_reason(name, member_counts),
                    fields=[],
                )
            )
    for name, inv in sorted(inputs.inventories.items()):
        plan.unmanaged.extend(unmanaged_label(name, r) for r in inv.unmanaged(inputs.lab))
    return plan

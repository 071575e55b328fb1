"""Diff: desired fields vs observed, placement for new resources, into a Plan."""

from __future__ import annotations

from collections.abc import Collection

from reconciler.models.desired import DesiredState
from reconciler.models.diffrules import DiffRules
from reconciler.models.plan import Change, Op, Plan
from reconciler.phases.context import LabSession
from reconciler.phases.observe import Observation
from reconciler.plan.planner import DesiredItem, PlanInput, build_plan
from reconciler.store.instances import InstanceSnapshot


def desired_items(session: LabSession, state: DesiredState, observation: Observation,
                  skip: Collection[str] = ()) -> list[DesiredItem]:
    """Each resource with its provider's desired fields and its rules (disabled providers: fields left empty);
    resources named in skip are left out (their no-op comes from the no-op index)."""
    items = []
    owned = {name: inv.owned(state.lab_name) for name, inv in observation.inventories.items()}
    for name in sorted(state.effective):  # names only: no tuple per resource
        if name in skip:
            continue
        resource = state.effective[name]
        config = state.lab.spec.providers[resource.provider]
        if resource.provider in observation.unavailable:
            items.append(DesiredItem(resource=resource, fields={}, rules=DiffRules()))
            continue
        provider = session.provider(state.lab_name, resource.provider, config)
        fields = provider.desired_fields(resource)
        live = owned.get(resource.provider, {})
        observed = live.get(resource.name) or live.get(resource.renamed_from or "")
        rules = provider.diff_rules_for(resource, fields, observed)
        demand = provider.demand(resource, fields)
        items.append(DesiredItem(resource=resource, fields=fields, rules=rules, demand=demand))
    return items


def load_details(session: LabSession, state: DesiredState, observation: Observation, items: list[DesiredItem]) -> None:
    """Ask providers for the full fields of resources whose cheap listing cannot decide the diff."""
    positions: dict[str, dict[str, int]] = {
        provider: {r.name: i for i, r in enumerate(inv.resources) if r.owned and r.lab == state.lab_name}
        for provider, inv in observation.inventories.items()
    }
    for item in items:
        inv = observation.inventories.get(item.resource.provider)
        index = positions.get(item.resource.provider, {}).get(item.resource.name)
        if inv is None or index is None:
            continue
        observed = inv.resources[index]
        if observed.detail_loaded or all(key in observed.fields for key in item.fields):
            continue
        provider = session.provider(
            state.lab_name, item.resource.provider, state.lab.spec.providers[item.resource.provider]
        )
        inv.resources[index] = provider.load_detail(observed)


def plan_lab(
    session: LabSession,
    state: DesiredState,
    observation: Observation,
    instances: dict[str, InstanceSnapshot],
    unchanged: dict[str, Change] | None = None,
) -> Plan:
    """The plan for a revision against what was observed.

    unchanged: no-op changes from the no-op index for resources whose inputs and observation are as indexed;
    they are neither diffed nor placed, and their observed resources are left out of the planner's input (they
    are declared, so they would never be planned for deletion)."""
    unchanged = unchanged or {}
    items = desired_items(session, state, observation, skip=unchanged)
    load_details(session, state, observation, items)
    inventories = observation.inventories
    if unchanged:
        inventories = {
            name: inv.model_copy(update={"resources": [r for r in inv.resources
                                                       if not (r.name in unchanged and r.owned
                                                               and r.lab == state.lab_name)]})
            for name, inv in observation.inventories.items()
        }
    inputs = PlanInput(
        lab=state.lab_name,
        revision=state.revision,
        desired=items,
        inventories=inventories,
        last_applied={n: i.last_applied_state for n, i in instances.items() if i.last_applied_state},
        recorded_nodes={n: i.node for n, i in instances.items() if i.node},
        unavailable=observation.unavailable,
        provider_types={n: p.type for n, p in state.lab.spec.providers.items()},
    )
    plan = build_plan(inputs)
    if unchanged:  # the planner's order: declared resources by name, then deletions as it listed them
        gone = [c for c in plan.changes if c.op is Op.delete and c.resource not in state.effective]
        declared = [c for c in plan.changes if not (c.op is Op.delete and c.resource not in state.effective)]
        plan.changes = [*sorted([*declared, *unchanged.values()], key=lambda c: c.resource), *gone]
    for change in plan.changes:
        inst = instances.get(change.resource)
        if change.op is Op.create and inst is not None and inst.last_applied_state and inst.status != "deleted":
            change.drift = True
            change.reason = f"missing: applied at {str(inst.last_applied_revision)[:12]} but no longer found; recreate"
    for name, inventory in sorted(observation.inventories.items()):
        plan.warnings.extend(f"provider {name}: {error}" for error in inventory.errors)
    for name, reason in sorted(observation.unavailable.items()):
        if any(r.provider == name for r in state.effective.values()):
            plan.warnings.append(reason)
    return plan

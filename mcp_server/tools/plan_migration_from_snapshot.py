"""plan-migration-from-snapshot: propose moving a snapshot's resources to another node (and pool)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.advisor.placement import pool_nodes
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import NotFound, edits, queries
from reconciler.service.edits import check_text, set_path
from reconciler.service.placement import Ledger, judge, ratios_for_pool


class Input(ToolInput):
    """Snapshot and target."""

    snapshot_id: str = Field(max_length=64, description="From create-infrastructure-snapshot")
    target_node: str = Field(max_length=63, description="Node the resources should run on")
    target_resource_pool: str | None = Field(default=None, description="Pool path to move them into")
    migration_strategy: Literal["clone", "backup-restore", "rebuild"] = Field(
        default="clone", description="How the move is meant to happen (recorded in the proposal's evidence)")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")


class Output(ToolOutput):
    """The migration plan, as a proposal."""

    migration_plan: list[str]
    resource_requirements: dict[str, float]
    potential_conflicts: list[str]
    estimated_downtime: str
    proposal: ProposalSummary | None


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Pin every declared resource of the snapshot to the target node; check the node's free capacity."""
    check_text(args.target_node, "target_node", limit=63)
    state = app.state()
    try:
        document = queries.snapshot(app.service, args.snapshot_id).document()
    except NotFound:
        raise AgentError(f"no snapshot {args.snapshot_id!r}; create one with create-infrastructure-snapshot "
                         "(or `homeport snapshot create`)") from None
    resources: dict[str, Any] = {n: r.model_dump(mode="json") for n, r in document.resources.items()}
    if args.target_resource_pool and state.pool_by_path(args.target_resource_pool) is None:
        raise AgentError(f"no pool at {args.target_resource_pool!r}; see query-resource-pools")
    conflicts: list[str] = []
    movable = [n for n in sorted(resources) if n in state.resources and resources[n].get("node") != args.target_node]
    for n in sorted(resources):
        if n not in state.resources:
            conflicts.append(f"{n} is no longer declared in Git; it cannot be moved by a proposal")
    need = {"cpu": 0.0, "memory_gb": 0.0}
    for n in movable:
        req = resources[n].get("requirements", {})
        need["cpu"] += float(req.get("cpu") or 1)
        need["memory_gb"] += float(req.get("memory_gb") or 1)
    observation = app.observe(state)
    node = next((nd for inv in observation.inventories.values() for nd in inv.nodes if nd.name == args.target_node),
                None)
    if node is None:
        known = sorted(nd.name for inv in observation.inventories.values() for nd in inv.nodes)
        raise AgentError(f"no observed node {args.target_node!r}; nodes: {', '.join(known) or '(none)'}")
    # the planner's own check, one guest after the other: allocation against capacity x ratio on the target
    ledger = Ledger.of([node])
    for n in movable:
        eff = state.effective.get(n)
        if eff is None or eff.provider not in observation.inventories:
            continue
        provider = app.service.provider(state.lab_name, eff.provider, state.lab.spec.providers[eff.provider])
        demand = provider.demand(eff, provider.desired_fields(eff))
        rules = eff.placement_rules
        if args.target_resource_pool:  # the guest will live by the target pool's ratios, not its current pool's
            cpu, mem = ratios_for_pool(state, eff.provider, args.target_resource_pool)
            rules = rules.model_copy(update={"cpu_allocation_ratio": cpu, "memory_allocation_ratio": mem})
        verdict = judge(ledger.nodes[node.name], demand, rules)
        if verdict.fits:
            ledger.claim(node.name, demand)
        else:
            conflicts.append(f"{node.name} cannot take {n} ({demand.describe()}): {verdict.figure}")
    pool_path = args.target_resource_pool
    if pool_path and args.target_node not in pool_nodes(state, pool_path)[1]:
        conflicts.append(f"{args.target_node} is not among the nodes of {pool_path}")
    steps = [f"{n}: {resources[n].get('node')} -> {args.target_node} ({args.migration_strategy}; the reconciler "
             "replaces or moves it after the merge)" for n in movable]
    if not movable:
        return Output(summary="nothing to move: every declared resource of the snapshot is already on "
                              f"{args.target_node}", migration_plan=[], resource_requirements=need,
                      potential_conflicts=conflicts, estimated_downtime="none", proposal=None)
    if any(c.startswith(args.target_node) for c in conflicts):
        raise AgentError("the target cannot take the move: " + "; ".join(conflicts))
    changes: dict[str, bytes | None] = {}
    for n in movable:
        def mutate(doc: Any) -> None:
            set_path(doc, ["spec", "placement", "node"], args.target_node)
            if pool_path:
                set_path(doc, ["spec", "pool"], pool_path)
        path, content = edits.edit_object(app.service, state, "UniversalResource", n, mutate)
        changes[path] = content
    view = submit_proposal(app, caller, title=f"Move {len(movable)} resource(s) to {args.target_node}",
                           edits=changes, reason=args.reason or f"migration from snapshot {args.snapshot_id}",
                           evidence={"snapshot_id": args.snapshot_id, "strategy": args.migration_strategy,
                                     "needs": need})
    return Output(summary=f"proposal {view.id}: move {', '.join(movable)} to {args.target_node}; risk {view.risk}",
                  migration_plan=steps, resource_requirements=need, potential_conflicts=conflicts,
                  estimated_downtime="unknown: depends on each provider's move or replace; see the plan's ops "
                                     "(replace = recreate, so stateful data needs a backup first)",
                  proposal=ProposalSummary.of(view))


SPEC = ToolSpec(name="plan-migration-from-snapshot", title="Plan a migration from a snapshot (proposal)",
                description="Proposes pinning a snapshot's resources to a target node (and pool), after "
                            "checking the node's free capacity; the plan preview shows what moves or is replaced.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                destructive=True, idempotent=False)

"""compare-expected-vs-actual-state: Git's declared state against the live providers, field by field."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller, refusal
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.plan import Mode, Op, Risk
from reconciler.service import NotFound, commands, edits, queries


class Input(ToolInput):
    """Which instances."""

    instance_id: str | None = Field(default=None, max_length=64,
                                    description="Instance id or provider id from the records")
    instance_name: str | None = Field(default=None, max_length=63, description="Resource name")
    check_all_instances: bool = Field(default=False, description="Compare every managed resource")
    auto_correct_minor_deviations: bool = Field(
        default=False, description="Propose `sync.self_heal: true` for resources whose deviations are low or "
                                   "medium risk, so the reconciler restores the declared values (needs 'propose')")


class Output(ToolOutput):
    """Deviations and what to do about them."""

    deviations_found: list[dict[str, Any]]
    correctable_issues: list[str]
    manual_intervention_required: list[str]
    recommended_actions: list[str]
    proposal: ProposalSummary | None = None


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Plan main against the live providers; every drifted change is a deviation."""
    if args.auto_correct_minor_deviations and not caller.allows("propose"):
        raise AgentError(refusal(caller, "propose", SPEC.name) + " (auto_correct_minor_deviations proposes)")
    state = app.state()
    names: set[str] | None = None
    if not args.check_all_instances:
        name = args.instance_name
        if args.instance_id:
            try:
                name = queries.instance(app.service, args.instance_id).name
            except NotFound:
                raise AgentError(f"no instance with id {args.instance_id!r}; use instance_name") from None
        if not name:
            raise AgentError("send instance_name, instance_id, or check_all_instances=true")
        if name not in state.resources:
            raise AgentError(f"{name!r} is not declared in the lab; known: {', '.join(sorted(state.resources)[:15])}")
        names = {name}
    result = commands.plan(app.service, mode=Mode.manual)
    deviations: list[dict[str, Any]] = []
    correctable: list[str] = []
    manual: list[str] = []
    actions: list[str] = []
    for change in result.plan.changes:
        if names is not None and change.resource not in names:
            continue
        if change.op is Op.noop or not change.drift:
            continue
        for f in change.fields:
            deviations.append({"resource": change.resource, "field": f.path, "expected": f.new, "actual": f.old,
                               "risk": f.risk.value})
        if change.risk <= Risk.medium and change.op is Op.update:
            correctable.append(change.resource)
        else:
            manual.append(f"{change.resource}: {change.reason} (risk {change.risk.value})")
    for name in correctable:
        heal = state.effective[name].sync.self_heal
        actions.append(f"{name}: the reconciler restores it on the next run" if heal else
                       f"{name}: enable sync.self_heal (auto_correct_minor_deviations=true proposes it), or propose "
                       "the live value into Git if the change was intended")
    proposal = None
    targets = [n for n in correctable if not state.effective[n].sync.self_heal]
    if args.auto_correct_minor_deviations and targets:
        changes: dict[str, bytes | None] = {}
        for name in targets:
            path, data = edits.edit_object(app.service, state, "UniversalResource", name,
                                           lambda d: edits.set_path(d, ["spec", "sync", "self_heal"], True))
            changes[path] = data
        view = submit_proposal(app, caller, title=f"Restore declared state of {', '.join(targets)} (self-heal)"[:200],
                               edits=changes, reason="minor deviations from the declared state; turning on self-heal "
                               "lets the reconciler restore the values in Git",
                               evidence={"deviations": [d for d in deviations if d["resource"] in targets]})
        proposal = ProposalSummary.of(view)
    summary = (f"{len(deviations)} deviating field(s) in {len({d['resource'] for d in deviations})} resource(s); "
               f"{len(correctable)} correctable, {len(manual)} need a person"
               + (f"; proposal {proposal.proposal_id}" if proposal else ""))
    return Output(summary=summary, deviations_found=deviations, correctable_issues=correctable,
                  manual_intervention_required=manual, recommended_actions=actions, proposal=proposal)


SPEC = ToolSpec(name="compare-expected-vs-actual-state", title="Compare expected vs actual state",
                description="Compares the declared state in Git with the live providers now, field by field; "
                            "optionally proposes self-heal for minor deviations (a proposal, never a live change).",
                scope="read", toolset="read", input=Input, output=Output, run=run, destructive=False, read_only=False,
                idempotent=False)

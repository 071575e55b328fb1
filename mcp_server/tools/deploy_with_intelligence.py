"""deploy-with-intelligence: size, place and render a new resource, then propose it (or just show it)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.placement import advise_placement, pool_nodes
from mcp_server.advisor.sizing import advise_size
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.tools.requirements_input import requirements_from
from mcp_server.tools.submit import submit_proposal
from mcp_server.tools.universal import ProposalSummary, as_document, resource_doc_edit, retarget, trial_state
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.plan import Mode
from reconciler.phases.render import chart_for, render_one
from reconciler.phases.run import compute_plan
from reconciler.proposals.names import check_text
from reconciler.proposals.preview import plan_preview


class Input(ToolInput):
    """The definition and how to treat it."""

    universal_definition: dict[str, Any] = Field(description="A UniversalResource document, or its spec with "
                                                 "`name`: resource_type, workload_type, pool, requirements, ...")
    instance_name: str | None = Field(default=None, description="Name of the new resource (DNS-1123 label); "
                                      "overrides metadata.name")
    preferred_provider: str | None = Field(default=None, description="Provider instance or type to deploy on")
    auto_optimize: bool = Field(default=True, description="Fill unset cpu/memory/storage from published vendor "
                                "figures and pin the node the placement advice picks (written into the YAML)")
    dry_run: bool = Field(default=False, description="true: render and plan only, no proposal")
    helm_chart_overrides: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Per provider type "
                                                            "values for spec.overrides, e.g. {'proxmox': "
                                                            "{'cpu_type': 'host'}}")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")
    evidence: dict[str, Any] = Field(default_factory=dict, description="What the decision rests on (tool results)")


class Output(ToolOutput):
    """What would be (or was proposed to be) deployed."""

    instance_name: str
    selected_provider: str
    pool: str
    helm_chart_used: str | None
    decisions: list[str]
    rendered_configs: dict[str, str]
    deployment_plan: dict[str, Any]
    proposal: ProposalSummary | None = None
    execution_results: str


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Dry run: render and plan. Otherwise: open a proposal (a person merges it; the reconciler applies it)."""
    if args.reason:
        check_text(args.reason, "reason", multiline=True)
    if not args.dry_run and not caller.allows("propose"):
        from mcp_server.auth import refusal

        raise AgentError(refusal(caller, "propose", SPEC.name) + " (dry_run=true needs only 'read')")
    state = app.state()
    doc = as_document(args.universal_definition, args.instance_name)
    asked_pool = (doc.get("spec") or {}).get("pool")
    doc = retarget(state, doc, args.preferred_provider)
    name = doc["metadata"]["name"]
    if name in state.resources:
        raise AgentError(f"a resource named {name!r} already exists; choose another instance_name, or change it "
                         "with update-resource-dimensions")
    spec = doc.setdefault("spec", {})
    decisions: list[str] = []
    if doc["spec"].get("pool") != asked_pool:
        decisions.append(f"pool = {doc['spec']['pool']}: a pool of the preferred provider {args.preferred_provider}"
                         + (f" (instead of {asked_pool})" if asked_pool else ""))
    evidence = dict(args.evidence)
    for ptype, values in args.helm_chart_overrides.items():
        spec.setdefault("overrides", {}).setdefault(ptype, {}).update(values)
    if args.auto_optimize:
        reqs = spec.setdefault("requirements", {})
        if not isinstance(reqs, dict):
            raise AgentError("spec.requirements must be a mapping such as {'cpu': 4, 'memory_gb': 8}")
        sizing = advise_size(str(spec.get("workload_type") or name), "standard", reqs, bool(reqs.get("gpu")))
        for field, sized in sizing.fields.items():
            if field not in reqs and sized.basis == "vendor" and sized.value is not None:
                reqs[field] = max(1, round(sized.value)) if field == "cpu" else sized.value
                src = next(s for s in sizing.sources if s.id == sized.source)
                decisions.append(f"{field} = {reqs[field]} from {src.title} ({src.url}, read {src.date})")
        if sizing.sources:
            evidence["sizing_sources"] = [s.model_dump() for s in sizing.sources]
    pool = spec.get("pool")
    if not isinstance(pool, str):
        raise AgentError("spec.pool is required (a pool path from query-resource-pools), or pass preferred_provider")
    if args.auto_optimize and not (spec.get("placement") or {}).get("node") and state.pool_by_path(pool):
        provider_name = pool_nodes(state, pool)[0]
        observation = app.observe(state, {provider_name})
        inv = observation.inventories.get(provider_name)
        if inv is not None and inv.nodes:
            advice = advise_placement(state, inv, pool, requirements_from(spec.get("requirements") or {}), [], False)
            if advice.best_node:
                spec.setdefault("placement", {})["node"] = advice.best_node
                decisions.append(f"placement.node = {advice.best_node}: {advice.reason}")
                evidence["placement"] = advice.model_dump()
            else:
                raise AgentError(f"nothing fits in {pool}: {advice.reason}; lower the requirements or choose "
                                 "another pool (find-optimal-placement lists them)")
    header = "Proposed by an agent through homeport-mcp" + (f": {args.reason.splitlines()[0]}" if args.reason else "")
    path, data = resource_doc_edit(app, state, doc, header=header[:200])
    trial, trial_commit = trial_state(app, {path: data})
    resource = trial.effective[name]
    chart = chart_for(app.session, resource)
    artifacts = render_one(app.session, resource)
    files = artifacts.files if artifacts else {}
    if args.dry_run:
        result = compute_plan(app.session, ref=trial_commit, mode=Mode.manual)
        preview = plan_preview(result.plan)
        return Output(summary=f"dry run: {name} on {resource.provider} ({resource.provider_type}) in {resource.pool}"
                              f", chart {chart.name if chart else 'none'}, risk {preview['risk']}; no proposal made",
                      instance_name=name, selected_provider=resource.provider, pool=resource.pool,
                      helm_chart_used=chart.name if chart else None, decisions=decisions, rendered_configs=files,
                      deployment_plan=preview, execution_results="dry run: nothing proposed, nothing changed")
    title = f"Deploy {name} ({resource.workload_type}) on {resource.provider}"
    proposal = submit_proposal(app, caller, title=title, edits={path: data},
                               reason=args.reason or "proposed through deploy-with-intelligence", evidence=evidence)
    summary = ProposalSummary.of(proposal)
    return Output(summary=f"proposal {proposal.id} on {proposal.branch}: {title}; risk {proposal.risk}; "
                          f"{summary.next_step}",
                  instance_name=name, selected_provider=resource.provider, pool=resource.pool,
                  helm_chart_used=chart.name if chart else None, decisions=decisions, rendered_configs=files,
                  deployment_plan=proposal.plan, proposal=summary,
                  execution_results="proposed only: nothing runs until a person merges the proposal")


SPEC = ToolSpec(name="deploy-with-intelligence", title="Deploy with intelligence (as a proposal)",
                description="Sizes (published vendor figures, cited), places (the reconciler's deterministic "
                            "placement) and renders a new resource, then opens a proposal branch with one "
                            "commit and a plan preview. dry_run=true only renders and plans. Never changes live "
                            "infrastructure: a person merges the proposal, then the reconciler applies it.",
                scope="read", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                destructive=False, idempotent=False)

"""deploy-with-intelligence: size, place and render a new resource, then propose it (or just show it)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.placement import advise_placement, pool_nodes
from mcp_server.advisor.sizing import advise_size, profile_stateless
from mcp_server.advisor.target import choose_target, matches_target
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary, as_document, check_pool, resource_doc_edit, trial_state
from mcp_server.proposing import submit_proposal
from mcp_server.requirements import requirements_from
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.plan import Mode
from reconciler.models.profiles import profile_image, profile_port
from reconciler.service import commands, edits
from reconciler.service.edits import check_text
from reconciler.service.views import plan_preview

REQUIREMENT_FIELDS = ("cpu", "memory_gb", "storage_gb", "gpu", "gpu_model", "high_availability")


class Input(ToolInput):
    """The definition (or the workflow's short form) and how to treat it."""

    universal_definition: dict[str, Any] | None = Field(default=None, description="A UniversalResource document, "
                                                        "or its spec with `name`; optional when workload_type "
                                                        "and instance_name are given")
    workload_type: str | None = Field(default=None, max_length=63, description="jenkins, ollama, web-app, ...")
    instance_name: str | None = Field(default=None, description="Name of the new resource (DNS-1123 label); "
                                      "overrides metadata.name")
    user_requirements: dict[str, Any] = Field(default_factory=dict, description="cpu/cores, memory_gb, "
                                              "storage_gb, gpu, and sizing hints (developers, users, models)")
    provider: str | None = Field(default=None, description="Provider instance or type (as preferred_provider)")
    deployment_target: str | None = Field(default=None, description="Provider instance or type (as provider)")
    preferred_provider: str | None = Field(default=None, description="Provider instance or type to deploy on; "
                                           "none: homeport chooses as find-best-provider-for-workload ranks")
    high_availability: bool | None = Field(default=None, description="Replicas spread over nodes; default: the "
                                           "definition's, or true for a stateless service on Kubernetes")
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
    targets = {t for t in (args.preferred_provider, args.provider, args.deployment_target) if t}
    if len(targets) > 1:
        raise AgentError(f"provider, deployment_target and preferred_provider disagree ({', '.join(sorted(targets))})"
                         "; send one")
    if not args.dry_run and not caller.allows("propose"):
        from mcp_server.auth import refusal

        raise AgentError(refusal(caller, "propose", SPEC.name) + " (dry_run=true needs only 'read')")
    state = app.state()
    doc, target, hints = _definition(args)
    name = doc["metadata"]["name"]
    if name in state.resources:
        raise AgentError(f"a resource named {name!r} already exists; choose another instance_name, or change it "
                         "with update-resource-dimensions")
    spec = doc.setdefault("spec", {})
    reqs = spec.setdefault("requirements", {})
    if not isinstance(reqs, dict):
        raise AgentError("spec.requirements must be a mapping such as {'cpu': 4, 'memory_gb': 8}")
    decisions: list[str] = []
    evidence = dict(args.evidence)
    for ptype, values in args.helm_chart_overrides.items():
        spec.setdefault("overrides", {}).setdefault(ptype, {}).update(values)
    workload = str(spec.get("workload_type") or name)
    if args.auto_optimize:
        sizing = advise_size(workload, "standard", {**hints, **reqs}, bool(reqs.get("gpu")))
        for field, sized in sizing.fields.items():
            if field not in reqs and sized.value is not None and sized.basis in ("vendor", "hint"):
                reqs[field] = max(1, round(sized.value)) if field == "cpu" else sized.value
                src = next((s for s in sizing.sources if s.id == sized.source), None)
                decisions.append(f"{field} = {reqs[field]}" + (f" from {src.title} ({src.url}, read {src.date})"
                                                               if src else "") + (f": {sized.note}" if sized.note
                                                                                  else ""))
        for field in sizing.unknown:
            if field not in reqs:
                decisions.append(f"{field}: {sizing.to_measure[field]} (left to the engine's default)")
        decisions.extend(f"hint {h}" for h in sizing.hints_used)
        if "gpu" not in reqs and sizing.gpu_recommended:
            reqs["gpu"] = True
            decisions.append(f"gpu = true: {sizing.gpu_recommended}")
        if sizing.sources:
            evidence["sizing_sources"] = [s.model_dump() for s in sizing.sources]
    asked_pool = spec.get("pool")
    if isinstance(asked_pool, str) and not target:
        check_pool(state, asked_pool)
    pool_known = isinstance(asked_pool, str) and state.pool_by_path(asked_pool) is not None
    if not pool_known or target:
        req = requirements_from({k: v for k, v in reqs.items() if k in ("cpu", "memory_gb", "storage_gb", "gpu")})
        observation = app.observe(state)
        ha_asked = bool(args.high_availability or reqs.get("high_availability"))
        if pool_known and target and matches_target(state, pool_nodes(state, str(asked_pool))[0], target):
            pass
        else:
            try:
                choice = choose_target(state, observation.inventories, observation.unavailable, req,
                                       high_availability=ha_asked, target=target)
            except ValueError as exc:
                raise AgentError(str(exc)) from None
            spec["pool"] = choice.pool
            decisions.extend(choice.decisions)
            if isinstance(asked_pool, str):
                decisions.append(f"(instead of the asked pool {asked_pool})")
            evidence["provider_comparison"] = [o.model_dump() for o in choice.options]
    pool = spec["pool"]
    provider_name = pool_nodes(state, pool)[0]
    ptype = state.lab.spec.providers[provider_name].type if provider_name in state.lab.spec.providers else ""
    if args.high_availability is not None:
        reqs["high_availability"] = args.high_availability
    elif "high_availability" not in reqs and ptype == "kubernetes" and spec.get("resource_type", "service") in (
            "service", "container") and profile_stateless(workload):
        reqs["high_availability"] = True
        decisions.append("high_availability = true: a stateless service on Kubernetes gets 3 replicas, a "
                         "PodDisruptionBudget, pod anti-affinity, a LoadBalancer Service and an autoscaler "
                         "(pass high_availability=false for one replica)")
    if ptype in ("kubernetes", "docker") and "resource_type" not in spec:
        spec["resource_type"] = "service"
    image = profile_image(workload)
    if ptype in ("kubernetes", "docker") and image and not (spec.get("service") or {}).get("image"):
        decisions.append(f"image = {image}: the {workload} workload profile's image (cited in "
                         "reconciler/models/workload_profiles.yaml)")
        port = profile_port(workload)
        service = spec.setdefault("service", {})
        if port and isinstance(service, dict) and not service.get("ports"):
            service["ports"] = [{"name": "http", "port": port}]
            decisions.append(f"service port {port}: the port the profile's image serves on (same source)")
    spread = bool((spec.get("requirements") or {}).get("high_availability")) and ptype not in ("kubernetes", "docker")
    if args.auto_optimize and spread:
        decisions.append("placement: high_availability members are placed on different nodes by the planner, so "
                         "no placement.node is pinned (docs/placement.md)")
    if args.auto_optimize and not spread and not (spec.get("placement") or {}).get("node") and ptype not in (
            "kubernetes", "aws", "azure"):
        observation = app.observe(state, {provider_name})
        inv = observation.inventories.get(provider_name)
        if inv is not None and inv.nodes:
            provider_obj = app.service.provider(state.lab_name, provider_name,
                                                state.lab.spec.providers[provider_name])
            advice = advise_placement(state, inv, provider_obj, pool, requirements_from(spec.get("requirements") or {}),
                                      [], False, name)
            if advice.best_node:
                spec.setdefault("placement", {})["node"] = advice.best_node
                decisions.append(f"placement.node = {advice.best_node}: {advice.reason}")
                evidence["placement"] = advice.model_dump()
            else:
                raise AgentError(f"nothing fits in {pool}: {advice.reason}; lower the requirements or choose "
                                 "another pool (find-optimal-placement lists them)")
    header = "Proposed by an agent through homeport-mcp" + (f": {args.reason.splitlines()[0]}" if args.reason else "")
    path, data = resource_doc_edit(app, state, doc, header=header[:200])
    trial, trial_commit = trial_state(app, {path: data}, keep=True)
    resource = trial.effective_of(name)
    rendered = edits.render_preview(app.service, resource)
    files = rendered.files
    if args.dry_run:
        result = commands.plan(app.service, ref=trial_commit, mode=Mode.manual)
        preview = plan_preview(result.plan)
        return Output(summary=f"dry run: {name} on {resource.provider} ({resource.provider_type}) in {resource.pool}"
                              f", chart {rendered.chart or 'none'}, risk {preview['risk']}; no proposal made",
                      instance_name=name, selected_provider=resource.provider, pool=resource.pool,
                      helm_chart_used=rendered.chart, decisions=decisions, rendered_configs=files,
                      deployment_plan=preview, execution_results="dry run: nothing proposed, nothing changed")
    title = f"Deploy {name} ({resource.workload_type}) on {resource.provider}"
    proposal = submit_proposal(app, caller, title=title, edits={path: data},
                               reason=args.reason or "proposed through deploy-with-intelligence", evidence=evidence)
    summary = ProposalSummary.of(proposal)
    return Output(summary=f"proposal {proposal.id} on {proposal.branch}: {title}; risk {proposal.risk}; "
                          f"{summary.next_step}",
                  instance_name=name, selected_provider=resource.provider, pool=resource.pool,
                  helm_chart_used=rendered.chart, decisions=decisions, rendered_configs=files,
                  deployment_plan=proposal.plan, proposal=summary,
                  execution_results="proposed only: nothing runs until a person merges the proposal")


def _definition(args: Input) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """(document, provider target, sizing hints) from universal_definition and/or the workflow's short form."""
    if args.universal_definition is None:
        if not args.workload_type or not args.instance_name:
            raise AgentError("send universal_definition, or workload_type and instance_name (the workflow's "
                             "short form), e.g. {'workload_type': 'jenkins', 'instance_name': 'jenkins-prod'}")
        doc = as_document({"workload_type": args.workload_type}, args.instance_name)
    else:
        doc = as_document(args.universal_definition, args.instance_name)
    spec = doc.setdefault("spec", {})
    if args.workload_type:
        spec.setdefault("workload_type", args.workload_type)
    hints: dict[str, Any] = {}
    reqs = spec.setdefault("requirements", {})
    for key, value in args.user_requirements.items():
        field = "cpu" if key == "cores" else key
        if field in REQUIREMENT_FIELDS:
            if isinstance(reqs, dict):
                reqs.setdefault(field, value)
        else:
            hints[key] = value
    target = args.preferred_provider or args.provider or args.deployment_target
    return doc, target, hints


SPEC = ToolSpec(name="deploy-with-intelligence", title="Deploy with intelligence (as a proposal)",
                description="Sizes (published vendor figures, cited), chooses provider and pool when none is "
                            "given (as find-best-provider-for-workload), places and renders a new resource, then "
                            "opens a proposal (one commit, plan preview). dry_run=true only renders and plans. Never "
                            "changes live infrastructure: a person merges, then the reconciler applies it.",
                scope="read", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                destructive=False, idempotent=False)

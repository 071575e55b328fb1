"""generate-template-from-instance: propose a reusable template built from a running, matching resource."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import NotFound, commands, edits, queries
from reconciler.service.edits import check_resource_name


class Input(ToolInput):
    """Which instance and the new template's name."""

    instance_id: str = Field(description="Resource name (or instance id) of a running resource")
    template_name: str = Field(description="Name of the new template (DNS-1123 label)")
    include_optimizations: bool = Field(default=True, description="Carry the instance's service settings over")
    confidence_threshold: float = Field(default=0.8, ge=0, le=1, description="Refuse below this confidence")


class Output(ToolOutput):
    """The proposed template."""

    template_id: str
    template_name: str
    confidence_score: float
    confidence_basis: str
    learned_optimizations: dict[str, Any]
    reusability_score: float
    reusability_basis: str
    proposal: ProposalSummary


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Template = the resource's effective requirements, service and configuration; confidence from its record."""
    check_resource_name(args.template_name, "template_name")
    state = app.state()
    try:
        row = queries.instance(app.service, args.instance_id)
    except NotFound:
        raise AgentError(f"no recorded instance {args.instance_id!r}; apply it first or check the name") from None
    name, status, instance_id = row.name, row.status, row.id
    if name not in state.effective:
        raise AgentError(f"{name} is no longer declared in Git; templates are made from declared resources")
    resource = state.effective[name]
    fields = resource.requirements.model_dump(exclude_defaults=True, mode="json")
    drifted = {d.field for d in queries.deviations(app.service, name)}
    total = max(len(fields) + 1, 1)
    confidence = 0.0 if status != "running" else round(1 - len(drifted) / total, 3)
    basis = (f"instance status {status}; {len(drifted)} open deviation(s) over {total} compared field(s): "
             "1.0 means it runs exactly as declared")
    if confidence < args.confidence_threshold:
        raise AgentError(f"confidence {confidence} is below confidence_threshold {args.confidence_threshold}: "
                         f"{basis}. Resolve the deviations (compare-expected-vs-actual-state) or lower the threshold")
    learned: dict[str, Any] = {}
    spec: dict[str, Any] = {
        "template_type": "container" if resource.resource_type in ("container", "service") else "vm",
        "resources": {"pool_path": resource.pool, "requirements": fields},
        "infrastructure": {"provider": resource.provider_type},
        "dimensions": dict(resource.dimensions),
    }
    if resource.chart:
        spec["infrastructure"]["chart"] = resource.chart
    if args.include_optimizations:
        service = resource.service.model_dump(exclude_defaults=True, mode="json")
        service.pop("secret_env", None)
        if service:
            spec["service"] = service
            learned["service"] = sorted(service)
        if resource.configuration:
            spec["configuration"] = {"playbooks": [p.model_dump() for p in resource.configuration]}
            learned["playbooks"] = [p.name for p in resource.configuration]
    same_kind = sum(1 for r in state.effective.values() if r.workload_type == resource.workload_type)
    reusability = round(min(same_kind / max(len(state.effective), 1) * 4, 1.0), 3)
    path, data = edits.new_object(state, "DeploymentTemplate", args.template_name, spec,
                                  header=f"Generated from instance {name} by homeport-mcp")
    proposal = submit_proposal(app, caller, title=f"Template {args.template_name} from {name}", edits={path: data},
                               reason=f"learned from {name}, which runs as declared", evidence={"basis": basis})
    template_id = commands.record_generated_template(
        app.service, template_name=args.template_name, source_instance_id=instance_id, confidence=confidence,
        learned=learned, config=spec, proposal_id=proposal.id)
    return Output(summary=f"template {args.template_name} from {name} (confidence {confidence}); proposal "
                          f"{proposal.id}", template_id=template_id, template_name=args.template_name,
                  confidence_score=confidence, confidence_basis=basis, learned_optimizations=learned,
                  reusability_score=reusability,
                  reusability_basis=f"{same_kind} of {len(state.effective)} resources share workload type "
                                    f"{resource.workload_type} (x4, capped at 1)",
                  proposal=ProposalSummary.of(proposal))


SPEC = ToolSpec(name="generate-template-from-instance", title="Generate a template from an instance (proposal)",
                description="Builds a DeploymentTemplate from a running resource that matches Git (confidence "
                            "from its deviations) and proposes it as templates/<name>.yaml.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run,
                destructive=False, read_only=False,
                idempotent=False)

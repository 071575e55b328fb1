"""update-resource-dimensions: propose new dimensions for a resource, pool or template."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.meta import Dimensions
from reconciler.service import edits
from reconciler.service.edits import check_resource_name, check_text, merge_map

KINDS = {"instance": "UniversalResource", "pool": "ResourcePool", "template": "DeploymentTemplate"}


class Input(ToolInput):
    """What to change."""

    resource_id: str = Field(description="Name of the resource, pool or template")
    resource_type: Literal["pool", "instance", "template"] = Field(
        description="What resource_id names: a pool, a resource (instance) or a template")
    dimensions: Dimensions = Field(description="Dimension values (null removes one)")
    merge_mode: Literal["replace", "merge"] = Field(
        default="merge", description="merge: add or change these keys; replace: these become all the dimensions")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")


class Output(ToolOutput):
    """The proposal."""

    proposal: ProposalSummary


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Edit spec.dimensions with a round-trip YAML edit and propose it."""
    check_resource_name(args.resource_id, "resource_id")
    if args.reason:
        check_text(args.reason, "reason", multiline=True)
    for key, value in args.dimensions.items():
        check_text(str(key), "dimension name", limit=100)
        if not isinstance(value, str | int | float | bool | type(None)):
            raise AgentError(f"dimension {key!r} must be a string, number, boolean or null, not {type(value).__name__}")
    if not args.dimensions and args.merge_mode == "merge":
        raise AgentError("dimensions is empty; send at least one key (or merge_mode=replace to clear them)")
    state = app.state()
    kind = KINDS[args.resource_type]
    path, data = edits.edit_object(app.service, state, kind, args.resource_id,
                                   lambda doc: merge_map(doc, ["spec", "dimensions"], args.dimensions,
                                                         replace=args.merge_mode == "replace"))
    keys = ", ".join(f"{k}={v}" for k, v in args.dimensions.items())
    title = f"Set dimensions of {args.resource_type} {args.resource_id}: {keys}"[:200]
    proposal = submit_proposal(app, caller, title=title, edits={path: data}, reason=args.reason,
                               evidence={"tool": "update-resource-dimensions", "merge_mode": args.merge_mode})
    return Output(summary=f"proposal {proposal.id} on {proposal.branch}: {title}; risk {proposal.risk}",
                  proposal=ProposalSummary.of(proposal))


SPEC = ToolSpec(name="update-resource-dimensions", title="Update resource dimensions (as a proposal)",
                description="Proposes new dimensions (metadata) for a resource, pool or template: a branch with "
                            "one commit editing spec.dimensions (comments and order kept) and a plan preview.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run,
                destructive=False, read_only=False,
                idempotent=False)

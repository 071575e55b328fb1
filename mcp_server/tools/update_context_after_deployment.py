"""update-context-after-deployment: record what an agent learned after a deployment (endpoint, notes) on
the resource itself, as annotations in Git, through a proposal. Annotations change no plan (risk: none);
get-deployment-status and discover-infrastructure-context show them once merged."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import ProposalSummary
from mcp_server.proposing import submit_proposal
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import edits
from reconciler.service.edits import check_resource_name, check_text, merge_map

ENDPOINT = "homeport.io/endpoint"
NOTES = "homeport.io/notes"


class Input(ToolInput):
    """Which resource and what to record."""

    instance_id: str = Field(description="Name of the deployed resource (as deploy-with-intelligence named it)")
    endpoint: str | None = Field(default=None, max_length=500, description="http(s) URL the service answers on")
    notes: str | None = Field(default=None, max_length=2000, description="Operational notes for the next agent")
    reason: str | None = Field(default=None, max_length=4000, description="Why: shown to the reviewer")


class Output(ToolOutput):
    """The proposal recording the context."""

    annotations: dict[str, str]
    proposal: ProposalSummary


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Merge the annotations into metadata.annotations of the resource's file and propose it."""
    check_resource_name(args.instance_id, "instance_id")
    values: dict[str, str] = {}
    if args.endpoint is not None:
        check_text(args.endpoint, "endpoint", limit=500)
        parts = urlsplit(args.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AgentError(f"endpoint {args.endpoint!r} is not an http(s) URL such as http://jenkins.local:8080")
        values[ENDPOINT] = args.endpoint
    if args.notes is not None:
        check_text(args.notes, "notes", limit=2000, multiline=True)
        values[NOTES] = args.notes
    if args.reason:
        check_text(args.reason, "reason", multiline=True)
    if not values:
        raise AgentError("nothing to record: send endpoint and/or notes")
    state = app.state()
    if args.instance_id not in state.resources:
        raise AgentError(f"no resource named {args.instance_id!r} on main; if its deployment is still a proposal, "
                         "record the context after a person has merged it (get-proposal shows its status)")
    path, data = edits.edit_object(app.service, state, "UniversalResource", args.instance_id,
                             lambda doc: merge_map(doc, ["metadata", "annotations"], dict(values)))
    title = f"Record deployment context of {args.instance_id}"
    proposal = submit_proposal(app, caller, title=title, edits={path: data},
                               reason=args.reason or "context recorded after deployment",
                               evidence={"tool": "update-context-after-deployment", **values})
    return Output(summary=f"proposal {proposal.id}: {title} ({', '.join(values)}); risk {proposal.risk}",
                  annotations=values, proposal=ProposalSummary.of(proposal))


SPEC = ToolSpec(name="update-context-after-deployment", title="Record deployment context (as a proposal)",
                description="Proposes the endpoint and notes of a deployed resource as annotations "
                            "(homeport.io/endpoint, homeport.io/notes) in its file; changes no infrastructure.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                destructive=False, idempotent=False)

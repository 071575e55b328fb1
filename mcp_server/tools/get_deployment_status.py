"""get-deployment-status: one managed resource's recorded and live state."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import queries
from reconciler.service.views import InstanceView


class Input(ToolInput):
    """Which instance."""

    instance_id: str | None = Field(default=None, max_length=64, description="Instance id from the records")
    instance_name: str | None = Field(default=None, max_length=63, description="Resource name")
    include_logs: bool = Field(default=False, description="Recent audit entries about this resource")


class Output(ToolOutput):
    """The instance's state."""

    name: str
    status: str
    matches: bool
    provider: str
    node: str | None
    provider_id: str | None
    ip_address: str | None
    declared_in_git: bool
    last_applied_revision: str | None
    deviations: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None
    context: dict[str, str] = Field(default_factory=dict, description="homeport.io/* annotations recorded by "
                                    "update-context-after-deployment (endpoint, notes)")
    logs: list[dict[str, Any]] = Field(default_factory=list)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Look the instance up in the records."""
    ref = args.instance_id or args.instance_name
    if not ref:
        raise AgentError("send instance_name (the resource's name) or instance_id")
    state = app.state()
    members = [e.name for e in state.members_of(ref)] if ref in state.resources else []
    if members and members != [ref]:
        raise AgentError(f"{ref} runs as high_availability members {', '.join(members)}: ask for one of them")
    # The record and its open deviations, kept until the records change (one query checks).
    version = queries.records_version(app.service, state.lab_name)
    any_deviation = bool(version[3])  # records_version: (lab, instance rows, updated, deviation rows, ...)
    row, deviations = app.memo(f"{SPEC.name}:{ref}", version, (),
                               lambda: _record(app, ref, any_deviation=any_deviation))
    logs: list[dict[str, Any]] = []
    if args.include_logs:
        logs = [{"at": str(a.time), "action": a.action, "actor": a.actor, "outcome": a.outcome, "result": a.result}
                for a in reversed(queries.audit(app.service, resource=row.name, limit=20))]
    out = Output(summary="", name=row.name, status=row.status, matches=row.matches, provider=row.provider,
                 node=row.node, provider_id=row.provider_id, ip_address=row.ip_address,
                 declared_in_git=state.declared(row.name) is not None, last_applied_revision=row.last_applied_revision,
                 error=row.error, logs=logs)
    in_git = state.declared(out.name)  # a high_availability member's: its resource's
    if in_git is not None:
        out.context = {k: v for k, v in in_git.metadata.annotations.items() if k.startswith("homeport.io/")}
    out.deviations = [dict(d) for d in deviations]
    out.summary = (f"{out.name}: {out.status} on {out.provider}/{out.node or '-'}"
                   f"{', matches Git' if out.matches else ', does not match Git'}"
                   + (f"; {len(out.deviations)} deviation(s)" if out.deviations else ""))
    return out


def _record(app: HomeportApp, ref: str, *, any_deviation: bool) -> tuple[InstanceView, list[dict[str, Any]]]:
    """The record and its open deviations (not asked for when the lab has no deviation row at all)."""
    row = queries.instance(app.service, ref)
    if not any_deviation:
        return row, []
    return row, [{"field": d.field, "expected": d.expected, "actual": d.actual}
                 for d in queries.deviations(app.service, row.name)]


SPEC = ToolSpec(name="get-deployment-status", title="Get deployment status",
                description="A managed resource's status, node, provider id, whether it matches Git, its open "
                            "deviations and (optionally) recent audit entries.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

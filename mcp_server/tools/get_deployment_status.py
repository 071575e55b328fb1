"""get-deployment-status: one managed resource's recorded and live state."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import or_, select

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.store.deviations import list_open_deviations
from reconciler.store.tables import AuditLogRow, DeploymentInstanceRow


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
    if not args.instance_id and not args.instance_name:
        raise AgentError("send instance_name (the resource's name) or instance_id")
    state = app.state()
    with app.session.db.session() as s:
        stmt = select(DeploymentInstanceRow).where(DeploymentInstanceRow.lab == state.lab_name)
        if args.instance_id:
            stmt = stmt.where(or_(DeploymentInstanceRow.id == args.instance_id,
                                  DeploymentInstanceRow.provider_id == args.instance_id))
        else:
            stmt = stmt.where(DeploymentInstanceRow.name == args.instance_name)
        row = s.execute(stmt).scalars().first()
        if row is None:
            declared = args.instance_name in state.resources if args.instance_name else False
            hint = ("it is declared in Git but not applied yet: run `homeport apply` (or wait for the daemon)"
                    if declared else "list managed resources with discover-infrastructure-context")
            raise AgentError(f"no recorded instance {args.instance_name or args.instance_id!r}; {hint}")
        logs: list[dict[str, Any]] = []
        if args.include_logs:
            rows = s.execute(select(AuditLogRow).where(AuditLogRow.lab == state.lab_name,
                                                       AuditLogRow.entity_id == row.name)
                             .order_by(AuditLogRow.seq.desc()).limit(20)).scalars()
            logs = [{"at": str(a.timestamp), "action": a.action, "actor": a.actor, "outcome": a.outcome,
                     "result": a.result} for a in rows]
        out = Output(summary="", name=row.name, status=row.status,
                     matches=row.status == "running" and not row.deviation_detected, provider=row.provider,
                     node=row.node, provider_id=row.provider_id, ip_address=row.ip_address,
                     declared_in_git=row.name in state.resources, last_applied_revision=row.last_applied_revision,
                     error=row.error_message, logs=logs)
    in_git = state.resources.get(out.name)
    if in_git is not None:
        out.context = {k: v for k, v in in_git.metadata.annotations.items() if k.startswith("homeport.io/")}
    out.deviations = [{"field": d.field_path, "expected": d.expected_value, "actual": d.actual_value}
                      for d in list_open_deviations(app.session.db, state.lab_name) if d.resource == out.name]
    out.summary = (f"{out.name}: {out.status} on {out.provider}/{out.node or '-'}"
                   f"{', matches Git' if out.matches else ', does not match Git'}"
                   + (f"; {len(out.deviations)} deviation(s)" if out.deviations else ""))
    return out


SPEC = ToolSpec(name="get-deployment-status", title="Get deployment status",
                description="A managed resource's status, node, provider id, whether it matches Git, its open "
                            "deviations and (optionally) recent audit entries.",
                scope="read", toolset="read", input=Input, output=Output, run=run)

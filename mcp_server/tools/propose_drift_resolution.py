"""propose-drift-resolution: resolve a resource's drift by review: adopt the live values or restore the declared."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec
from reconciler.service import commands


class Input(ToolInput):
    """Which resource, and how to resolve its drift."""

    resource: str = Field(description="A resource with open drift (see get-deployment-status or "
                                      "compare-expected-vs-actual-state)")
    resolution: Literal["adopt", "revert"] = Field(
        description="adopt: write the live values into the YAML; revert: once merged, the reconciler restores the "
                    "declared values for exactly this drift")


class Output(ToolOutput):
    """The proposal opened."""

    proposal_id: str
    title: str
    branch: str
    risk: str
    plan: dict[str, Any]
    evidence: dict[str, Any]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Open the proposal as the caller; a person merges it."""
    p = commands.resolve_drift(app.service, args.resource, args.resolution, author=caller.actor,
                               author_kind=caller.kind)
    return Output(summary=f"opened proposal {p.id}: {p.title} (risk {p.risk}); a person merges it with "
                          f"`homeport proposals approve {p.id}`",
                  proposal_id=p.id, title=p.title, branch=p.branch, risk=p.risk, plan=p.plan, evidence=p.evidence)


SPEC = ToolSpec(name="propose-drift-resolution", title="Propose a drift resolution",
                description="Opens a proposal resolving one resource's drift: 'adopt' declares the live values in "
                            "the YAML, 'revert' approves restoring the declared values (applied by the reconciler "
                            "after a person merges it). Never changes live infrastructure directly.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run,
                destructive=False, read_only=False,
                idempotent=False)

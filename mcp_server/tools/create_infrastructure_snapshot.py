"""create-infrastructure-snapshot: record the live inventory and the desired state at this revision."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import commands
from reconciler.service.edits import check_text


class Input(ToolInput):
    """What to capture."""

    snapshot_name: str = Field(min_length=1, max_length=200, description="A name for the snapshot, e.g. before-move")
    include_secrets: bool = Field(default=False, description="Must stay false: secrets never leave homeport")
    proxmox_node: str | None = Field(default=None, description="Only resources on this node")
    include_vm_configs: bool = Field(default=True, description="Observed fields of each resource")
    include_network_configs: bool = Field(default=True, description="Declared network settings of each resource")


class Output(ToolOutput):
    """The snapshot."""

    snapshot_id: str
    captured_resources: list[str]
    migration_readiness: dict[str, Any]
    estimated_migration_time: str


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Observe, then store the lab's one snapshot document (the CLI's `homeport snapshot create` writes the
    same), with managed resources' declared and live fields (secrets left out)."""
    check_text(args.snapshot_name, "snapshot_name", limit=200)
    if args.include_secrets:
        raise AgentError("include_secrets must be false: homeport never puts secrets in snapshots or tool results")
    made = commands.snapshot(app.service, name=args.snapshot_name, snapshot_type="mcp", created_by=caller.actor,
                             node=args.proxmox_node, include_fields=args.include_vm_configs,
                             include_network=args.include_network_configs)
    readiness = made.readiness.model_dump(mode="json") if made.readiness else {}
    stateful = readiness.get("stateful", [])
    return Output(summary=f"snapshot {made.id} '{args.snapshot_name}': {len(made.resources)} resource(s) at "
                          f"{made.revision[:12]}, {len(stateful)} stateful",
                  snapshot_id=made.id, captured_resources=made.resources, migration_readiness=readiness,
                  estimated_migration_time="unknown: homeport does not measure data volumes or copy rates; "
                                           "stateless resources are recreated by one reconcile run")


SPEC = ToolSpec(name="create-infrastructure-snapshot", title="Create an infrastructure snapshot",
                description="Records the managed resources as observed now, with their declared pool, "
                            "requirements and network (never secrets), for migration planning.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run,
                destructive=False, read_only=False,
                idempotent=False)

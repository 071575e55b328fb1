"""create-infrastructure-snapshot: record the live inventory and the desired state at this revision."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.proposals.names import check_text
from reconciler.store.audit import redact
from reconciler.store.tables import InfrastructureSnapshotRow, new_id, now_utc


class Input(ToolInput):
    """What to capture."""

    snapshot_name: str = Field(min_length=1, max_length=200)
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
    """Observe, then store managed resources with their declared and live fields (secrets left out)."""
    check_text(args.snapshot_name, "snapshot_name", limit=200)
    if args.include_secrets:
        raise AgentError("include_secrets must be false: homeport never puts secrets in snapshots or tool results")
    state = app.state()
    observation = app.observe(state)
    resources: dict[str, Any] = {}
    for provider, inv in sorted(observation.inventories.items()):
        for name, r in sorted(inv.owned(state.lab_name).items()):
            if args.proxmox_node and r.node != args.proxmox_node:
                continue
            entry: dict[str, Any] = {"provider": provider, "provider_type": inv.provider_type, "node": r.node,
                                     "id": r.id, "status": r.status}
            if args.include_vm_configs:
                entry["fields"] = redact(r.fields)
            eff = state.effective.get(name)
            if eff is not None:
                entry["pool"] = eff.pool
                entry["requirements"] = eff.requirements.model_dump(mode="json", exclude_defaults=True)
                if args.include_network_configs:
                    entry["network"] = eff.network.model_dump(mode="json", exclude_defaults=True)
                entry["stateful"] = eff.stateful
            resources[name] = entry
    stateful = sorted(n for n, e in resources.items() if e.get("stateful"))
    readiness = {"resources": len(resources), "stateful": stateful,
                 "portable": sorted(n for n in resources if n in state.effective and n not in stateful),
                 "not_declared": sorted(n for n in resources if n not in state.effective),
                 "unavailable_providers": observation.unavailable}
    snapshot_id = new_id()
    with app.session.db.session() as s:
        s.add(InfrastructureSnapshotRow(id=snapshot_id, lab=state.lab_name, name=args.snapshot_name,
                                        snapshot_type="mcp", revision=state.revision, created_at=now_utc(),
                                        created_by=caller.actor, snapshot_data={"resources": resources,
                                                                                "readiness": readiness}))
    return Output(summary=f"snapshot {snapshot_id} '{args.snapshot_name}': {len(resources)} resource(s) at "
                          f"{state.revision[:12]}, {len(stateful)} stateful",
                  snapshot_id=snapshot_id, captured_resources=sorted(resources), migration_readiness=readiness,
                  estimated_migration_time="unknown: homeport does not measure data volumes or copy rates; "
                                           "stateless resources are recreated by one reconcile run")


SPEC = ToolSpec(name="create-infrastructure-snapshot", title="Create an infrastructure snapshot",
                description="Records the managed resources as observed now, with their declared pool, "
                            "requirements and network (never secrets), for migration planning.",
                scope="propose", toolset="propose", input=Input, output=Output, run=run, read_only=False,
                idempotent=False)

"""The sim provider: behaves like a real one (ownership, ask before create, drift) without hardware."""

from __future__ import annotations

from typing import Any, ClassVar

from reconciler.models.diffrules import DiffRules
from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.placement import Demand
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, Provider, RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.sim.fields import SIM_DIFF_RULES, sim_demand, sim_desired_fields
from reconciler.providers.sim.store import load_machines, machine_key, node_facts, node_specs


class SimProvider(Provider):
    """Simulated nodes and machines kept in the lab's database."""

    type: ClassVar[str] = "sim"
    diff_rules: ClassVar[DiffRules] = SIM_DIFF_RULES

    def observe(self) -> Inventory:
        """All machines and nodes, read in one query."""
        machines = load_machines(self.ctx.state)
        # model_construct: these records were written by this provider, so validating 10,000 of them per
        # cycle would only cost time
        resources = [
            ObservedResource.model_construct(
                name=name,
                provider=self.name,
                kind="machine",
                id=m.get("id"),
                node=m.get("node"),
                owned=bool(m.get("owned")),
                lab=m.get("lab"),
                status=m.get("fields", {}).get("status", "unknown"),
                fields=m.get("fields", {}),
            )
            for name, m in sorted(machines.items())
        ]
        return Inventory(
            provider=self.name,
            provider_type=self.type,
            observed_at=self.ctx.clock(),
            nodes=node_facts(self.name, self.ctx.config, machines),
            resources=resources,
            api_calls=1,
        )

    def find(self, name: str) -> ObservedResource | None:
        """One machine, read by key."""
        m = self.ctx.state.get(machine_key(name))
        if not m or not m.get("owned") or m.get("lab") != self.ctx.lab:
            return None
        return ObservedResource(
            name=name,
            provider=self.name,
            kind="machine",
            id=m.get("id"),
            node=m.get("node"),
            owned=True,
            lab=self.ctx.lab,
            status=m["fields"].get("status", "unknown"),
            fields=m["fields"],
        )

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """See fields.sim_desired_fields."""
        return sim_desired_fields(resource)

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """See fields.sim_demand."""
        return sim_demand(resource, fields)

    def _fault(self, resource: str) -> None:
        faults = self.ctx.config.options.get("faults")
        if not isinstance(faults, dict) or resource not in faults:
            return
        kind = faults[resource]
        if kind == "transient":
            raise TransientProviderError(f"sim: simulated transient failure for {resource}", delay=1.0)
        raise PermanentProviderError(f"sim: simulated permanent failure for {resource}")

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create, update, replace, rename or delete one machine (idempotent)."""
        self._fault(change.resource)
        state = self.ctx.state
        key = machine_key(change.resource)
        current = state.get(key)
        if current is not None and current.get("owned") is False:
            raise PermanentProviderError(f"sim: machine {change.resource} exists and is not managed by homeport")
        if change.op is Op.delete:
            if current is not None:
                state.delete(key)
            return ApplyResult(message=f"deleted {change.resource}" if current else f"{change.resource} already gone")
        if change.op is Op.rename and change.previous_name:
            old = state.get(machine_key(change.previous_name))
            if old is not None:
                old["name"] = change.resource
                state.put(key, old)
                state.delete(machine_key(change.previous_name))
                current = old
        node = change.node or (current or {}).get("node")
        if node is None or node not in node_specs(self.ctx.config):
            raise PermanentProviderError(
                f"sim: node {node!r} does not exist; nodes: {', '.join(sorted(node_specs(self.ctx.config)))}"
            )
        fields = dict(change.desired)
        if change.op is Op.update and current is not None:
            fields = {**current.get("fields", {}), **change.desired}
        record = {
            "name": change.resource,
            "node": node,
            "owned": True,
            "lab": self.ctx.lab,
            "id": (current or {}).get("id") or f"sim-{change.resource}",
            "fields": fields,
        }
        if change.op in (Op.create, Op.replace) or current is None:
            created = "already existed; converged" if current is not None and change.op is Op.create else "created"
            state.put(key, record)
            return ApplyResult(provider_id=record["id"], node=node, message=f"{change.resource} {created} on {node}")
        state.put(key, record)
        return ApplyResult(provider_id=record["id"], node=node, message=f"{change.resource} {change.op.value}d")

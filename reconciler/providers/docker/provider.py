"""The docker provider: Compose projects on one or more Docker engines, one engine per node."""

from __future__ import annotations

from typing import Any

from reconciler.models.effective import EffectiveResource
from reconciler.models.inventory import Inventory, ObservedResource
from reconciler.models.placement import Demand
from reconciler.models.plan import Change, Op
from reconciler.providers.base import ApplyResult, Provider, ProviderContext, RenderedArtifacts
from reconciler.providers.docker.apply import Target, compose_down, compose_up
from reconciler.providers.docker.compose import ComposeRunner
from reconciler.providers.docker.engine import Engine
from reconciler.providers.docker.errors import RETRY_DELAY
from reconciler.providers.docker.fields import (
    DIFF_RULES,
    REMOVE_VOLUMES_LABEL,
    container_demand,
    desired_fields,
    project_name,
)
from reconciler.providers.docker.observe import (
    DetailCache,
    load_container_details,
    observe_engine,
    observed_resource,
)
from reconciler.providers.docker.settings import DockerSettings, docker_settings
from reconciler.providers.docker.stack import stack_deploy, stack_rm
from reconciler.providers.docker.swarm import (
    STACK_LABEL,
    swarm_demand,
    swarm_desired_fields,
    swarm_node,
    swarm_replicas,
    swarm_resources,
)
from reconciler.providers.errors import PermanentProviderError, ProviderError, TransientProviderError


class DockerProvider(Provider):
    """Observes engines through the Docker SDK; applies by running Docker Compose v2."""

    type = "docker"
    diff_rules = DIFF_RULES

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        self.settings: DockerSettings = docker_settings(ctx.name, ctx.config)
        self.engines: dict[str, Engine] = {
            node: Engine(spec, self.settings.api_version) for node, spec in self.settings.engines.items()
        }
        self.cache = DetailCache(ctx.state, self.settings.detail_ttl)
        self._containers: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    @property
    def api_calls(self) -> int:
        """Docker API calls made by this provider instance so far."""
        return sum(engine.total_calls for engine in self.engines.values())

    def observe(self) -> Inventory:
        """Every engine's capacity and containers; an engine that is down is reported, the others go on.

        When no engine answers at all, a TransientProviderError with every engine's message is raised.
        """
        now = self.ctx.clock()
        before = self.api_calls
        inventory = Inventory(provider=self.name, provider_type=self.type, observed_at=now)
        self._containers = {}
        if self.swarm:
            return self._observe_swarm(inventory, before)
        placed: dict[tuple[str | None, str], str] = {}
        for node in sorted(self.engines):
            obs = observe_engine(self.engines[node], self.name, self.cache, now)
            inventory.nodes.append(obs.node)
            inventory.errors.extend(obs.errors)
            for key, summaries in obs.containers.items():
                lab, _, name = key.partition("/")
                self._containers[(node, lab, name)] = summaries
            for resource in obs.resources:
                if resource.kind == "compose-project":
                    first = placed.setdefault((resource.lab, resource.name), node)
                    if first != node:
                        inventory.errors.append(
                            f"resource {resource.name} of lab {resource.lab} runs on engines {first} and "
                            f"{node}; homeport tracks the one on {first}: remove the other by hand"
                        )
                        continue
                inventory.resources.append(resource)
        inventory.api_calls = self.api_calls - before
        if inventory.nodes and all(node.status == "offline" for node in inventory.nodes):
            # Nothing could be read: say so rather than report every resource as missing.
            raise TransientProviderError("; ".join(inventory.errors), delay=RETRY_DELAY)
        return inventory

    @property
    def swarm(self) -> bool:
        """Whether this provider deploys stacks to a swarm (options.mode: swarm)."""
        return self.settings.mode == "swarm"

    @property
    def manager(self) -> Engine:
        """The swarm manager (the one engine of a swarm provider)."""
        return next(iter(self.engines.values()))

    def _observe_swarm(self, inventory: Inventory, before: int) -> Inventory:
        """The swarm as one node (its ready nodes' capacity) and its services: homeport's stacks and the others."""
        engine = self.manager
        try:
            nodes = engine.swarm_nodes()
            services = engine.services()
            tasks = engine.tasks()
        except ProviderError as exc:
            raise TransientProviderError(
                f"{exc} (options.mode is swarm: the endpoint must be a swarm manager, `docker swarm init`)",
                delay=RETRY_DELAY,
            ) from exc
        inventory.nodes.append(swarm_node(self.name, engine.node, nodes, services, tasks))
        inventory.resources.extend(swarm_resources(self.name, engine.node, services, tasks))
        inventory.api_calls = self.api_calls - before
        return inventory

    def desired_fields(self, resource: EffectiveResource) -> dict[str, Any]:
        """Pure: the fields observe() reports once the resource's project (or stack) is up."""
        return swarm_desired_fields(resource) if self.swarm else desired_fields(resource)

    def demand(self, resource: EffectiveResource, fields: dict[str, Any]) -> Demand:
        """See fields.container_demand (swarm.swarm_demand on a swarm)."""
        return swarm_demand(resource, fields) if self.swarm else container_demand(resource, fields)

    def load_detail(self, resource: ObservedResource) -> ObservedResource:
        """Inspect the resource's containers whose cached detail is stale (at most one inspect each)."""
        if resource.detail_loaded or resource.kind != "compose-project" or resource.node not in self.engines:
            return resource
        key = (resource.node, resource.lab or "", resource.name)
        summaries = self._containers.get(key)
        if summaries is None:
            return resource
        now = self.ctx.clock()
        engine = self.engines[resource.node]
        present = load_container_details(engine, summaries, self.cache, now)
        self._containers[key] = present
        if not present:
            return resource.model_copy(update={"detail_loaded": True})
        return observed_resource(self.name, resource.node, (key[1], key[2]), present, self.cache, now)

    def _target(self, node: str, project: str) -> Target:
        if node not in self.engines:
            raise PermanentProviderError(
                f"node {node!r} is not an engine of docker provider {self.name!r} "
                f"(engines: {', '.join(sorted(self.engines))}); add it to options.engines"
            )
        return Target(
            engine=self.engines[node],
            runner=ComposeRunner(self.engines[node].spec, self.ctx.work_dir / "docker"),
            lab=self.ctx.lab,
            project=project,
            directory=self.ctx.work_dir / "docker" / node / project,
            wait_timeout=self.settings.wait_timeout,
        )

    def _running_on(self, name: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(node, project, containers) for every engine where the lab's resource has containers now."""
        self.observe()
        found = []
        for (node, lab, res), summaries in sorted(self._containers.items()):
            if lab == self.ctx.lab and res == name and summaries:
                project = (summaries[0].get("Labels") or {}).get("com.docker.compose.project") or project_name(
                    self.ctx.lab, name
                )
                found.append((node, project, summaries))
        return found

    def apply(
        self, change: Change, resource: EffectiveResource | None, artifacts: RenderedArtifacts | None
    ) -> ApplyResult:
        """Create/update/replace: `compose up --wait`; delete: `compose down` (volumes kept by default)."""
        if change.op is Op.noop:
            return ApplyResult(provider_id=change.provider_id, node=change.node, message=change.reason)
        if change.op is Op.rename:
            raise PermanentProviderError(
                f"{change.resource}: the docker provider cannot rename a compose project in place (its "
                f"volumes are named after the project); delete {change.previous_name} and create "
                f"{change.resource} instead"
            )
        if change.op is Op.delete:
            return self._delete(change, resource)
        if resource is None:
            raise PermanentProviderError(f"{change.resource}: {change.op.value} needs the desired resource")
        if self.swarm:
            target = self._target(self.manager.node, project_name(self.ctx.lab, resource.name))
            return stack_deploy(target, change, resource, artifacts, swarm_replicas(resource))
        # A pinned node wins over the change's (the observed node, when the pin moved the resource).
        node = resource.node or change.node
        if not node:
            raise PermanentProviderError(
                f"{resource.name}: no node chosen; pin placement.node to one of {', '.join(sorted(self.engines))}"
            )
        target = self._target(node, project_name(self.ctx.lab, resource.name))
        result = compose_up(target, change, resource, artifacts)
        moved = [entry for entry in self._running_on(resource.name) if entry[0] != node]
        for old_node, project, _ in moved:
            compose_down(self._target(old_node, project), resource.name, remove_volumes=False)
            result.message += f"; moved from {old_node} (its named volumes stay there)"
        return result

    def _delete(self, change: Change, resource: EffectiveResource | None) -> ApplyResult:
        if self.swarm:
            stack = change.provider_id or project_name(self.ctx.lab, change.resource)
            if resource is not None:
                remove = resource.sync.remove_volumes
            else:
                remove = any((s.get("Spec") or {}).get("Labels", {}).get(STACK_LABEL) == stack
                             and (s.get("Spec") or {}).get("Labels", {}).get(REMOVE_VOLUMES_LABEL) == "true"
                             for s in self.manager.services())
            return stack_rm(self._target(self.manager.node, stack), change.resource, remove)
        running = self._running_on(change.resource)
        if change.node:
            running = [entry for entry in running if entry[0] == change.node] or running
        if not running:
            return ApplyResult(
                provider_id=change.provider_id, node=change.node, message=f"{change.resource}: already gone"
            )
        results = []
        for node, project, summaries in running:
            if resource is not None:
                remove_volumes = resource.sync.remove_volumes
            else:
                remove_volumes = any((s.get("Labels") or {}).get(REMOVE_VOLUMES_LABEL) == "true" for s in summaries)
            results.append(compose_down(self._target(node, project), change.resource, remove_volumes))
        first = results[0]
        first.message = "; ".join(r.message for r in results)
        return first

    def preflight(self, changes: list[Change]) -> list[str]:
        """Engines the changes need that are unknown or unreachable, each with what to do."""
        problems = []
        for node in sorted({c.node for c in changes if c.node and c.op is not Op.noop}):
            if node not in self.engines:
                problems.append(f"node {node} has no engine in docker provider {self.name}: add it to options.engines")
                continue
            try:
                self.engines[node].ping()
            except ProviderError as exc:
                problems.append(f"{exc}: start the engine or fix its endpoint")
        return problems

    def close(self) -> None:
        """Close every engine connection."""
        for engine in self.engines.values():
            engine.close()


PROVIDER_CLASS = DockerProvider

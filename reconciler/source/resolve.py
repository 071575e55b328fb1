"""Pure resolution: the pool hierarchy, inheritance, and each resource's effective definition.

Merge order, later wins: chart defaults < template < pool chain (root first) < resource < overrides.
Requirements start from the workload type's profile (reconciler/models/workload_profiles.yaml).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.lab import ProviderConfig
from reconciler.models.placement import (
    NodeConstraints,
    PlacementRules,
    default_allocation_ratios,
)
from reconciler.models.pool import ResourcePool
from reconciler.models.profiles import profile_image, profile_requirements
from reconciler.models.resource import Requirements, ServiceSpec, UniversalResource
from reconciler.models.template import DeploymentTemplate
from reconciler.source.errors import SourceIssue

Locate = Callable[[str, str, list[str | int]], SourceIssue]

STATEFUL_WORKLOADS = frozenset({"database", "nextcloud", "storage", "file-server", "git-server", "media-server"})

# Providers that run container images (their charts need service.image).
CONTAINER_PROVIDER_TYPES = ("docker", "kubernetes")

# high_availability: these provider types run one instance per resource, so an HA resource expands into
# members <name>-1 .. <name>-N placed apart; Kubernetes (Deployment replicas) and Docker swarm pools
# (deploy.replicas) replicate inside the one rendered resource instead.
MEMBER_PROVIDER_TYPES = ("sim", "proxmox", "vmware", "lxd", "aws", "azure", "docker")
DEFAULT_HA_MEMBERS = 2  # survives one node; set deployment.replicas for more (3 for a quorum)
DNS_LABEL_MAX = 63


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _issue(locate: Locate, kind: str, name: str, path: list[str | int], message: str) -> SourceIssue:
    return replace(locate(kind, name, path), message=message)


def pool_parents(state: DesiredState, locate: Locate) -> tuple[dict[str, str | None], list[SourceIssue]]:
    """Each pool's parent (explicit `parent`, else the nearest pool above its path), checked for cycles."""
    issues: list[SourceIssue] = []
    by_path: dict[str, str] = {}
    for name, pool in sorted(state.pools.items()):
        other = by_path.get(pool.spec.path)
        if other is not None:
            issues.append(
                _issue(
                    locate,
                    "ResourcePool",
                    name,
                    ["spec", "path"],
                    f"path {pool.spec.path} is already used by pool {other!r}",
                )
            )
        else:
            by_path[pool.spec.path] = name
    parents: dict[str, str | None] = {}
    for name, pool in state.pools.items():
        if pool.spec.parent is not None:
            if pool.spec.parent not in state.pools:
                issues.append(
                    _issue(
                        locate,
                        "ResourcePool",
                        name,
                        ["spec", "parent"],
                        f"parent pool {pool.spec.parent!r} does not exist",
                    )
                )
                parents[name] = None
            else:
                parents[name] = pool.spec.parent
            continue
        parts = pool.spec.path.strip("/").split("/")
        parents[name] = None
        for cut in range(len(parts) - 1, 0, -1):
            above = "/" + "/".join(parts[:cut])
            if above in by_path:
                parents[name] = by_path[above]
                break
    for name in sorted(state.pools):
        seen = [name]
        current = parents.get(name)
        while current is not None:
            if current in seen:
                cycle = " -> ".join([*seen[seen.index(current) :], current])
                issues.append(
                    _issue(locate, "ResourcePool", name, ["spec", "parent"], f"pool parents form a cycle: {cycle}")
                )
                break
            seen.append(current)
            current = parents.get(current)
        else:
            parent = parents.get(name)
            if parent is not None and state.pools[name].spec.parent is not None:
                ppath = state.pools[parent].spec.path
                if not state.pools[name].spec.path.startswith(ppath + "/"):
                    issues.append(
                        _issue(
                            locate,
                            "ResourcePool",
                            name,
                            ["spec", "path"],
                            f"path {state.pools[name].spec.path} is not under its parent's path {ppath}",
                        )
                    )
    return parents, issues


def pool_chain(state: DesiredState, parents: dict[str, str | None], name: str) -> list[ResourcePool]:
    """The pool and its ancestors, root first (cycles already refused)."""
    chain: list[ResourcePool] = []
    current: str | None = name
    while current is not None and current in state.pools and state.pools[current] not in chain:
        chain.append(state.pools[current])
        current = parents.get(current)
    return list(reversed(chain))


def _set_fields(model: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return dumped


def anti_affinity_group(resource: UniversalResource) -> str | None:
    """The high_availability group of a resource: its `app` label, else its template, else its name without a
    trailing -<number> (web-1, web-2 -> web). None when it does not ask for high availability."""
    if not resource.spec.requirements.high_availability:
        return None
    app = resource.metadata.labels.get("app")
    if app:
        return f"app={app}"
    if resource.spec.template:
        return f"template={resource.spec.template}"
    return "name=" + re.sub(r"-\d+$", "", resource.metadata.name)


def swarm_provider(provider_cfg: ProviderConfig | None) -> bool:
    """Whether a docker provider is a swarm (options.mode: swarm): replicas run as one stack service."""
    return (
        provider_cfg is not None and provider_cfg.type == "docker" and provider_cfg.options.get("mode") == "swarm"
    )


def ha_member_count(resource: UniversalResource, provider_cfg: ProviderConfig | None) -> int:
    """How many members a high_availability resource expands into: deployment.replicas, at least 2; 0 when it
    does not expand (no high_availability, or the provider replicates inside one resource)."""
    if not resource.spec.requirements.high_availability or provider_cfg is None:
        return 0
    if provider_cfg.type not in MEMBER_PROVIDER_TYPES or swarm_provider(provider_cfg):
        return 0
    return max(resource.spec.deployment.replicas, DEFAULT_HA_MEMBERS)


def placement_rules(
    resource: UniversalResource,
    template: DeploymentTemplate | None,
    chain: list[ResourcePool],
    provider_cfg: ProviderConfig | None,
    requirements: Requirements,
) -> PlacementRules:
    """Ratios (nearest pool, then provider, then default), the template's node constraints, the HA group."""
    cpu_ratio = provider_cfg.cpu_allocation_ratio if provider_cfg else None
    mem_ratio = provider_cfg.memory_allocation_ratio if provider_cfg else None
    for pool in chain:
        cpu_ratio = pool.spec.cpu_allocation_ratio or cpu_ratio
        mem_ratio = pool.spec.memory_allocation_ratio or mem_ratio
    constraints = (
        NodeConstraints.from_rules(template.spec.validation.node_constraints) if template else NodeConstraints()
    )
    default_cpu, default_mem = default_allocation_ratios(provider_cfg.type if provider_cfg else None)
    if requirements.gpu_model and not constraints.gpu_model and requirements.gpu_count:
        constraints = constraints.model_copy(update={"gpu_model": requirements.gpu_model})
    return PlacementRules(
        cpu_allocation_ratio=cpu_ratio or default_cpu,
        memory_allocation_ratio=mem_ratio or default_mem,
        constraints=constraints,
        anti_affinity_group=anti_affinity_group(resource),
    )


def effective_resource(
    state: DesiredState, resource: UniversalResource, chain: list[ResourcePool]
) -> EffectiveResource:
    """Merge template, pool chain, resource and overrides into the effective resource (pure)."""
    spec = resource.spec
    template = state.templates.get(spec.template) if spec.template else None
    properties: dict[str, Any] = {}
    dimensions: dict[str, Any] = {}
    requirements: dict[str, Any] = profile_requirements(spec.workload_type)
    service: dict[str, Any] = {}
    chart = None
    playbooks = []
    config_vars: dict[str, Any] = {}
    if template is not None:
        properties = _merge(properties, template.spec.infrastructure.variables)
        dimensions = _merge(dimensions, template.spec.dimensions)
        requirements = _merge(requirements, _set_fields(template.spec.resources.requirements))
        service = _merge(service, template.spec.service)
        chart = template.spec.infrastructure.chart
        playbooks = list(template.spec.configuration.playbooks)
        config_vars = dict(template.spec.configuration.variables)
    provider = spec.provider
    nodes: list[str] = []
    for pool in chain:
        properties = _merge(properties, pool.spec.properties)
        dimensions = _merge(dimensions, pool.spec.dimensions)
        provider = provider if spec.provider else (pool.spec.provider or provider)
        if pool.spec.nodes:
            nodes = list(pool.spec.nodes)
    dimensions = _merge(dimensions, spec.dimensions)
    requirements = _merge(requirements, _set_fields(spec.requirements))
    service = _merge(service, _set_fields(spec.service))
    provider_name = provider or ""
    provider_cfg = state.lab.spec.providers.get(provider_name)
    provider_type = provider_cfg.type if provider_cfg else "unknown"
    if not nodes and provider_cfg is not None:
        nodes = list(provider_cfg.nodes)
    deployment = spec.deployment  # shared, never mutated: one object per resource, not two
    svc = ServiceSpec.model_validate(service)
    if svc.image is None and provider_type in CONTAINER_PROVIDER_TYPES and profile_image(spec.workload_type):
        # A container needs an image: the workload profile's, when the definition names none.
        svc = svc.model_copy(update={"image": profile_image(spec.workload_type)})
    workload = spec.workload_type
    stateful = (
        deployment.stateful
        if deployment.stateful is not None
        else (workload in STATEFUL_WORKLOADS or spec.resource_type in ("database", "storage") or bool(svc.volumes))
    )
    pool = chain[-1]
    rules = placement_rules(resource, template, chain, provider_cfg, Requirements.model_validate(requirements))
    return EffectiveResource(
        name=resource.metadata.name,
        lab=state.lab.metadata.name,
        labels=dict(resource.metadata.labels),
        resource_type=spec.resource_type,
        workload_type=workload,
        provider=provider_name,
        provider_type=provider_type,
        pool=pool.spec.path,
        pool_name=pool.metadata.name,
        template=spec.template,
        chart=chart,
        node=spec.placement.node,
        candidate_nodes=[n for n in nodes if n not in spec.placement.avoid_nodes],
        placement_rules=rules,
        requirements=Requirements.model_validate(requirements),
        deployment=deployment,
        network=spec.network,
        service=svc,
        properties=properties,
        dimensions=dimensions,
        configuration=playbooks,
        configuration_vars=config_vars,
        overrides=dict(spec.overrides.get(provider_type, {})),
        sync=spec.sync,
        stateful=stateful,
        renamed_from=spec.renamed_from,
        orchestrator="swarm" if swarm_provider(provider_cfg) else None,
    )


def _check_template_rules(
    state: DesiredState, resource: UniversalResource, eff: EffectiveResource, locate: Locate
) -> list[SourceIssue]:
    issues: list[SourceIssue] = []
    template = state.templates.get(resource.spec.template or "")
    if template is None:
        return issues
    for rule in template.spec.validation.required_dimensions:
        for key, wanted in rule.items():
            have = eff.dimensions.get(key)
            if have != wanted:
                issues.append(
                    _issue(
                        locate,
                        "UniversalResource",
                        eff.name,
                        ["spec", "template"],
                        f"template {template.name!r} requires dimension {key}={wanted!r}, "
                        f"the resource has {have!r} (set it in spec.dimensions or its pool)",
                    )
                )
    return issues


def resolve(state: DesiredState, locate: Locate) -> list[SourceIssue]:
    """Fill state.pool_parents and state.effective; return every reference problem found."""
    parents, issues = pool_parents(state, locate)
    state.pool_parents = parents
    providers = state.lab.spec.providers
    for name, pool in sorted(state.pools.items()):
        if pool.spec.provider is not None and pool.spec.provider not in providers:
            issues.append(
                _issue(
                    locate,
                    "ResourcePool",
                    name,
                    ["spec", "provider"],
                    f"provider {pool.spec.provider!r} is not declared in homeport.yaml "
                    f"(declared: {', '.join(sorted(providers)) or 'none'})",
                )
            )
    if issues:
        return issues
    paths = {p.spec.path: n for n, p in state.pools.items()}
    for name, resource in sorted(state.resources.items()):
        spec = resource.spec
        pool_name = paths.get(spec.pool)
        if pool_name is None:
            issues.append(
                _issue(locate, "UniversalResource", name, ["spec", "pool"], f"pool {spec.pool!r} does not exist")
            )
            continue
        if spec.template is not None and spec.template not in state.templates:
            issues.append(
                _issue(
                    locate,
                    "UniversalResource",
                    name,
                    ["spec", "template"],
                    f"template {spec.template!r} does not exist (templates: "
                    f"{', '.join(sorted(state.templates)) or 'none'})",
                )
            )
            continue
        if spec.provider is not None and spec.provider not in providers:
            issues.append(
                _issue(
                    locate,
                    "UniversalResource",
                    name,
                    ["spec", "provider"],
                    f"provider {spec.provider!r} is not declared in homeport.yaml",
                )
            )
            continue
        if spec.renamed_from is not None and spec.renamed_from in state.resources:
            issues.append(
                _issue(
                    locate,
                    "UniversalResource",
                    name,
                    ["spec", "renamed_from"],
                    f"renamed_from {spec.renamed_from!r} names a resource that still exists",
                )
            )
            continue
        chain = pool_chain(state, parents, pool_name)
        eff = effective_resource(state, resource, chain)
        if not eff.provider:
            issues.append(
                _issue(
                    locate,
                    "UniversalResource",
                    name,
                    ["spec", "pool"],
                    f"no provider: neither the resource nor pool {spec.pool} or its parents name one",
                )
            )
            continue
        if eff.node and eff.candidate_nodes and eff.node not in eff.candidate_nodes:
            issues.append(
                _issue(
                    locate,
                    "UniversalResource",
                    name,
                    ["spec", "placement", "node"],
                    f"node {eff.node!r} is not among the pool's nodes ({', '.join(eff.candidate_nodes)})",
                )
            )
            continue
        issues.extend(_check_template_rules(state, resource, eff, locate))
        eff.source_file = state.sources[("UniversalResource", name)].file
        count = ha_member_count(resource, state.lab.spec.providers.get(eff.provider))
        if not count:
            state.effective[name] = eff
            continue
        problems = _member_problems(state, resource, eff, count)
        if problems:
            issues.extend(_issue(locate, "UniversalResource", name, path, msg) for path, msg in problems)
            continue
        for member in expand_members(eff, count):
            state.effective[member.name] = member
    return issues


def member_name(name: str, number: int) -> str:
    """The name of member `number` (1-based) of a high_availability resource."""
    return f"{name}-{number}"


def _member_problems(
    state: DesiredState, resource: UniversalResource, eff: EffectiveResource, count: int
) -> list[tuple[list[str | int], str]]:
    """What stops a high_availability resource from expanding into `count` members, with the field to fix."""
    name = eff.name
    out: list[tuple[list[str | int], str]] = []
    longest = member_name(name, count)
    if len(longest) > DNS_LABEL_MAX:
        out.append((["metadata", "name"], f"high_availability names its members {name}-1 .. {longest}; "
                    f"{longest!r} is longer than {DNS_LABEL_MAX} characters: shorten the name"))
    taken = sorted(m for m in (member_name(name, i) for i in range(1, count + 1)) if m in state.resources)
    if taken:
        out.append((["metadata", "name"], f"high_availability members are named {name}-1 .. {longest}, but "
                    f"{', '.join(taken)} is declared as a resource of its own: rename one of them"))
    if resource.spec.placement.node:
        out.append((["spec", "placement", "node"], f"high_availability spreads {count} members over nodes; "
                    f"placement.node {resource.spec.placement.node} would pin them all to one: remove it "
                    "(use placement.avoid_nodes or the pool's nodes to limit where they go)"))
    ipv4 = eff.network.ipv4
    if ipv4 and ipv4.lower() != "dhcp":
        out.append((["spec", "network", "ipv4"], f"high_availability runs {count} members; one static address "
                    f"({ipv4}) cannot go to all of them: use dhcp (remove network.ipv4) or declare the members "
                    "as resources of their own"))
    return out


def expand_members(eff: EffectiveResource, count: int) -> list[EffectiveResource]:
    """The members <name>-1 .. <name>-N of a high_availability resource (pure): one instance each, in one
    anti-affinity group. Member 1 takes over a running single instance of the same name (renamed_from)."""
    rules = eff.placement_rules.model_copy(update={
        "anti_affinity_members": count,
        # containers publishing host ports cannot share an engine
        "anti_affinity_required": eff.provider_type == "docker" and bool(eff.service.ports),
    })
    single = eff.deployment.model_copy(update={"replicas": 1 if eff.deployment.replicas > 0 else 0})
    members = []
    for number in range(1, count + 1):
        name = member_name(eff.name, number)
        network = eff.network
        if network.hostname:
            network = network.model_copy(update={"hostname": member_name(network.hostname, number)})
        members.append(eff.model_copy(deep=True, update={
            "name": name,
            "member_of": eff.name,
            "member": number,
            "members": count,
            "placement_rules": rules,
            "deployment": single,
            "network": network,
            # the docker provider cannot rename a compose project (its volumes carry the name): no take-over there
            "renamed_from": (eff.renamed_from or (eff.name if eff.provider_type != "docker" else None))
            if number == 1
            else None,
        }))
    return members

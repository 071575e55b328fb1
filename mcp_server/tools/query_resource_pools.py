"""query-resource-pools: the pool hierarchy filtered by path, type and dimensions."""

from __future__ import annotations

import fnmatch
from typing import Any

from pydantic import Field

from mcp_server.advisor.placement import pool_nodes
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.models.desired import DesiredState
from reconciler.service.placement import capacity_report

SHOWN = 20  # resource names per pool unless all_resources


class Input(ToolInput):
    """Filters."""

    path_pattern: str | None = Field(default=None, max_length=300,
                                     description="Glob on the pool path, e.g. /infrastructure/on-premise/*")
    pool_type: str | None = Field(default=None, description="compute, storage, network, container, cluster, region")
    dimension_filters: list[str] = Field(default_factory=list, description="key=value pairs, all must match")
    include_capacity: bool = Field(default=False, description="Add each node's capacity, allocation, ratios, "
                                   "usage and free-to-place, as `homeport capacity`")
    all_resources: bool = Field(default=False, description=f"Every resource name (default: the first {SHOWN})")


class Output(ToolOutput):
    """Matching pools."""

    pools: list[dict[str, Any]]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Filter pools; dimensions are matched as text."""
    filters: dict[str, str] = {}
    for text in args.dimension_filters:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise AgentError(f"dimension filter {text!r} is not key=value (e.g. tier=gpu)")
        filters[key.strip()] = value.strip()
    state = app.state()
    observation = app.observe(state) if args.include_capacity else None
    capacity = (capacity_report(state, observation.inventories, observation.unavailable)
                if observation is not None else None)
    pools: list[dict[str, Any]] = []
    members_of = app.memo("pool-members", state.revision, (), lambda: _members(state))
    for pool in sorted(state.pools.values(), key=lambda p: p.spec.path):
        spec = pool.spec
        if args.path_pattern and not (fnmatch.fnmatch(spec.path, args.path_pattern)
                                      or spec.path.startswith(args.path_pattern.rstrip("*"))):
            continue
        if args.pool_type and spec.pool_type != args.pool_type:
            continue
        if any(str(spec.dimensions.get(k)) != v for k, v in filters.items()):
            continue
        provider, nodes = pool_nodes(state, spec.path)
        members = members_of.get(spec.path, [])
        item: dict[str, Any] = {"name": pool.name, "path": spec.path, "type": spec.pool_type, "provider": provider,
                                "nodes": nodes, "properties": spec.properties, "dimensions": spec.dimensions,
                                "description": spec.description, "resource_count": len(members),
                                "resources": members if args.all_resources else members[:SHOWN]}
        if observation is not None:
            item["quota"] = spec.capacity.model_dump(exclude_none=True)
            inv = observation.inventories.get(provider)
            item["observed_nodes"] = [n.model_dump(mode="json") for n in (capacity.nodes if capacity else [])
                                      if n.provider == provider and (not nodes or n.node in nodes)]
            if inv is None:
                item["observed"] = observation.unavailable.get(provider, "not observed")
        pools.append(item)
    return Output(summary=f"{len(pools)} pool(s): " + ", ".join(p["path"] for p in pools[:20]), pools=pools)


def _members(state: DesiredState) -> dict[str, list[str]]:
    """Resource names by pool path, sorted (one pass over the resources per commit)."""
    members: dict[str, list[str]] = {}
    for resource in state.effective.values():
        if resource.pool:
            members.setdefault(resource.pool, []).append(resource.name)
    return {path: sorted(names) for path, names in members.items()}


SPEC = ToolSpec(name="query-resource-pools", title="Query resource pools",
                description="The pool hierarchy (paths such as /infrastructure/on-premise/proxmox/compute) "
                            "filtered by path glob, type and dimensions, each pool with its resource count and "
                            "first names, optionally with live capacity.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

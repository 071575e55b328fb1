"""analyze-resource-requirements: a size for a workload from published vendor figures, with sources."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.advisor.placement import advise_placement
from mcp_server.advisor.sizing import SizingAdvice, advise_size, known_services
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.requirements import requirements_from
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """The workload and what the user said."""

    workload_type: str = Field(min_length=1, max_length=63, description="Service or workload: ollama, jenkins, "
                               "nextcloud, gitea, ai-inference, ci-server, web-app, ...")
    user_requirements: dict[str, Any] = Field(default_factory=dict, description="Hints from the user: cpu, "
                                              "memory_gb, storage_gb (these win over published figures)")
    performance_tier: Literal["minimal", "standard", "high-performance"] = Field(
        default="standard", description="Which of the vendor's published tiers to size for")
    consider_gpu: bool = Field(default=False, description="Whether a GPU should be part of the recommendation")


class Output(ToolOutput):
    """The recommended configuration and why."""

    recommended_config: dict[str, Any]
    sizing: SizingAdvice
    alternative_configs: dict[str, dict[str, Any]] = Field(default_factory=dict)
    resource_justification: list[str]
    placement_recommendations: list[dict[str, Any]] = Field(default_factory=list)


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Size from vendor figures and hints; place on the lab's pools that can take it now."""
    advice = advise_size(args.workload_type, args.performance_tier, args.user_requirements, args.consider_gpu)
    config: dict[str, Any] = {k: f.value for k, f in advice.fields.items() if f.value is not None}
    if args.consider_gpu:
        config["gpu"] = True
    why: list[str] = []
    for name, f in advice.fields.items():
        if f.basis in ("vendor", "hint"):
            src = next(s for s in advice.sources if s.id == f.source)
            why.append(f"{name} {f.value:g}: {src.title} ({src.url}, read {src.date})"
                       + (f" - {f.note}" if f.note else ""))
        elif f.basis == "user":
            why.append(f"{name} {f.value:g}: the user's requirement")
        else:
            why.append(f"{name}: {f.note}")
    why.extend(f"hint {h}" for h in advice.hints_used)
    if advice.service is None:
        why.append(f"homeport has no published figures for {args.workload_type!r} (it knows: "
                   f"{', '.join(known_services())})")
    state = app.state()
    observation = app.observe(state)
    req = requirements_from({k: v for k, v in config.items() if k in ("cpu", "memory_gb", "storage_gb", "gpu")})
    if args.consider_gpu:
        if advice.gpu_recommended:
            why.append(f"gpu: {advice.gpu_recommended}")
        for inv in observation.inventories.values():
            for node in inv.nodes:
                for gpu in node.gpus:
                    why.append(f"gpu in the lab: {node.name} ({inv.provider}) has {gpu.model or 'a GPU'}"
                               + (f", in use by {gpu.in_use_by}" if gpu.in_use_by else ", free")
                               + " [live inventory]")
    placements = []
    for pool in sorted(state.pools.values(), key=lambda p: p.spec.path):
        provider_name = pool.spec.provider
        if pool.spec.pool_type != "compute" or provider_name is None or provider_name not in observation.inventories:
            continue
        inv = observation.inventories[provider_name]
        provider = app.service.provider(state.lab_name, provider_name, state.lab.spec.providers[provider_name])
        result = advise_placement(state, inv, provider, pool.spec.path, req, [], False)
        if result.best_node:
            placements.append({"pool": pool.spec.path, "node": result.best_node, "reason": result.reason})
    summary = (f"{args.workload_type} ({args.performance_tier}): "
               + ", ".join(f"{k} {v}" for k, v in config.items())
               + (f"; no published figure for {', '.join(advice.unknown)} (see to_measure)" if advice.unknown
                  else "")
               + f"; fits now in {len(placements)} pool(s)")
    return Output(summary=summary, recommended_config=config, sizing=advice,
                  alternative_configs=advice.alternatives, resource_justification=why,
                  placement_recommendations=placements)


SPEC = ToolSpec(name="analyze-resource-requirements", title="Analyze resource requirements",
                description="Recommended CPU, memory and storage for a workload from the vendor's published "
                            "figures (each cited with URL and date) and hints (developers, models, ...); where no "
                            "source has a number it says so and what to measure. Also lists pools where it fits now.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

"""validate-universal-definition: is a definition valid, and which of the lab's providers can render it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.advisor.target import choose_target
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import as_document, resource_doc_edit, retarget, trial_state
from mcp_server.requirements import requirements_from
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import Invalid, ServiceError, edits


class Input(ToolInput):
    """The definition and the providers to check."""

    universal_definition: dict[str, Any] = Field(description="A UniversalResource document or its spec + name")
    target_providers: list[str] = Field(default_factory=list,
                                        description="Provider instances or types; default: the definition's pool")
    strict_validation: bool = Field(default=False, description="Also fail on unsupported features (GPUs, HA)")


class Output(ToolOutput):
    """Per-provider results."""

    valid: bool
    validation_results: dict[str, str]
    unsupported_features: dict[str, list[str]] = Field(default_factory=dict)
    recommended_alternatives: list[str] = Field(default_factory=list)
    provider_recommendations: list[str] = Field(default_factory=list)
    pools: dict[str, str] = Field(default_factory=dict, description="Per target: the pool it would use")
    decisions: list[str] = Field(default_factory=list, description="How the pool was chosen when none was given")


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Validate the schema and pool, then render for each target."""
    state = app.state()
    base = as_document(args.universal_definition)
    name = base["metadata"]["name"]
    if name in state.resources:
        raise AgentError(f"{name!r} already exists in the lab; pick a new name (validation checks a new resource)")
    targets = args.target_providers or [""]
    decisions: list[str] = []
    pools: dict[str, str] = {}
    spec = base.setdefault("spec", {})
    if not args.target_providers and not spec.get("pool"):
        reqs = spec.get("requirements") if isinstance(spec.get("requirements"), dict) else {}
        req = requirements_from({k: v for k, v in (reqs or {}).items() if k in ("cpu", "memory_gb", "storage_gb",
                                                                                "gpu")})
        observation = app.observe(state)
        try:
            choice = choose_target(state, observation.inventories, observation.unavailable, req,
                                   high_availability=bool((reqs or {}).get("high_availability")), target=None,
                                   busy_ok=True)
        except ValueError as exc:
            raise AgentError(f"the definition names no pool and {exc}") from None
        spec["pool"] = choice.pool
        decisions = [d for d in choice.decisions]
    results: dict[str, str] = {}
    unsupported: dict[str, list[str]] = {}
    for target in targets:
        import copy

        doc = retarget(state, copy.deepcopy(base), target or None)
        label = target or "(its pool)"
        try:
            path, data = resource_doc_edit(app, state, doc)
            trial, _ = trial_state(app, {path: data})
        except (AgentError, ServiceError) as exc:
            if not target:
                raise
            results[label] = f"invalid: {exc}"
            continue
        resource = trial.effective_of(name)
        missing: list[str] = []
        try:
            chart = edits.chart_of(app.service, resource)
            if chart is None:
                results[label] = f"no chart renders {resource.resource_type} on {resource.provider_type}"
                continue
            if resource.requirements.gpu_count and not chart.meta.gpu:
                missing.append(f"GPUs (chart {chart.name} cannot give a workload GPUs)")
            if 0 < len(resource.candidate_nodes) < resource.members:  # high_availability members share nodes
                missing.append(f"high_availability: {resource.members} members but only "
                               f"{len(resource.candidate_nodes)} nodes in the pool; members will share nodes")
            edits.render_preview(app.service, resource)
            results[label] = f"ok: chart {chart.name} in pool {resource.pool}"
            pools[label] = resource.pool
        except Invalid as exc:
            results[label] = f"render failed: {exc}"
        if missing:
            unsupported[label] = missing
    good = [t for t, r in results.items() if r.startswith("ok")]
    # Valid only when every asked target renders it (a definition four of six targets refuse is not valid).
    valid = bool(good) and len(good) == len(results) and (not args.strict_validation or not unsupported)
    alternatives = [f"{t}: {r}" for t, r in results.items() if not r.startswith("ok")]
    return Output(summary=f"{name}: {'valid' if valid else 'not valid'}; " + "; ".join(f"{t} {r}" for t, r in
                                                                                        results.items()),
                  valid=valid, validation_results=results, unsupported_features=unsupported,
                  recommended_alternatives=alternatives, provider_recommendations=good, pools=pools,
                  decisions=decisions)


SPEC = ToolSpec(name="validate-universal-definition", title="Validate a universal definition",
                description="Checks a universal resource definition against the schema, the lab's pools and "
                            "the target providers' charts; valid only if every target renders it; shows the pool "
                            "each would use (chosen as deploy-with-intelligence does when none is given).",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

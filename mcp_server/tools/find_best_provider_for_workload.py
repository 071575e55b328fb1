"""find-best-provider-for-workload: the lab's providers compared for a workload, on facts and cited prices."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mcp_server.advisor.choice import CLOUD_TYPES, ProviderOption, compare_providers
from mcp_server.advisor.costs import lab_cost_notes
from mcp_server.advisor.sizing import advise_size
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.requirements import requirements_from
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """The workload and its constraints."""

    workload_type: str = Field(min_length=1, max_length=63, description="web-app, ai-inference, database, ...")
    requirements: dict[str, Any] = Field(default_factory=dict, description="cpu, memory_gb, storage_gb, gpu")
    cost_constraints: dict[str, Any] = Field(default_factory=dict,
                                             description="{'max_monthly_cost': 50, 'prefer_on_premise': true}")
    availability_requirements: Literal["basic", "high", "critical"] = Field(
        default="basic", description="basic: one instance; high or critical: providers that can run replicas")
    data_locality: str | None = Field(default=None, description="Region or site the data must stay in")


class Output(ToolOutput):
    """The recommendation and the comparison it rests on."""

    recommended_provider: str | None
    provider_comparison: list[ProviderOption]
    cost_estimates: dict[str, Any]
    migration_complexity: str
    deployment_strategy: str
    sized_requirements: dict[str, Any]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Size (hints, else vendor figures), then judge every provider of the lab."""
    sizing = advise_size(args.workload_type, "standard", args.requirements, bool(args.requirements.get("gpu")))
    sized = {k: f.value for k, f in sizing.fields.items() if f.value is not None}
    sized.update({k: v for k, v in args.requirements.items() if k in ("gpu", "gpu_model")})
    req = requirements_from(sized)
    state = app.state()
    observation = app.observe(state)
    ha = args.availability_requirements != "basic"
    max_cost = args.cost_constraints.get("max_monthly_cost")
    options = compare_providers(state, observation.inventories, observation.unavailable, req,
                                high_availability=ha,
                                prefer_on_premise=bool(args.cost_constraints.get("prefer_on_premise", True)),
                                max_monthly_cost=float(max_cost) if isinstance(max_cost, int | float) else None,
                                providers={name: app.service.provider(state.lab_name, name, cfg)
                                           for name, cfg in state.lab.spec.providers.items()
                                           if name in observation.inventories})
    if args.data_locality:
        for o in options:
            cfg = state.lab.spec.providers[o.provider]
            if o.type in CLOUD_TYPES and cfg.region and args.data_locality.lower() not in cfg.region.lower():
                o.viable = False
                o.cons.append(f"region {cfg.region} is outside the requested data locality {args.data_locality}")
        options.sort(key=lambda o: 0 if o.viable else 1)
    best = next((o for o in options if o.viable), None)
    costs = {"lab": lab_cost_notes(state), **{o.provider: o.monthly_cost for o in options if o.monthly_cost}}
    if best is None:
        strategy = "no provider can take it now: free capacity, enable a provider, or lower the requirements"
    elif best.type in CLOUD_TYPES:
        strategy = f"deploy-with-intelligence into pool {best.pools[0]} (the chart renders the cloud template)"
    else:
        strategy = (f"deploy-with-intelligence into pool {best.pools[0]}; find-optimal-placement suggests "
                    f"a node among {', '.join(best.fitting_nodes)}")
    migration = ("low between on-premise providers of the same kind (same universal definition, change `pool`); "
                 "moving data between on-premise and cloud needs a copy of volumes and is planned by hand")
    summary = (f"{best.provider} ({best.type}) for {args.workload_type}: {'; '.join(best.pros[:2])}" if best else
               f"no provider of this lab can take {args.workload_type} now")
    return Output(summary=summary, recommended_provider=best.provider if best else None,
                  provider_comparison=options, cost_estimates=costs, migration_complexity=migration,
                  deployment_strategy=strategy, sized_requirements=sized)


SPEC = ToolSpec(name="find-best-provider-for-workload", title="Find the best provider for a workload",
                description="Compares the lab's providers for a workload: fit on live capacity, GPUs, high "
                            "availability, and monthly cost from cited, dated cloud prices (on-premise power "
                            "from the lab's electricity price; unknowns stated).",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

"""translate-universal-to-provider: render a universal definition with the target provider's chart."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.definitions import as_document, resource_doc_edit, retarget, trial_state
from mcp_server.toolspec import AgentError, ToolInput, ToolOutput, ToolSpec
from reconciler.service import Invalid, edits


class Input(ToolInput):
    """The definition and the target."""

    universal_definition: dict[str, Any] = Field(description="A UniversalResource document, or just its spec "
                                                 "with a `name` key")
    target_provider: str = Field(min_length=1, max_length=63, description="Provider instance or type of the lab")
    chart_version: str = Field(default="latest", description="Only 'latest' (the installed charts) is available")
    provider_overrides: dict[str, Any] = Field(default_factory=dict,
                                               description="Values merged into spec.overrides[<provider type>]")


class Output(ToolOutput):
    """The rendered configuration."""

    chart: str | None
    pool: str
    rendered_config: dict[str, str]
    helm_values: dict[str, Any]
    validation_results: list[str]
    deployment_commands: list[str]


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """Render in a throwaway state: nothing is written to a branch."""
    if args.chart_version != "latest":
        raise AgentError("only chart_version 'latest' is available (the charts installed with homeport)")
    state = app.state()
    doc = retarget(state, as_document(args.universal_definition), args.target_provider)
    name = doc["metadata"]["name"]
    if name in state.resources:
        raise AgentError(f"{name!r} already exists in the lab; choose a new name to translate a new definition")
    if args.provider_overrides:
        ptype = state.lab.spec.providers[args.target_provider].type if args.target_provider in \
            state.lab.spec.providers else args.target_provider
        doc["spec"].setdefault("overrides", {}).setdefault(ptype, {}).update(args.provider_overrides)
    path, data = resource_doc_edit(app, state, doc)
    trial, _ = trial_state(app, {path: data})
    resource = trial.effective_of(name)
    try:
        rendered = edits.render_preview(app.service, resource)
    except Invalid as exc:
        return Output(summary=f"rendering failed: {exc}", chart=None, pool=resource.pool, rendered_config={},
                      helm_values=resource.values(), validation_results=[str(exc)], deployment_commands=[])
    if rendered.chart is None:
        raise AgentError(f"no chart renders {resource.resource_type} on {resource.provider_type}; "
                         "see list-available-helm-charts")
    commands = ["deploy-with-intelligence (dry_run=false) to propose it; after a person merges, "
                "the reconciler applies it (`homeport apply`)"]
    return Output(summary=f"{name} rendered with chart {rendered.chart} {rendered.chart_version} for "
                          f"{resource.provider} ({resource.provider_type}) in {resource.pool}: "
                          f"{', '.join(sorted(rendered.files))}",
                  chart=rendered.chart, pool=resource.pool, rendered_config=rendered.files,
                  helm_values=resource.values(),
                  validation_results=["values match the chart's values.schema.json; outputs passed their validators"],
                  deployment_commands=commands)


SPEC = ToolSpec(name="translate-universal-to-provider", title="Translate a universal definition",
                description="Renders a universal resource definition with the target provider's chart "
                            "(Terraform, Compose, CloudFormation, ...) exactly as the reconciler would, without "
                            "proposing anything.",
                scope="read", toolset="read", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

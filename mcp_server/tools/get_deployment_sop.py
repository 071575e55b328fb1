"""get-deployment-sop: the standard operating procedure for deploying a service."""

from __future__ import annotations

from pydantic import Field

from mcp_server.advisor.sops import find_sop, sop_names, sop_sections
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.toolspec import ToolInput, ToolOutput, ToolSpec


class Input(ToolInput):
    """Which service."""

    service_name: str = Field(min_length=1, max_length=63, description="jenkins, ollama, nextcloud, or any")
    target_environment: str = Field(default="production", max_length=30,
                                    description="Where it will run, e.g. production or staging")
    include_troubleshooting: bool = Field(default=True, description="Include common issues")


class Output(ToolOutput):
    """The procedure, by section."""

    sop: str = Field(description="SOP name; also readable as resource homeport://sops/<name>")
    specific: bool = Field(description="False: no SOP for this service, the generic one is returned")
    prerequisites: str
    deployment_steps: str
    validation_checks: str
    common_issues: str = ""
    post_deployment: str
    sources: str


def run(app: HomeportApp, caller: Caller, args: Input) -> Output:
    """The service's SOP, or the generic one with a note."""
    name = find_sop(args.service_name)
    specific = name is not None
    sections = sop_sections(name or "deploy-service")
    available = [n.removeprefix("deploy-") for n in sop_names() if n.startswith("deploy-") and n != "deploy-service"]
    note = "" if specific else (f"No SOP for {args.service_name!r} (available: {', '.join(available)}); "
                                "this is the generic procedure. ")
    if args.target_environment != "production":
        note += f"For {args.target_environment}, set deployment.environment accordingly. "
    return Output(summary=note + sections["title"], sop=name or "deploy-service", specific=specific,
                  prerequisites=sections.get("prerequisites", ""),
                  deployment_steps=sections.get("deployment-steps", ""),
                  validation_checks=sections.get("validation-checks", ""),
                  common_issues=sections.get("common-issues", "") if args.include_troubleshooting else "",
                  post_deployment=sections.get("post-deployment", ""), sources=sections.get("sources", ""))


SPEC = ToolSpec(name="get-deployment-sop", title="Get a deployment SOP",
                description="Standard operating procedure for deploying a service with homeport: "
                            "prerequisites (with cited vendor figures), steps, checks, common issues.",
                scope="read", toolset="advice", input=Input, output=Output, run=run,
                read_only=True, destructive=False, idempotent=True)

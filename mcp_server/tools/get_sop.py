"""get-sop: the architecture document's name for get-deployment-sop (operation="deploy_ollama")."""

from __future__ import annotations

from pydantic import Field

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.tools import get_deployment_sop
from mcp_server.toolspec import ToolInput, ToolSpec


class Input(ToolInput):
    """The operation, as the document spells it."""

    operation: str = Field(min_length=1, max_length=63, description="deploy_<service>, e.g. deploy_ollama")
    detailed: bool = Field(default=True, description="Include common issues")
    target_environment: str = Field(default="production", max_length=30,
                                    description="Where it will run, e.g. production or staging")


def run(app: HomeportApp, caller: Caller, args: Input) -> get_deployment_sop.Output:
    """get-deployment-sop for the service the operation names."""
    service = args.operation.strip().lower().removeprefix("deploy_").removeprefix("deploy-") or args.operation
    return get_deployment_sop.run(app, caller, get_deployment_sop.Input(
        service_name=service, target_environment=args.target_environment, include_troubleshooting=args.detailed))


SPEC = ToolSpec(name="get-sop", title="Get an SOP (alias of get-deployment-sop)",
                description="Alias of get-deployment-sop: operation='deploy_ollama' -> the ollama SOP.",
                scope="read", toolset="advice", input=Input, output=get_deployment_sop.Output, run=run,
                read_only=True, destructive=False, idempotent=True)

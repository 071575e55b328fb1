"""Prompts for the seed's workflow examples: deploy a service, right-size the lab, find a home for GPU work."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer


def deploy_service(service: str, requirements: str = "", availability: str = "basic") -> str:
    """Deploy a service the homeport way: size with sources, place, propose, hand over for review."""
    return (
        f"Deploy {service} in my homelab"
        + (f" ({requirements})" if requirements else "")
        + f", availability {availability}.\n"
        "Use homeport's tools in this order: get-deployment-sop for the service; analyze-resource-requirements "
        "(quote the sources it gives; say plainly which numbers are unknown); discover-infrastructure-context; "
        "find-best-provider-for-workload; find-optimal-placement; deploy-with-intelligence with dry_run=true, "
        "then dry_run=false with a reason naming the evidence. Finish by giving me the proposal id and the "
        "command to review it. Do not claim anything is deployed until get-deployment-status says running."
    )


def right_size_lab(focus: str = "all") -> str:
    """Right-size the lab: find over- and under-sized resources and propose changes with evidence."""
    return (
        f"Right-size my lab (focus: {focus}).\n"
        "Use discover-infrastructure-context and detect-infrastructure-anomalies to find nodes under pressure "
        "and resources that drifted; get-resource-allocation-guidelines for the rules; compare each resource "
        "with analyze-resource-requirements. For each change you recommend, open one proposal with "
        "update-resource-dimensions or deploy-with-intelligence and explain the evidence. Shrinking is high "
        "risk: list those separately and let me decide."
    )


def gpu_workload(model_size: str = "7B") -> str:
    """Run a local LLM when unsure about sizing (the seed's Ollama example)."""
    return (
        f"I want to run {model_size} LLMs locally but I am not sure what I need.\n"
        "Read get-deployment-sop for ollama, then analyze-resource-requirements(workload_type='ollama', "
        "consider_gpu=true); check GPU availability with discover-infrastructure-context; compare providers "
        "with find-best-provider-for-workload (quote cloud prices with their source date); propose with "
        "deploy-with-intelligence and give me the proposal id."
    )


def register_prompts(server: MCPServer[Any]) -> None:
    """Register the workflow prompts."""
    server.prompt(name="deploy-a-service", title="Deploy a service")(deploy_service)
    server.prompt(name="right-size-my-lab", title="Right-size my lab")(right_size_lab)
    server.prompt(name="run-a-local-llm", title="Run a local LLM (GPU sizing)")(gpu_workload)

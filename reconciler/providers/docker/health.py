"""Health after `up`: every container of the project running, and healthy where a check is defined."""

from __future__ import annotations

from typing import Any

from reconciler.providers.docker.engine import Engine
from reconciler.providers.docker.facts import container_name, health_from_status
from reconciler.providers.docker.fields import COMPOSE_PROJECT_LABEL


def container_problem(summary: dict[str, Any]) -> str | None:
    """Why a listed container is not ready, or None when it is running (and healthy, if checked)."""
    state = summary.get("State", "unknown")
    name = container_name(summary)
    if state != "running":
        return f"container {name} is {state} ({summary.get('Status', '')})"
    health = health_from_status(summary.get("Status", ""))
    if health in ("unhealthy", "starting"):
        return f"container {name} is {health}"
    return None


def last_health_output(inspect: dict[str, Any]) -> str:
    """The last health check's exit code and output, for a failure message."""
    log = ((inspect.get("State") or {}).get("Health") or {}).get("Log") or []
    if not log:
        return ""
    last = log[-1]
    output = " ".join(str(last.get("Output", "")).split())[:300]
    return f"last check exited {last.get('ExitCode')}" + (f": {output}" if output else "")


def project_problems(engine: Engine, project: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The project's containers on the engine, and what keeps each from being ready (one listing)."""
    summaries = [s for s in engine.containers() if (s.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL) == project]
    problems = []
    for summary in summaries:
        problem = container_problem(summary)
        if problem is None:
            continue
        if "unhealthy" in problem or "starting" in problem:
            detail = engine.inspect(summary["Id"])
            extra = last_health_output(detail) if detail else ""
            if extra:
                problem = f"{problem}: {extra}"
        problems.append(problem)
    if not summaries:
        problems.append(f"project {project} has no containers")
    return summaries, problems

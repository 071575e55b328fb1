"""Limits on input: YAML files, JSON bodies, MCP arguments, dimension values and chart renders.

Every limit has a name; an error that a limit stops names it and the environment variable that
raises it (`HOMEPORT_LIMIT_<NAME>`, e.g. `HOMEPORT_LIMIT_YAML_DEPTH=128`). See docs/limits.md.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ENV_PREFIX = "HOMEPORT_LIMIT_"


class InputLimits(BaseModel):
    """The limits in force; defaults fit a homelab with room to spare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    yaml_file_bytes: int = Field(default=1_048_576, ge=1, description="Bytes in one desired-state or chart YAML file")
    yaml_documents: int = Field(default=1_000, ge=1, description="Documents (---) in one YAML file")
    yaml_nodes: int = Field(
        default=200_000, ge=1, description="Values in one YAML document, every alias counted as the copy it stands for"
    )
    yaml_depth: int = Field(
        default=64, ge=2, le=256, description="Nesting depth of mappings and lists in one YAML document"
    )
    string_chars: int = Field(default=65_536, ge=1, description="Characters in one YAML or JSON string value")
    json_body_bytes: int = Field(default=5_242_880, ge=1,
                                 description="Bytes in a request body over HTTP (API, web, MCP, webhook)")
    json_depth: int = Field(default=64, ge=2, le=256, description="Nesting depth of a JSON body or MCP argument")
    mcp_argument_chars: int = Field(
        default=262_144, ge=1, description="Characters in one MCP tool argument, a JSON-encoded string included"
    )
    dimension_value_chars: int = Field(default=4_096, ge=1, description="Characters in one dimension value (JSON)")
    render_seconds: float = Field(default=10.0, gt=0, description="Seconds one chart may take to render")
    render_output_bytes: int = Field(default=4_194_304, ge=1, description="Bytes one chart may render, all files")


class LimitExceeded(ValueError):
    """Input over a limit; the message names the limit, its value and how to raise it."""

    def __init__(self, name: str, limit: float, what: str) -> None:
        self.name = name
        self.limit = limit
        super().__init__(
            f"{what}: over the limit {name} = {_show(limit)} "
            f"(raise it with {ENV_PREFIX}{name.upper()} if this is meant)"
        )


def _show(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def limits_from_env(env: Mapping[str, str] | None = None) -> InputLimits:
    """The limits with `HOMEPORT_LIMIT_<NAME>` overrides applied; a bad override is a clear ValueError."""
    env = os.environ if env is None else env
    overrides: dict[str, str] = {}
    for name in InputLimits.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw.strip():
            overrides[name] = raw.strip()
    try:
        return InputLimits.model_validate(overrides)
    except ValidationError as exc:
        bad = "; ".join(f"{ENV_PREFIX}{str(e['loc'][0]).upper()}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid limit setting: {bad}") from None


_CURRENT: InputLimits | None = None


def current_limits() -> InputLimits:
    """The limits of this process (read from the environment once)."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = limits_from_env()
    return _CURRENT


def set_limits(limits: InputLimits | None) -> None:
    """Replace this process's limits (None: read the environment again on next use); for tests and benches."""
    global _CURRENT
    _CURRENT = limits

"""How a homeport tool is declared and adapted to the MCP SDK.

A tool module holds an input model, an output model and a plain function `run(app, caller, args)`; the
MCP layer only adapts: it checks the caller's scope, validates the arguments through the input model
(clear messages, never a traceback), runs the function under the lab's lock on a worker thread, writes
the audit row, and returns structured output plus a short text summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_args, get_origin

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, ValidationError

from mcp_server import catalog
from mcp_server.app import HomeportApp
from mcp_server.auth import Caller, current_caller, refusal
from mcp_server.caller import direct_client
from mcp_server.catalog import DEFAULT_TOOLSETS, TOOLSETS, RawArguments, ToolCall
from mcp_server.schemas import compact_input, trim_output
from reconciler.models.jsonlimits import check_json_value, decode_json_text
from reconciler.models.limits import LimitExceeded
from reconciler.service import ServiceError, commands
from reconciler.service.errors import agent_message, as_service_error

__all__ = [
    "DEFAULT_TOOLSETS",
    "TOOLSETS",
    "USER_ERRORS",
    "AgentError",
    "ToolInput",
    "ToolOutput",
    "ToolSpec",
    "audit_call",
    "build_tool",
    "tool_call",
    "tool_entry",
]


class ToolInput(BaseModel):
    """Base of tool inputs: unknown arguments are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid")


class ToolOutput(BaseModel):
    """Base of tool outputs: `summary` is the short text every client shows."""

    summary: str


class AgentError(Exception):
    """A failure the agent can act on: the message says what is wrong and what to send or call instead."""


# Errors whose messages are written for people and safe to show (no secrets, no paths beyond the lab's own
# files): the service's error tree, the tool's own AgentError, and the input checks' ValueErrors.
USER_ERRORS: tuple[type[Exception], ...] = (AgentError, ServiceError, ValueError, LookupError)


def error_message(exc: Exception) -> str:
    """The text an agent reads for a user-facing error (one mapping for every tool)."""
    if isinstance(exc, AgentError):
        return str(exc)
    mapped = as_service_error(exc)
    return agent_message(mapped) if mapped is not None else str(exc)

In = TypeVar("In", bound=ToolInput)
Out = TypeVar("Out", bound=ToolOutput)


@dataclass(frozen=True)
class ToolSpec(Generic[In, Out]):
    """One MCP tool: name, scope, toolset, models, hints and the plain function behind it."""

    name: str
    title: str
    description: str
    scope: str
    toolset: str
    input: type[In]
    output: type[Out]
    run: Callable[[HomeportApp, Caller, In], Out]
    # Safety hints: no defaults, so every tool says whether it writes, destroys, and may be repeated.
    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool = False

    def call(self, app: HomeportApp, caller: Caller, arguments: dict[str, Any]) -> Out:
        """Validate and run (used by tests and the MCP adapter alike); AgentError for the agent's mistakes."""
        if not caller.allows(self.scope):
            raise AgentError(refusal(caller, self.scope, self.name))
        args = validate_arguments(self.input, arguments)
        return app.run(lambda: self.run(app, caller, args))


def _wants_structure(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is None:
        return isinstance(annotation, type) and issubclass(annotation, dict | list | BaseModel)
    return origin in (dict, list) or any(_wants_structure(a) for a in get_args(annotation) if a is not type(None))


def validate_arguments(model: type[In], arguments: dict[str, Any]) -> In:
    """The arguments as the input model, or AgentError listing each wrong field and what to send."""
    data = dict(arguments)
    for key, value in arguments.items():
        field = model.model_fields.get(key)
        try:  # depth and size first, JSON sent as text included (docs/limits.md)
            check_json_value(value, f"argument `{key}`")
            # Some clients send objects and arrays as JSON text.
            if field is not None and isinstance(value, str) and _wants_structure(field.annotation):
                parsed = decode_json_text(value, f"argument `{key}`")
                if isinstance(parsed, dict | list):
                    data[key] = parsed
        except LimitExceeded as exc:
            raise AgentError(str(exc)) from None
        except ValueError:
            continue
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            where = ".".join(str(p) for p in err["loc"]) or "(arguments)"
            if err["type"] == "extra_forbidden":
                allowed = ", ".join(model.model_fields)
                problems.append(f"`{where}` is not an argument of this tool; its arguments are: {allowed}")
            elif err["type"] == "missing":
                desc = model.model_fields[str(err["loc"][0])].description if err["loc"] and \
                    str(err["loc"][0]) in model.model_fields else None
                problems.append(f"`{where}` is required" + (f" ({desc})" if desc else ""))
            else:
                problems.append(f"`{where}`: {err['msg']}")
        raise AgentError("invalid arguments: " + "; ".join(problems)) from None


def _client_name(ctx: Context) -> str | None:
    try:
        params = ctx.request_context.session.client_params
        info = getattr(params, "client_info", None)
        return getattr(info, "name", None)
    except Exception:  # no session: a read answered beside the SDK names its client here; else it is optional
        return direct_client.get()


def _request(ctx: Context) -> Any:
    try:
        return ctx.request_context.request
    except Exception:  # no request context outside a live call
        return None


def audit_call(app: HomeportApp, caller: Caller, tool: str, arguments: dict[str, Any], outcome: str,
               result: dict[str, Any], started: float, *, finished: float | None = None,
               lab_name: str | None = None) -> None:
    """One audit row per tool call (arguments redacted; the chain hash links it to the row before)."""
    proposal_id = result.get("proposal_id") if isinstance(result.get("proposal_id"), str) else None
    # "label", not "token": the audit log redacts values under secret-looking keys.
    who = {"token_id": caller.token_id, "label": caller.token_name, "owner": caller.owner, "client": caller.client}
    commands.record_audit(app.service, entity_type="mcp-tool", entity_id=tool, action="tool-call",
                          actor=caller.actor, actor_kind=caller.kind, tool=tool,
                          arguments=arguments,  # redacted, then bounded, by the store
                          result={**result, "caller": who}, outcome=outcome, proposal_id=proposal_id,
                          duration_ms=round(((finished or time.perf_counter()) - started) * 1000, 3),
                          lab_name=lab_name)


def tool_entry(spec: ToolSpec[Any, Any]) -> dict[str, Any]:
    """What tools/list advertises for a spec (mcp_server/catalog.py): the input schema from the input model,
    the output schema trimmed from the output model, the safety hints."""
    output = FuncMetadata(arg_model=RawArguments, output_model=spec.output).output_schema or {}
    annotations = ToolAnnotations(read_only_hint=spec.read_only, destructive_hint=spec.destructive,
                                  idempotent_hint=spec.idempotent, open_world_hint=spec.open_world)
    return {"name": spec.name, "title": spec.title, "description": spec.description, "toolset": spec.toolset,
            "scope": spec.scope, "input_schema": compact_input(spec.input.model_json_schema()),
            "output_schema": trim_output(output),
            "annotations": annotations.model_dump(mode="json", by_alias=True, exclude_none=True)}


def build_tool(app: HomeportApp, spec: ToolSpec[Any, Any], default_caller: Caller,
               entry: dict[str, Any] | None = None) -> Tool:
    """The SDK Tool for a spec: as the catalog advertises it (entry; computed when not given), calling the spec.

    Its output schema is published without a model: the structured result is the output model's own dump, so
    the SDK does not validate it a second time on every call.
    """
    return catalog.sdk_tool(entry or tool_entry(spec), tool_call(app, spec, default_caller))


def tool_call(app: HomeportApp, spec: ToolSpec[Any, Any], default_caller: Caller) -> ToolCall:
    """The async function the SDK calls for a spec: scope check, validation, run, audit, structured result."""

    async def call(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        app.call_started()  # read audit rows wait while calls are in flight
        try:
            return await answer(arguments, ctx)
        finally:
            app.call_ended()

    async def answer(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        caller = current_caller(_request(ctx), default_caller, _client_name(ctx))
        started = time.perf_counter()
        try:
            out, lab_name = await anyio.to_thread.run_sync(lambda: _call(spec, app, caller, arguments))
        except USER_ERRORS as exc:
            message = error_message(exc)
            outcome = "refused" if message.startswith(spec.name + " needs the") else "error"
            await anyio.to_thread.run_sync(lambda: _audit_now(
                app, caller, spec.name, arguments, outcome, {"error": message[:2000]}, started))
            raise ToolError(message) from None
        except Exception as exc:
            crash = {"error": type(exc).__name__}
            await anyio.to_thread.run_sync(
                lambda: _audit_now(app, caller, spec.name, arguments, "crash", crash, started))
            raise
        structured = out.model_dump(mode="json")
        row = _audit_result(structured)
        finished = time.perf_counter()
        if spec.read_only:  # a read's row is written once calls stop for a moment (same order, same content)
            app.audit_later(lambda: audit_call(app, caller, spec.name, arguments, "ok", row, started,
                                               finished=finished, lab_name=lab_name))
        else:
            await anyio.to_thread.run_sync(lambda: _audit_now(
                app, caller, spec.name, arguments, "ok", row, started, lab_name=lab_name))
        text = out.summary + "\n\n" + json.dumps(structured, default=str, separators=(",", ":"))
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)

    return call


def _call(spec: ToolSpec[Any, Any], app: HomeportApp, caller: Caller, arguments: dict[str, Any]) -> tuple[Any, str]:
    """The tool's output and the lab's name (for its audit row), each under the lab's lock."""
    out = spec.call(app, caller, arguments)
    return out, app.run(lambda: app.lab_name)


def _audit_now(app: HomeportApp, caller: Caller, tool: str, arguments: dict[str, Any], outcome: str,
               result: dict[str, Any], started: float, *, lab_name: str | None = None) -> None:
    """Write a row now, after the reads' rows still queued (the log keeps call order)."""
    app.flush_audits()
    audit_call(app, caller, tool, arguments, outcome, result, started, lab_name=lab_name)


def _audit_result(structured: dict[str, Any]) -> dict[str, Any]:
    keep: dict[str, Any] = {k: structured[k] for k in ("summary", "proposal_id", "branch", "risk") if k in structured}
    if isinstance(structured.get("proposal"), dict):
        keep["proposal_id"] = structured["proposal"].get("proposal_id")
    return keep

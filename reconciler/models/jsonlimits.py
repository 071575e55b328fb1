"""Limits on JSON values that arrive as arguments (MCP tools), including JSON sent as text inside them."""

from __future__ import annotations

import json
from typing import Any

from reconciler.models.limits import InputLimits, LimitExceeded, current_limits


def check_json_value(value: Any, what: str, limits: InputLimits | None = None) -> None:
    """Refuse a value nested deeper than json_depth, or holding a string or a total past mcp_argument_chars."""
    limits = limits or current_limits()
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth + 1 > limits.json_depth:
                raise LimitExceeded("json_depth", limits.json_depth, f"{what} nests deeper than that")
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if isinstance(key, str):
                    total += len(key)
                stack.append((child, depth + 1))
        elif isinstance(item, str):
            total += len(item)
        if total > limits.mcp_argument_chars:
            raise LimitExceeded("mcp_argument_chars", limits.mcp_argument_chars, f"{what} holds more characters")


def decode_json_text(text: str, what: str, limits: InputLimits | None = None) -> Any:
    """JSON sent as text, decoded within the same limits as any other argument; ValueError if it is not JSON."""
    limits = limits or current_limits()
    if len(text) > limits.mcp_argument_chars:
        raise LimitExceeded("mcp_argument_chars", limits.mcp_argument_chars, f"{what} has {len(text):,} characters")
    try:
        value = json.loads(text)
    except RecursionError:
        raise LimitExceeded("json_depth", limits.json_depth, f"{what} (JSON text) nests deeper than that") from None
    check_json_value(value, what, limits)
    return value

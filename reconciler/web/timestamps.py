"""Timestamps leave the web door as RFC 3339 with an offset: SQLite hands back naive UTC datetimes, which
JSON would show without one (not a valid OpenAPI `date-time`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


def utc_aware(value: T) -> T:
    """value with every naive datetime inside it (pydantic models, lists, dicts) marked UTC, in place."""
    _fix(value)
    return value


def _fix(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if isinstance(value, BaseModel):
        fields = value.__dict__
        for key, item in fields.items():
            fixed = _fix(item)
            if fixed is not item:
                fields[key] = fixed
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            fixed = _fix(item)
            if fixed is not item:
                value[index] = fixed
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            fixed = _fix(item)
            if fixed is not item:
                value[key] = fixed
        return value
    return value

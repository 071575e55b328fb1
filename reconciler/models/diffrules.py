"""How a provider's fields are compared: keyed lists, replacement fields, risk classes, ignores."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DiffRules(BaseModel):
    """Per-provider comparison rules. Paths are dotted ('disks', 'labels.*'); fnmatch globs allowed."""

    keyed_lists: dict[str, str] = Field(
        default_factory=dict, description="List field -> item key, so order never makes drift (disks: name)"
    )
    replace_fields: list[str] = Field(default_factory=list, description="Changing these forces replacement")
    ignore_fields: list[str] = Field(default_factory=list, description="Never compared")
    low_risk_fields: list[str] = Field(default_factory=lambda: ["tags", "tags.*", "labels", "labels.*", "description"])
    grow_only_fields: list[str] = Field(default_factory=list, description="Shrinking these is high risk")
    high_risk_fields: list[str] = Field(default_factory=list, description="e.g. GPU assignment")
    set_fields: list[str] = Field(default_factory=lambda: ["tags"], description="Lists compared as sets")
    restart_fields: list[str] = Field(
        default_factory=list, description="Changing these restarts the resource (the plan's reason says so)"
    )

"""Plans: a list of changes, each with field paths, reason and risk."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Risk(StrEnum):
    """How much a change can hurt: low (tags), medium (growth, restarts), high (replace, delete, shrink)."""

    low = "low"
    medium = "medium"
    high = "high"

    @property
    def rank(self) -> int:
        """Ordering: low < medium < high."""
        return {"low": 0, "medium": 1, "high": 2}[self.value]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank <= other.rank

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank < other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank >= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Risk):
            return NotImplemented
        return self.rank > other.rank


class Op(StrEnum):
    """What a change does."""

    create = "create"
    update = "update"
    replace = "replace"  # type: ignore[assignment]  # shadows str.replace on purpose: the op is called replace
    delete = "delete"
    rename = "rename"
    noop = "noop"


class FieldChange(BaseModel):
    """One field's difference, by dotted path ('disks[data].size_gb')."""

    path: str
    old: Any = None
    new: Any = None
    forces_replacement: bool = False
    risk: Risk = Risk.low


class Change(BaseModel):
    """One resource's change."""

    op: Op
    resource: str
    provider: str
    provider_type: str
    node: str | None = None
    fields: list[FieldChange] = Field(default_factory=list)
    reason: str
    risk: Risk = Risk.low
    drift: bool = Field(default=False, description="The live resource moved away from what was last applied")
    previous_name: str | None = None
    provider_id: str | None = None
    desired: dict[str, Any] = Field(default_factory=dict, description="Desired provider fields")
    blocked: str | None = Field(default=None, description="Why the gate holds this change back")
    preview: dict[str, Any] | None = Field(
        default=None,
        description="The provider's own preview, e.g. a CloudFormation change set (plan --provider-preview)",
    )

    @property
    def forces_replacement(self) -> bool:
        """True when a field forces the resource to be replaced."""
        return any(f.forces_replacement for f in self.fields)

    def summary(self) -> str:
        """One line for people."""
        if self.op is Op.noop:
            return f"= {self.resource}: {self.reason}"
        sym = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "rename": "->"}[self.op.value]
        return f"{sym} {self.resource} ({self.op.value}, risk {self.risk.value}): {self.reason}"


class Plan(BaseModel):
    """Changes the reconciler would make for one revision."""

    lab: str
    revision: str
    changes: list[Change] = Field(default_factory=list)
    unmanaged: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)

    @property
    def actionable(self) -> list[Change]:
        """Changes that are not no-ops."""
        return [c for c in self.changes if c.op is not Op.noop]

    @property
    def risk(self) -> Risk:
        """Highest risk among actionable changes (low for an empty plan)."""
        return max((c.risk for c in self.actionable), key=lambda r: r.rank, default=Risk.low)

    def counts(self) -> dict[str, int]:
        """Changes per op."""
        counter = Counter(c.op.value for c in self.changes)
        return {op.value: counter.get(op.value, 0) for op in Op}

    @property
    def has_changes(self) -> bool:
        """Whether applying would change anything."""
        return bool(self.actionable)

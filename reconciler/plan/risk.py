"""Risk: low for tags and labels; medium for growth and restarts; high for replace, delete, shrink, GPU moves."""

from __future__ import annotations

from typing import Any

from reconciler.models.diffrules import DiffRules
from reconciler.models.plan import FieldChange, Op, Risk
from reconciler.plan.fieldpaths import matches


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def field_risk(change: FieldChange, rules: DiffRules) -> Risk:
    """The risk of one field change under a provider's rules."""
    if change.forces_replacement or matches(change.path, rules.high_risk_fields):
        return Risk.high
    if matches(change.path, rules.low_risk_fields):
        return Risk.low
    old, new = _number(change.old), _number(change.new)
    if matches(change.path, rules.grow_only_fields) and old is not None and new is not None and new < old:
        return Risk.high
    if change.new is None and change.old is not None:
        return Risk.medium
    return Risk.medium


def change_risk(op: Op, fields: list[FieldChange]) -> Risk:
    """The risk of a whole change."""
    if op in (Op.delete, Op.replace):
        return Risk.high
    if op is Op.noop:
        return Risk.low
    if op is Op.create:
        return Risk.medium
    return max((f.risk for f in fields), key=lambda r: r.rank, default=Risk.low)

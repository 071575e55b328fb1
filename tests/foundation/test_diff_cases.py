"""Table tests: each case file maps (desired, observed, last applied, rules) to the expected field changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.models.diffrules import DiffRules
from reconciler.plan.diff import diff_fields

CASES = sorted((Path(__file__).parent / "diff_cases").glob("*.json"))


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_diff_case(case: Path) -> None:
    data = json.loads(case.read_text())
    rules = DiffRules.model_validate(data["rules"])
    changes = diff_fields(data["desired"], data["observed"], data.get("last_applied"), rules, data.get("ignore"))
    got = [
        {"path": c.path, "old": c.old, "new": c.new, "risk": c.risk.value, "forces_replacement": c.forces_replacement}
        for c in changes
    ]
    assert got == data["expected"]


def test_there_are_cases() -> None:
    assert len(CASES) >= 10

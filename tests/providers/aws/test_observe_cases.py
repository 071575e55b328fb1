"""Raw EC2 answers -> observed fields, one JSON case per file in cases/observe/ (tests are data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.providers.aws.facts import observed_instance

CASES = sorted((Path(__file__).with_name("cases") / "observe").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_observe_case(path: Path) -> None:
    case = json.loads(path.read_text())
    observed = observed_instance(case["instance"], case["region"], "cloud", "home", case["volumes"], case["groups"])
    assert observed.fields == case["expected"], case["description"]
    assert observed.owned is case["owned"]
    assert observed.id == case["instance"]["InstanceId"] and observed.node == case["region"]
    tags = {t["Key"]: t["Value"] for t in case["instance"].get("Tags", [])}
    assert observed.name == tags.get("homeport.resource", case["instance"]["InstanceId"])


def test_there_are_cases() -> None:
    assert len(CASES) >= 3

"""The fuzz suite, bounded for `make test` (HOMEPORT_FUZZ_CASES cases per target, 25 by default).

`make fuzz` runs bench/fuzz_report.py instead: many more cases and a report per target.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.backends.homeport_lab import make_lab
from tests.fuzz.targets import TARGETS

CASES = int(os.environ.get("HOMEPORT_FUZZ_CASES", "25"))


@pytest.fixture(scope="module")
def fuzz_lab(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One applied example lab for the whole suite, alone in its folder (so writes beside it show)."""
    return make_lab(tmp_path_factory.mktemp("fuzz") / "lab")


@pytest.fixture(scope="module", params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, fuzz_lab: Path) -> Iterator[tuple[str, Any]]:
    spec = TARGETS[request.param]
    with spec.context(fuzz_lab) as ctx:
        yield request.param, ctx


def test_target_holds_its_properties(target: tuple[str, Any]) -> None:
    name, ctx = target
    spec = TARGETS[name]

    @settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(spec.strategy(ctx))  # built once: hypothesis-jsonschema's schema work is the costly part
    def run(case: Any) -> None:
        spec.check(ctx, case)

    run()

"""The sim's pure parsers, table-tested from recorded answers (tests/providers/sim/cases/), and its settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.models.lab import ProviderConfig
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.sim.errors import map_error
from reconciler.providers.sim.facts import machine_resource, node_facts
from reconciler.providers.sim.settings import load_settings

CASES = json.loads((Path(__file__).parent / "cases" / "machines.json").read_text())


def test_nodes_from_recorded_machines() -> None:
    settings = load_settings(ProviderConfig(type="sim", options=CASES["options"]), "lab")
    nodes = {n.name: n for n in node_facts("lab", settings, CASES["machines"])}
    for name, want in CASES["expected_nodes"].items():
        got = nodes[name]
        assert {k: getattr(got, k) for k in want} == want, name


@pytest.mark.parametrize("name", sorted(CASES["expected_resources"]))
def test_resources_from_recorded_machines(name: str) -> None:
    got = machine_resource("lab", name, CASES["machines"][name])
    assert {k: getattr(got, k) for k in CASES["expected_resources"][name]} == CASES["expected_resources"][name]


def test_settings_default_sizes_and_clear_errors() -> None:
    settings = load_settings(ProviderConfig(type="sim", nodes=["a"]), "lab")
    assert list(settings.nodes) == ["a"] and settings.nodes["a"].cpu == 32
    assert list(load_settings(ProviderConfig(type="sim"), "lab").nodes) == ["sim-1"]
    with pytest.raises(PermanentProviderError, match=r"options\.nodes\.a\.cpu"):
        load_settings(ProviderConfig(type="sim", options={"nodes": {"a": {"cpu": "many"}}}), "lab")
    with pytest.raises(PermanentProviderError, match=r"options\.faults\.x"):
        load_settings(ProviderConfig(type="sim", options={"faults": {"x": "sometimes"}}), "lab")


@pytest.mark.parametrize(
    ("exc", "kind"),
    [(KeyError("fields"), PermanentProviderError), (TypeError("bad"), PermanentProviderError),
     (OSError("disk"), TransientProviderError)],
)
def test_map_error(exc: Exception, kind: type[Exception]) -> None:
    mapped = map_error(exc, "observe")
    assert isinstance(mapped, kind) and "sim: observe" in str(mapped)

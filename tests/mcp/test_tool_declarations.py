"""What every tool declares: safety hints, field descriptions, one module per tool named after it."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import MISSING, fields

import pytest

import mcp_server.tools as tools_package
from mcp_server.tools import ALL_TOOLS
from mcp_server.toolspec import ToolSpec


def test_safety_hints_have_no_defaults() -> None:
    """A tool that forgot its hints must not be advertised as read-only: ToolSpec has no default for them."""
    hints = {f.name: f for f in fields(ToolSpec) if f.name in ("read_only", "destructive", "idempotent")}
    assert set(hints) == {"read_only", "destructive", "idempotent"}
    for f in hints.values():
        assert f.default is MISSING and f.default_factory is MISSING, f.name


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=[s.name for s in ALL_TOOLS])
def test_tools_that_propose_or_merge_are_not_read_only(spec: ToolSpec) -> None:  # type: ignore[type-arg]
    if spec.scope in ("propose", "approve") or spec.toolset == "propose":
        assert not spec.read_only, spec.name
    if spec.destructive:
        assert not spec.read_only, spec.name


@pytest.mark.parametrize("spec", ALL_TOOLS, ids=[s.name for s in ALL_TOOLS])
def test_every_input_field_is_described(spec: ToolSpec) -> None:  # type: ignore[type-arg]
    missing = [name for name, f in spec.input.model_fields.items() if not f.description]
    assert not missing, f"{spec.name}: {missing}"
    schema = spec.input.model_json_schema()
    assert all(prop.get("description") for prop in schema.get("properties", {}).values()), spec.name


def test_tools_package_holds_only_tools() -> None:
    """One module per tool, named after it (verb-noun with underscores); helpers live outside tools/."""
    names = {s.name for s in ALL_TOOLS}
    for module in pkgutil.iter_modules(tools_package.__path__):
        loaded = importlib.import_module(f"mcp_server.tools.{module.name}")
        spec = getattr(loaded, "SPEC", None)
        assert isinstance(spec, ToolSpec), f"mcp_server/tools/{module.name}.py is not a tool; move it out of tools/"
        assert spec.name == module.name.replace("_", "-") and spec.name in names

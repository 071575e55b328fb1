"""Issue 24 item 9: MCP arguments sent as JSON text, read-scope calls writing Git objects, huge dimensions."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_server.app import HomeportApp
from tests.backends.homeport_lab import branches, main_tip, make_lab
from tests.mcp.conftest import server_for

POOL = "/infrastructure/on-premise/sim/compute"
DEFINITION = {"name": "probe", "pool": POOL, "requirements": {"cpu": 1, "memory_gb": 1}}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[HomeportApp]:
    served = HomeportApp(make_lab(tmp_path / "lab"))
    yield served
    served.close()


def _call(app: HomeportApp, scope: str, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
    async def go() -> Any:
        async with Client(server_for(app, scope)) as client:
            return await client.call_tool(tool, args)

    result = anyio.run(go)
    return bool(result.is_error), result.content[0].text


def _objects(lab: Path) -> set[str]:
    root = lab / ".git" / "objects"
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


@pytest.mark.parametrize("depth", [100, 5_000, 100_000])
def test_json_text_arguments_obey_the_depth_limit(app: HomeportApp, depth: int) -> None:
    """A JSON-encoded string argument once bypassed the depth limit and raised RecursionError in a tool."""
    text = '{"name": "x", "overrides": ' + "[" * depth + "]" * depth + "}"
    failed, message = _call(app, "read", "validate-universal-definition", {"universal_definition": text})
    assert failed and "json_depth" in message, message
    assert "Traceback" not in message and "RecursionError" not in message


def test_an_oversized_argument_is_refused_by_name(app: HomeportApp) -> None:
    failed, message = _call(app, "read", "validate-universal-definition",
                            {"universal_definition": {**DEFINITION, "overrides": {"blob": "x" * 300_000}}})
    assert failed and "mcp_argument_chars" in message, message


def test_read_scope_calls_write_no_git_objects(app: HomeportApp) -> None:
    """Five validate-universal-definition calls once grew .git/objects from 42 KB to 12.9 MB."""
    before = _objects(app.lab_dir)
    for index in range(5):
        definition = {**DEFINITION, "name": f"probe-{index}", "overrides": {"sim": {"note": "n" * 2000}}}
        failed, message = _call(app, "read", "validate-universal-definition", {"universal_definition": definition})
        assert not failed, message
        failed, message = _call(app, "read", "translate-universal-to-provider",
                                {"universal_definition": definition, "target_provider": "lab"})
        assert not failed, message
    assert _objects(app.lab_dir) == before


def test_a_huge_dimension_value_is_refused_before_any_commit(app: HomeportApp) -> None:
    """An 8 MB dimension value was committed to a proposal."""
    before = (main_tip(app.lab_dir), branches(app.lab_dir), _objects(app.lab_dir))
    failed, message = _call(app, "propose", "update-resource-dimensions",
                            {"resource_id": "web-frontend", "resource_type": "instance",
                             "dimensions": {"notes": "d" * 10_000}})
    assert failed and "dimension_value_chars" in message, message
    assert (main_tip(app.lab_dir), branches(app.lab_dir), _objects(app.lab_dir)) == before


def test_a_dimension_within_the_limit_still_proposes(app: HomeportApp) -> None:
    failed, message = _call(app, "propose", "update-resource-dimensions",
                            {"resource_id": "web-frontend", "resource_type": "instance",
                             "dimensions": {"notes": json.dumps({"k": "v"})[:100]}})
    assert not failed, message

"""The committed tool catalog (mcp_server/catalog.json) is what the tool modules declare, and `homeport-mcp`
over stdio, which answers tools/list from it before it opens the lab, lists exactly what the in-process server
built from the tool modules lists."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from mcp_server import catalog
from mcp_server.app import HomeportApp
from tests.mcp.conftest import server_for

BIN = Path(sys.executable).parent


def _dump(listed: Any) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


def test_catalog_is_up_to_date() -> None:
    """Regenerate with `python -m mcp_server.catalog` after changing a tool's models, hints or description."""
    assert catalog.CATALOG.read_text(encoding="utf-8") == catalog.render(catalog.generate()), (
        "mcp_server/catalog.json is out of date: run `python -m mcp_server.catalog`")
    check = subprocess.run([sys.executable, "-m", "mcp_server.catalog", "--check"], capture_output=True, text=True,
                           timeout=120, check=False)
    assert check.returncode == 0, check.stderr


def test_stdio_lists_what_the_tool_modules_declare_and_calls_the_real_tools(module_lab: Path) -> None:
    """tools/list over stdio (from the catalog) equals the in-process list; a call runs the real tool once the
    lab is loaded; a caller without 'propose' sees no proposing tool and is refused one by name."""
    app = HomeportApp(module_lab)
    try:
        async def in_process() -> list[dict[str, Any]]:
            async with Client(server_for(app, "read", "propose")) as client:
                return _dump(await client.list_tools())

        expected = anyio.run(in_process)
    finally:
        app.close()

    def spawn(*extra: str) -> StdioServerParameters:
        return StdioServerParameters(command=str(BIN / "homeport-mcp"), args=["--lab", str(module_lab), *extra],
                                     cwd=str(module_lab))

    async def over_stdio() -> tuple[list[dict[str, Any]], Any, list[dict[str, Any]], Any]:
        async with Client(spawn()) as client:
            listed = _dump(await client.list_tools())
            status = await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})
        async with Client(spawn("--scopes", "read")) as reader:
            read_only = _dump(await reader.list_tools())
            refused = await reader.call_tool("update-resource-dimensions", {
                "resource_id": "web-frontend", "resource_type": "instance", "dimensions": {"tier": "x"}})
        return listed, status, read_only, refused

    listed, status, read_only, refused = anyio.run(over_stdio)
    assert listed == expected
    assert not status.is_error and status.structured_content["status"] == "running"
    assert {t["name"] for t in read_only} < {t["name"] for t in listed}
    assert all(t["_meta"]["homeport/scope"] == "read" for t in read_only)
    assert refused.is_error and "needs the 'propose' scope" in refused.content[0].text


def test_a_lab_that_does_not_load_is_reported_on_every_call_and_at_exit(tmp_path: Path) -> None:
    """A Git folder that is no lab: initialize and tools/list still answer (from the catalog); a tool call says
    why the lab cannot be opened; at exit the same line goes to stderr with exit code 1, no traceback."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    proc = subprocess.Popen([str(BIN / "homeport-mcp"), "--lab", str(tmp_path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None

    def rpc(message: dict[str, Any]) -> dict[str, Any] | None:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", **message}) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline()) if "id" in message else None

    init = rpc({"id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
    rpc({"method": "notifications/initialized"})
    listed = rpc({"id": 2, "method": "tools/list"})
    call = rpc({"id": 3, "method": "tools/call", "params": {"name": "list-proposals", "arguments": {}}})
    proc.stdin.close()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.wait(timeout=120) == 1
    assert init and "serverInfo" in init["result"]
    assert listed and len(listed["result"]["tools"]) == 29
    assert call and call["result"]["isError"] and "homeport-mcp:" in call["result"]["content"][0]["text"]
    message = call["result"]["content"][0]["text"]
    assert "the lab has no commits yet" in message
    assert message.partition("homeport-mcp: ")[2] in stderr and "Traceback" not in stderr

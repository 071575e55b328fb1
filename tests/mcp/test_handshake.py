"""homeport-mcp answers the first message (`initialize`, or `server/discover` without a handshake) from the
catalog's record before it imports the SDK (mcp_server/handshake.py): over a real pipe the answer equals what
the SDK's own stdio server answers, the SDK never answers it a second time, and the connection then behaves
exactly as one the SDK handshook itself (tools/list, a real tool call, refusals)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from mcp_server.caller import Caller
from mcp_server.groups import DEFAULT_TOOLSETS
from mcp_server.handshake import DISCOVER_META
from mcp_server.stdio import answers, build_stdio_server

BIN = Path(sys.executable).parent
CLIENT = {"name": "t", "version": "1"}


def sdk_answer(request: dict[str, Any]) -> dict[str, Any]:
    """The SDK stdio server's own answer to request as the first message of a connection."""
    server, _ = build_stdio_server(Path("."), toolsets=DEFAULT_TOOLSETS, local=Caller(actor="t", scopes=frozenset()),
                                   load_on_initialize=False)
    (answer,) = answers(server, [request])
    return answer


def exchange(lab: Path, messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str, int]:
    """Every line homeport-mcp writes for messages (stdin closed once each request has its answer), its stderr
    and exit code."""
    proc = subprocess.Popen([str(BIN / "homeport-mcp"), "--lab", str(lab)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()
    waiting = {m["id"] for m in messages if "id" in m}
    lines: list[dict[str, Any]] = []
    while waiting:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(json.loads(line))
        waiting.discard(lines[-1].get("id"))
    proc.stdin.close()
    lines += [json.loads(line) for line in proc.stdout.read().splitlines()]
    stderr = proc.stderr.read()
    return lines, stderr, proc.wait(timeout=180)


def by_id(lines: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    found: dict[Any, list[dict[str, Any]]] = {}
    for line in lines:
        if "method" not in line:
            found.setdefault(line.get("id"), []).append(line)
    return found


@pytest.mark.parametrize("version", ["2024-11-05", "2025-11-25", "2099-01-01"])
def test_initialize_answer_is_the_sdks_and_the_session_works_after_it(module_lab: Path, version: str) -> None:
    """A recorded version is answered early, an unknown one by the SDK (which offers its latest): the same
    answer either way, one answer per request, and tools/list and a real tool call work after the handshake."""
    initialize = {"jsonrpc": "2.0", "id": "init-1", "method": "initialize",
                  "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT}}
    lines, stderr, code = exchange(module_lab, [
        initialize,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "get-deployment-status", "arguments": {"instance_name": "web-frontend"}}}])
    answered = by_id(lines)
    assert code == 0, stderr
    assert sorted(map(str, answered)) == ["2", "3", "init-1"]
    assert all(len(v) == 1 for v in answered.values()), answered
    assert answered["init-1"][0] == sdk_answer(initialize)
    assert len(answered[2][0]["result"]["tools"]) == 29
    assert "result" in answered[3][0], answered[3]
    status = answered[3][0]["result"]
    assert not status["isError"] and status["structuredContent"]["status"] == "running"


def test_an_initialize_the_sdk_refuses_is_refused_the_same_way(module_lab: Path) -> None:
    """No clientInfo: not answered early; the SDK's own error comes back, once."""
    initialize = {"jsonrpc": "2.0", "id": 7, "method": "initialize",
                  "params": {"protocolVersion": "2025-11-25", "capabilities": {}}}
    lines, stderr, code = exchange(module_lab, [initialize])
    assert code == 0, stderr
    assert lines == [sdk_answer(initialize)]
    assert lines[0]["error"]["code"] == -32602


def test_server_discover_answer_is_the_sdks(module_lab: Path) -> None:
    """The first request of a protocol version without a handshake is answered early with the SDK's answer."""
    discover = {"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                "params": {"_meta": dict(zip(DISCOVER_META, ("2026-07-28", CLIENT, {}), strict=True))}}
    lines, stderr, code = exchange(module_lab, [discover])
    assert code == 0, stderr
    assert lines == [sdk_answer(discover)]
    assert lines[0]["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "homeport"


def test_the_sdk_client_reads_and_is_refused_as_before(module_lab: Path) -> None:
    """The SDK's own client (which opens with server/discover) lists, reads and is refused a proposing tool
    without the scope, over the early answer and the replay."""
    def spawn(*extra: str) -> StdioServerParameters:
        return StdioServerParameters(command=str(BIN / "homeport-mcp"), args=["--lab", str(module_lab), *extra],
                                     cwd=str(module_lab))

    async def run() -> tuple[int, Any, Any]:
        async with Client(spawn("--scopes", "read")) as client:
            listed = await client.list_tools()
            status = await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})
            refused = await client.call_tool("update-resource-dimensions", {
                "resource_id": "web-frontend", "resource_type": "instance", "dimensions": {"tier": "x"}})
            return len(listed.tools), status, refused

    count, status, refused = anyio.run(run)
    assert 0 < count < 29
    assert not status.is_error and status.structured_content["status"] == "running"
    assert refused.is_error and "needs the 'propose' scope" in refused.content[0].text


def test_homeport_mcp_imports_no_sdk_before_it_answers(tmp_path: Path) -> None:
    """The modules imported before the first answer: the standard library and homeport's light modules only."""
    probe = (
        "import sys\n"
        "from mcp_server import handshake, server\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'pydantic', "
        "'anyio', 'reconciler'))))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""

"""Read-only tool calls answered beside the SDK (mcp_server/direct_reads.py) answer exactly as the SDK does.

Each protocol version the SDK speaks is driven over a real homeport-mcp's stdio twice, once as shipped and once
with HOMEPORT_MCP_DIRECT_READS=0 (every call through the SDK), and every answer is compared. In process, the
module's choice of what it takes is checked line by line, with cancellation.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from mcp_server.caller import Caller
from mcp_server.catalog import CATALOG, DEFAULT_TOOLSETS
from mcp_server.direct_reads import DirectReads
from mcp_server.handshake import DISCOVER_META
from mcp_server.stdio import build_stdio_server

BIN = Path(sys.executable).parent
CLIENT = {"name": "direct-test", "version": "1"}
RECORD = json.loads(CATALOG.read_text(encoding="utf-8"))["initialize"]
HANDSHAKE_VERSIONS = list(RECORD["initialize"]["versions"])
MODERN_VERSIONS = list(RECORD["server/discover"])


def spawn(lab: Path, direct: bool) -> subprocess.Popen[str]:
    env = dict(os.environ, HOMEPORT_MCP_DIRECT_READS="1" if direct else "0")
    return subprocess.Popen([str(BIN / "homeport-mcp"), "--lab", str(lab)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def exchange(lab: Path, messages: list[dict[str, Any]], *, direct: bool, pause: float = 0.0) -> dict[Any, Any]:
    """Each request's answer (by id) from a homeport-mcp sent every message at once; pause: seconds to wait before
    reading, so answers queue up in a full pipe."""
    proc = spawn(lab, direct)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages))
    proc.stdin.flush()
    time.sleep(pause)
    waiting = {m["id"] for m in messages if "id" in m}
    answers: dict[Any, Any] = {}
    while waiting:
        line = proc.stdout.readline()
        if not line:
            break
        message = json.loads(line)  # a line that is not whole JSON fails here
        if "id" in message and "method" not in message:
            assert message["id"] not in answers, f"answered twice: {message['id']}"
            answers[message["id"]] = message
            waiting.discard(message["id"])
    proc.stdin.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 0, stderr
    assert not waiting, f"no answer for {waiting}: {stderr}"
    return answers


def opening(version: str) -> list[dict[str, Any]]:
    if version in MODERN_VERSIONS:
        return [{"jsonrpc": "2.0", "id": "open", "method": "server/discover",
                 "params": {"_meta": dict(zip(DISCOVER_META, (version, CLIENT, {}), strict=True))}}]
    return [{"jsonrpc": "2.0", "id": "open", "method": "initialize",
             "params": {"protocolVersion": version, "capabilities": {}, "clientInfo": CLIENT}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"}]


def call(version: str, request_id: Any, name: str, arguments: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if version in MODERN_VERSIONS:
        params["_meta"] = dict(zip(DISCOVER_META, (version, CLIENT, {}), strict=True))
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


CALLS: list[tuple[str, Any]] = [
    ("get-deployment-status", {"instance_name": "web-frontend"}),
    ("query-resource-pools", {}),
    ("list-proposals", {}),
    ("get-deployment-status", {"instance_name": "web-frontend", "bogus": 1}),  # refused by homeport: isError
    ("discover-infrastructure-context", {"limit": 0}),
    ("get-deployment-status", {"instance_name": "no-such-instance"}),
    ("no-such-tool", {}),  # the SDK's answers in both runs
    ("query-resource-pools", "not an object"),
]


@pytest.mark.parametrize("version", HANDSHAKE_VERSIONS + MODERN_VERSIONS)
def test_every_answer_is_the_sdks_for_each_protocol_version(module_lab: Path, version: str) -> None:
    messages = opening(version) + [call(version, i, name, args) for i, (name, args) in enumerate(CALLS)]
    direct = exchange(module_lab, messages, direct=True)
    sdk = exchange(module_lab, messages, direct=False)
    assert direct.keys() == sdk.keys()
    for request_id in sdk:
        assert direct[request_id] == sdk[request_id], (request_id, direct[request_id], sdk[request_id])
    status = direct[0]["result"]
    assert status["isError"] is False and status["structuredContent"]["status"] == "running"
    assert direct[3]["result"]["isError"] is True and "bogus" in direct[3]["result"]["content"][0]["text"]
    assert direct[6]["result"]["isError"] is True and "Unknown tool" in direct[6]["result"]["content"][0]["text"]
    assert direct[7]["error"]["code"] == -32602, direct[7]  # arguments that are not an object: invalid params
    if version in MODERN_VERSIONS:
        assert status["resultType"] == "complete" and "io.modelcontextprotocol/serverInfo" in status["_meta"]


def test_a_call_before_the_handshake_is_the_sdks_to_refuse(module_lab: Path) -> None:
    early = call("2025-11-25", 1, "query-resource-pools", {})
    messages = [early, *opening("2025-11-25"), {**early, "id": 2}]
    direct = exchange(module_lab, messages, direct=True)
    assert direct == exchange(module_lab, messages, direct=False)
    assert "result" in direct[2] and direct[2]["result"]["isError"] is False


def test_answers_waiting_in_a_full_pipe_stay_whole_lines(module_lab: Path) -> None:
    """Ten large reads and a tools/list at once, read a second later: the SDK's writer and the direct answers share
    the pipe, and every line is one whole JSON message."""
    calls = [call("2025-11-25", i, "discover-infrastructure-context", {"all": True}) for i in range(10)]
    listing = {"jsonrpc": "2.0", "id": "list", "method": "tools/list"}
    answers = exchange(module_lab, opening("2025-11-25") + calls[:5] + [listing] + calls[5:], direct=True, pause=1.0)
    sizes = [len(json.dumps(answers[i])) for i in range(10)]
    assert sum(sizes) > 2 * 65536, sizes  # more than a pipe holds
    assert all(answers[i]["result"]["isError"] is False for i in range(10))
    assert len(answers["list"]["result"]["tools"]) == 29


def test_what_is_taken_and_what_is_left_to_the_sdk(module_lab: Path) -> None:
    server, loader = build_stdio_server(module_lab, toolsets=DEFAULT_TOOLSETS,
                                        local=Caller(actor="t", scopes=frozenset({"read", "propose"})))
    written: list[dict[str, Any]] = []

    async def write(text: bytes) -> int:
        written.append(json.loads(text))
        return len(text)

    def line(message: dict[str, Any]) -> str:
        return json.dumps(message) + "\n"

    async def run() -> list[bool]:
        direct = DirectReads(server, loader.read_only, write)
        version = "2025-11-25"
        initialize, initialized = opening(version)
        read = call(version, 1, "query-resource-pools", {})
        refused = {**initialize, "params": {"protocolVersion": version, "capabilities": {}}}  # no clientInfo
        taken = [direct.take(line(refused)), direct.take(line(initialized)),
                 direct.take(line(read)),  # after an initialize the SDK refuses: the SDK's
                 direct.take(line(initialize)), direct.take(line(initialized)),
                 direct.take(line(read)),
                 direct.take(line({**read, "id": 1})),  # the same id while in flight
                 direct.take(line(call(version, 2, "deploy-with-intelligence", {}))),  # not a read
                 direct.take(line({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})),
                 direct.take("not json\n"),
                 direct.take(line(call(version, True, "query-resource-pools", {}))),  # a bool is no request id
                 direct.take(line(call(version, 4, "query-resource-pools", {})))]
        cancelled = direct._inflight[4]
        taken += [direct.take(line({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": [4], "reason": "not an id"}})),
                  direct.take(line({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                    "params": {"requestId": 4, "reason": "changed my mind"}}))]
        again = call(version, 4, "get-deployment-status", {"instance_name": "web-frontend"})
        taken.append(direct.take(line(again)))  # a cancelled call's id may be used again at once
        await asyncio.wait([cancelled])  # it ends (its own callback first): the newer call of its id stays known
        assert cancelled.cancelled() and 4 in direct._inflight
        taken.append(direct.take(line(again)))  # still in flight: the SDK's to refuse
        await direct.drain()
        return taken

    try:
        taken = anyio.run(run)
    finally:
        loader.close()
    assert taken == [False] * 5 + [True, False, False, False, False, False, True, False, False, True, False]
    # The first call 4 was cancelled before it ran: no answer for it, as the SDK does; the second one is answered.
    answered = {m["id"]: m for m in written}  # the two calls run at once: either may answer first
    assert sorted(answered) == [1, 4] and len(written) == 2
    assert answered[1]["result"]["isError"] is False and "pools" in answered[1]["result"]["structuredContent"]
    assert answered[4]["result"]["structuredContent"]["status"] == "running"
    assert loader.read_only >= {"query-resource-pools", "get-deployment-status", "discover-proxmox-resources"}
    assert not loader.read_only & {"deploy-with-intelligence", "approve-proposal", "update-resource-dimensions"}


def test_homeport_mcp_stdio_wires_reads_through_it(module_lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """serve_connection over the wire's own streams (as homeport-mcp runs it) hands reads to DirectReads; with
    HOMEPORT_MCP_DIRECT_READS=0 nothing is handed over."""
    from mcp_server.handshake import WireInput, WireOutput
    from mcp_server.stdio import serve_connection

    taken: list[Any] = []
    take = DirectReads.take

    def spy(self: DirectReads, text: str) -> bool:
        answer = take(self, text)
        if answer:
            taken.append(json.loads(text)["id"])
        return answer

    monkeypatch.setattr(DirectReads, "take", spy)
    # (The SDK drops requests still queued when stdin closes, so only the read is sent; the answers of both
    # paths are compared in test_every_answer_is_the_sdks_for_each_protocol_version.)
    messages = [*opening("2025-11-25"), call("2025-11-25", 1, "query-resource-pools", {})]

    def serve(direct: str) -> list[dict[str, Any]]:
        monkeypatch.setenv("HOMEPORT_MCP_DIRECT_READS", direct)
        server, loader = build_stdio_server(module_lab, toolsets=DEFAULT_TOOLSETS,
                                            local=Caller(actor="t", scopes=frozenset({"read"})))
        wire_in, feed = os.pipe()
        drain, wire_out = os.pipe()
        os.write(feed, "".join(json.dumps(m) + "\n" for m in messages).encode())
        os.close(feed)
        for fd in (wire_in, wire_out):
            os.set_blocking(fd, False)
        try:
            serve_connection(server, loader, WireInput(wire_in, b"", b""), WireOutput(wire_out, None))
        finally:
            os.close(wire_in)
            os.close(wire_out)
        with os.fdopen(drain, "rb") as out:
            return [json.loads(line) for line in out.read().splitlines()]

    on = serve("1")
    assert taken == [1]
    assert [m["id"] for m in on] == ["open", 1] and on[1]["result"]["isError"] is False
    serve("0")
    assert taken == [1]

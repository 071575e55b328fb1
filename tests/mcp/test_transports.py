"""The same tools over real transports: stdio (spawning homeport-mcp), streamable HTTP with bearer tokens
(uvicorn on 127.0.0.1), and the official MCP Inspector CLI from npm as a client nobody here wrote."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server, http_app
from reconciler.store.tables import AuditLogRow
from reconciler.store.tokens import create_token, revoke_token
from tests.backends.homeport_lab import branches

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INSPECTOR = ROOT / ".tools" / "inspector" / "node_modules" / ".bin" / "mcp-inspector"
POOL = "/infrastructure/on-premise/sim/compute"


def test_stdio_lists_and_calls(lab: Path) -> None:
    """Spawn `homeport-mcp --lab DIR` and drive it over stdio: list, read, propose."""
    params = StdioServerParameters(command=str(BIN / "homeport-mcp"), args=["--lab", str(lab)], cwd=str(lab))

    async def go() -> tuple[Any, Any, Any]:
        async with Client(params) as client:
            tools = await client.list_tools()
            status = await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})
            proposal = await client.call_tool("deploy-with-intelligence", {"universal_definition": {
                "name": "stdio-app", "pool": POOL, "requirements": {"cpu": 1, "memory_gb": 1}}})
            return tools, status, proposal

    tools, status, proposal = anyio.run(go)
    names = [t.name for t in tools.tools]
    assert len(names) == 29 and "approve-proposal" not in names  # stdio's local caller: read,propose
    assert status.structured_content["status"] == "running"
    assert not proposal.is_error, proposal.content[0].text
    pid = proposal.structured_content["proposal"]["proposal_id"]
    assert any(b.startswith(f"proposals/{pid}-") for b in branches(lab))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """homeport's streamable HTTP app under uvicorn in a thread, on a free 127.0.0.1 port."""

    def __init__(self, app: HomeportApp) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        nobody = Caller(actor="anonymous", scopes=frozenset())
        server = build_server(app, local_caller=nobody, http_auth=True, public_url=f"http://127.0.0.1:{self.port}")
        config = uvicorn.Config(http_app(server, host="127.0.0.1", allowed_hosts=[]), host="127.0.0.1",
                                port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> HttpServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def http(app: HomeportApp) -> Iterator[HttpServer]:
    """A running HTTP server for the lab."""
    with HttpServer(app) as running:
        yield running


def _with_token(url: str, token: str, fn: Any) -> Any:
    async def go() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as session, \
                Client(streamable_http_client(url, http_client=session)) as client:
            return await fn(client)

    return anyio.run(go)


def test_http_requires_a_valid_token(app: HomeportApp, http: HttpServer) -> None:
    """No token, an unknown token or a revoked one: 401 with resource metadata; a foreign Host: refused."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    none = httpx.post(http.url, json=body, headers=headers)
    assert none.status_code == 401 and "resource_metadata" in none.headers["www-authenticate"]
    wrong = httpx.post(http.url, json=body, headers={**headers, "authorization": "Bearer hpt_nope"})
    assert wrong.status_code == 401
    secret, _ = create_token(app.service.session.db, "home", name="gone", owner="ann", scopes=("read",))
    revoke_token(app.service.session.db, "home", "gone")
    revoked = httpx.post(http.url, json=body, headers={**headers, "authorization": f"Bearer {secret}"})
    assert revoked.status_code == 401
    good, _ = create_token(app.service.session.db, "home", name="ok", owner="ann", scopes=("read",))
    rebinding = httpx.post(http.url, json=body, headers={**headers, "authorization": f"Bearer {good}",
                                                         "host": "evil.example:80"})
    assert rebinding.status_code in (400, 421)


def test_http_scopes_per_token_and_audit(app: HomeportApp, http: HttpServer) -> None:
    """An agent token (read,propose) lists 28 tools and proposes; it cannot approve; a person's token can.
    Every call is audited with the token, its owner and the proposal it produced; the chain verifies."""
    agent, agent_info = create_token(app.service.session.db, "home", name="claude", owner="ann",
                                     scopes=("read", "propose"))
    person, _ = create_token(app.service.session.db, "home", name="ann-laptop", owner="ann", scopes=("read", "approve"))

    async def as_agent(client: Client) -> tuple[Any, Any]:
        listed = await client.list_tools()
        made = await client.call_tool("deploy-with-intelligence", {"universal_definition": {
            "name": "http-app", "pool": POOL, "requirements": {"cpu": 1, "memory_gb": 1}}, "reason": "test"})
        return listed, made

    listed, made = _with_token(http.url, agent, as_agent)
    assert len(listed.tools) == 29 and "approve-proposal" not in [t.name for t in listed.tools]
    assert not made.is_error, made.content[0].text
    pid = made.structured_content["proposal"]["proposal_id"]
    # the agent's token lacks approve: 403 insufficient_scope naming it (MCP authorization), before the tool runs
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "approve-proposal", "arguments": {"proposal_id": pid}}}
    refused = httpx.post(http.url, json=call, headers={"accept": "application/json, text/event-stream",
                                                       "content-type": "application/json",
                                                       "authorization": f"Bearer {agent}"})
    assert refused.status_code == 403, refused.text
    challenge = refused.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="approve"' in challenge
    assert "needs the 'approve' scope" in refused.json()["error_description"]

    async def as_person(client: Client) -> Any:
        return await client.call_tool("approve-proposal", {"proposal_id": pid})

    merged = _with_token(http.url, person, as_person)
    assert not merged.is_error, merged.content[0].text
    assert merged.structured_content["merged_commit"]
    with app.service.session.db.session() as s:
        rows = list(s.execute(select(AuditLogRow).where(AuditLogRow.entity_type == "mcp-tool")
                              .order_by(AuditLogRow.seq)).scalars())
    deploy = next(r for r in rows if r.tool == "deploy-with-intelligence")
    assert deploy.actor == "ann via token claude" and deploy.outcome == "ok" and deploy.proposal_id == pid
    assert deploy.result["caller"]["token_id"] == agent_info.id and deploy.duration_ms is not None
    assert deploy.result["caller"]["label"] == "claude" and deploy.result["caller"]["owner"] == "ann"
    assert deploy.result["caller"]["client"]
    assert agent not in json.dumps([r.arguments for r in rows] + [r.result for r in rows])
    assert next(r for r in rows if r.tool == "approve-proposal" and r.outcome == "refused").actor.endswith("claude")
    out = subprocess.run([str(BIN / "homeport"), "audit", "verify", "--lab", str(app.lab_dir)], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0 and "intact" in out.stdout, out.stdout + out.stderr


def test_startup_errors_are_one_line(tmp_path: Path) -> None:
    """A folder that is no lab, or an unknown toolset: a clear message and a non-zero exit, no traceback."""
    nolab = subprocess.run([str(BIN / "homeport-mcp"), "--lab", str(tmp_path)], capture_output=True, text=True,
                           timeout=120, check=False)
    assert nolab.returncode != 0 and "not inside a Git repository" in nolab.stderr
    assert "Traceback" not in nolab.stderr
    toolset = subprocess.run([str(BIN / "homeport-mcp"), "--lab", str(tmp_path), "--toolsets", "read,root"],
                             capture_output=True, text=True, timeout=120, check=False)
    assert toolset.returncode != 0 and "unknown toolset(s) root" in toolset.stderr


def _inspector(lab: Path, tmp: Path, *args: str) -> Any:
    if not INSPECTOR.exists():
        pytest.fail(f"the MCP Inspector CLI is not installed at {INSPECTOR}: run scripts/install-test-deps.sh")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: run scripts/install-test-deps.sh")
    # The Inspector takes --flags after the command for itself, so the server command is wrapped.
    wrapper = tmp / "homeport-mcp-wrapper"
    wrapper.write_text(f"#!/bin/sh\nexec {BIN / 'homeport-mcp'} --lab {lab}\n", encoding="utf-8")
    wrapper.chmod(0o755)
    out = subprocess.run([str(INSPECTOR), "--cli", str(wrapper), *args], capture_output=True, text=True,
                         timeout=240, check=False, cwd=tmp)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_inspector_cli_lists_and_calls(lab: Path, tmp_path: Path) -> None:
    """The official Inspector CLI (npm, 0.15.0) agrees with the server on tools/list and tools/call."""
    listed = _inspector(lab, tmp_path, "--method", "tools/list")
    tools = {t["name"]: t for t in listed["tools"]}
    assert "discover-infrastructure-context" in tools and len(tools) == 29
    assert tools["deploy-with-intelligence"]["annotations"]["readOnlyHint"] is False
    called = _inspector(lab, tmp_path, "--method", "tools/call", "--tool-name", "get-deployment-sop",
                        "--tool-arg", "service_name=jenkins")
    assert not called.get("isError"), called
    assert called["structuredContent"]["sop"] == "deploy-jenkins"
    bad = _inspector(lab, tmp_path, "--method", "tools/call", "--tool-name", "get-proposal",
                     "--tool-arg", "proposal_id=../x")
    assert bad["isError"] and "malformed" in bad["content"][0]["text"]

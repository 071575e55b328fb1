"""The daemon serves the web UI, the REST API and MCP on its own port beside /webhook, /healthz and /metrics;
approving a proposal through the API queues a cycle that applies it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.backends.homeport_lab import make_lab
from tests.web.conftest import make_tokens

HOMEPORT = str(Path(sys.executable).parent / "homeport")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_port_serves_ui_api_and_mcp_and_applies_approvals(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "lab")
    tokens = make_tokens(lab)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "daemon.log"
    env = {k: v for k, v in os.environ.items() if k != "HOMEPORT_DATABASE_URL"}
    proc = subprocess.Popen([HOMEPORT, "daemon", "--lab", str(lab), "--port", str(port), "--interval", "1h",
                             "--allowed-host", "homeport.lan"], env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        auth = {"Authorization": f"Bearer {tokens.reviewer}"}
        with httpx.Client(base_url=base, timeout=60) as c:
            assert c.get("/api/v1/lab", headers=auth).json()["name"] == "home"
            assert c.get("/api/v1/lab", headers={**auth, "Host": "homeport.lan"}).status_code == 200
            assert c.get("/api/v1/lab", headers={**auth, "Host": "evil.example"}).status_code == 421
            assert c.get("/").status_code == 303  # to /login
            assert c.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                          headers={"Accept": "application/json, text/event-stream"}).status_code == 401
            assert c.post("/webhook", content=b"{}", headers={"Host": "homeport.example"}).status_code in (400, 401,
                                                                                                         403)
            assert b"homeport_" in c.get("/metrics").content
            # The start-up cycle begins once the port listens; on a slow machine it may not have started yet. It
            # finishes first, so the run the approval queues is the one that applies the change.
            while not any(r["trigger"] == "startup" and r["finished_at"]
                          for r in c.get("/api/v1/runs", headers=auth).json()["items"]):
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            agent = {"Authorization": f"Bearer {tokens.agent}"}
            source = c.get("/api/v1/resources/web-frontend/source", headers=agent).json()
            proposal = c.post("/api/v1/proposals", headers=agent, json={
                "title": "web-frontend to 6 GB", "files": {source["path"]: source["text"].replace(
                    "memory_gb: 4", "memory_gb: 6", 1)}}).json()
            before = {r["id"] for r in c.get("/api/v1/runs", headers=auth).json()["items"]}
            assert c.post(f"/api/v1/proposals/{proposal['id']}/approve", headers=auth).status_code == 200
            deadline = time.monotonic() + 120
            while True:
                runs = [r for r in c.get("/api/v1/runs", headers=auth).json()["items"]
                        if r["id"] not in before and r["finished_at"]]
                if runs:
                    break
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            assert runs[0]["trigger"] == "web" and runs[0]["summary"].get("applied") == 1, runs[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)


def test_homeport_serve_command_serves_ui_api_mcp_and_health(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "lab")
    tokens = make_tokens(lab)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "HOMEPORT_DATABASE_URL"}
    proc = subprocess.Popen([HOMEPORT, "serve", "--lab", str(lab), "--port", str(port)], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            try:
                health = httpx.get(f"{base}/healthz", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health.json() == {"ok": True, "lab": "home", "last_run": "ok", "scheduler": False}
        with httpx.Client(base_url=base, timeout=60) as c:
            assert c.get("/").headers["location"] == "/login?next=/"
            assert c.get("/api/v1/openapi.json").json()["openapi"].startswith("3.1")
            assert c.get("/api/v1/lab", headers={"Authorization": f"Bearer {tokens.read}"}).json()["name"] == "home"
            assert c.post("/mcp", json={}, headers={"Accept": "application/json, text/event-stream"}).status_code == 401
            assert c.get("/metrics").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    # uvicorn shuts down gracefully, then re-raises SIGTERM: the exit is "killed by SIGTERM" after a clean stop.
    assert proc.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert "shutting down" in log.read_text()

"""A served lab for the web tests: the example lab applied on the sim provider, tokens per scope, and the
whole app (UI, API, MCP, /healthz, /metrics) on a real uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from reconciler.service import LabService, commands
from reconciler.web.runner import BackgroundRunner
from reconciler.web.serve import ServedLab, serve_lab
from reconciler.web.settings import WebSettings
from tests.backends.homeport_lab import make_lab

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"


@dataclass
class Tokens:
    """One token secret per role."""

    admin: str
    read: str
    agent: str  # read, propose: what agents hold
    reviewer: str  # read, approve: a person reviewing


@dataclass
class Server:
    """A running server."""

    url: str
    lab: Path
    tokens: Tokens
    served: ServedLab
    runner: BackgroundRunner

    def client(self, token: str | None = None) -> httpx.Client:
        """An HTTP client for the API, with a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def make_tokens(lab_dir: Path) -> Tokens:
    """Tokens for each role, created through the service."""
    with LabService.open(lab_dir, actor="test") as lab:
        def make(name: str, scopes: str) -> str:
            return commands.create_token(lab, name=name, scopes=scopes, owner="tester").secret

        return Tokens(admin=make("admin", "admin"), read=make("reader", "read"), agent=make("agent", "read,propose"),
                      reviewer=make("reviewer", "read,approve"))


def free_socket() -> socket.socket:
    """A loopback socket bound to a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The example lab, applied once, served on a free port."""
    lab_dir = make_lab(tmp_path_factory.mktemp("web") / "lab")
    tokens = make_tokens(lab_dir)
    sock = free_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    runner = BackgroundRunner(lab_dir)
    served = serve_lab(lab_dir, settings=WebSettings(poll_seconds=0.5), public_url=url, trigger_run=runner.trigger)
    try:
        with uvicorn_on(served, sock):
            yield Server(url=url, lab=lab_dir, tokens=tokens, served=served, runner=runner)
    finally:
        runner.wait(60)
        served.close()
        sock.close()


@contextmanager
def uvicorn_on(served: ServedLab, sock: socket.socket) -> Iterator[None]:
    """A real uvicorn server running the served app on the bound socket, until the block ends."""
    config = uvicorn.Config(served.app, log_level="warning", access_log=False, lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield
    finally:
        uv.should_exit = True
        thread.join(30)

"""The web door with the lab's identity provider (oidc-provider-mock): a person logs in through the provider in
Debian's chromium (Playwright), and the REST API takes the provider's access tokens beside homeport's."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from reconciler.identity.login import begin_login
from reconciler.store.database import default_database_url, open_database
from reconciler.store.tables import AuditLogRow
from reconciler.web.serve import ServedLab, serve_lab
from reconciler.web.settings import WebSettings
from tests.backends.homeport_lab import make_lab
from tests.backends.oidc import MockProvider

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "identity"
CLIENT_SECRET = "web-login-secret-7d3e1f0a9b"
SECRET_ENV = "HOMEPORT_TEST_WEB_OIDC_SECRET"


@dataclass
class Served:
    """The whole app (pages, API, MCP) of a lab whose identity provider is the mock."""

    url: str
    lab: Path
    served: ServedLab

    def audit_rows(self) -> list[AuditLogRow]:
        """Every audit row, oldest first."""
        db = open_database(default_database_url(self.lab))
        try:
            with db.session() as s:
                return list(s.execute(select(AuditLogRow).order_by(AuditLogRow.seq)).scalars())
        finally:
            db.dispose()


@pytest.fixture(scope="module")
def served(mock_provider: MockProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The example lab with identity.oidc (web client 'homeport-web', secret from the environment), served."""
    mp = pytest.MonkeyPatch()
    mp.setenv(SECRET_ENV, CLIENT_SECRET)
    lab = make_lab(tmp_path_factory.mktemp("weblogin") / "lab")
    config = lab / "homeport.yaml"
    config.write_text(config.read_text(encoding="utf-8") + f"""  identity:
    oidc:
      issuer: {mock_provider.issuer}
      access_tokens: userinfo
      client_id: homeport-web
      client_secret_env: {SECRET_ENV}
      groups: {{homelab-admins: [admin], homelab-agents: [read, propose]}}
""", encoding="utf-8")
    subprocess.run(["git", "-C", str(lab), "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qam",
                    "identity"], check=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = serve_lab(lab, settings=WebSettings(poll_seconds=0.5), public_url=url)
    server = uvicorn.Server(uvicorn.Config(app.app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the web server did not start"
        time.sleep(0.05)
    try:
        yield Served(url=url, lab=lab, served=app)
    finally:
        server.should_exit = True
        thread.join(30)
        app.close()
        sock.close()
        mp.undo()


def test_browser_logs_in_through_the_identity_provider(served: Served, mock_provider: MockProvider) -> None:
    """/login -> the provider's page (sub typed, Authorize clicked) -> back with a session: alice's lab page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is not installed: run scripts/install-test-deps.sh"
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        context = browser.new_context()
        # Only loopback: the provider's page links a stylesheet on a CDN, which must not be fetched.
        context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"{page.url}: {m.text}")
                if m.type == "error" and page.url.startswith(served.url) else None)
        page.goto(f"{served.url}/proposals")
        assert page.url.startswith(f"{served.url}/login")
        page.get_by_role("link", name="Log in with the lab's identity provider").click()
        page.wait_for_url(f"{mock_provider.issuer}/oauth2/authorize*")
        page.screenshot(path=str(ARTIFACTS / "provider-login.png"))
        page.fill("input[name=sub]", "alice")
        page.get_by_role("button", name="Authorize").click()
        page.wait_for_url(f"{served.url}/proposals")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(ARTIFACTS / "logged-in.png"))
        text = page.content()
        assert "alice" in text and "Proposals" in text
        cookies = {c["name"]: c for c in context.cookies(served.url)}
        session = cookies["homeport_session"]
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert "homeport_oidc_login" not in cookies  # the one-use state cookie is gone
        page.goto(f"{served.url}/tokens")  # admin page: alice's group maps to admin
        assert page.get_by_role("heading", name=re.compile("Tokens")).count() >= 1
        browser.close()
    assert not [p for p in problems if "favicon" not in p], problems
    rows = [r for r in served.audit_rows() if r.action == "web-login"]
    assert rows and rows[-1].actor == "alice" and rows[-1].arguments["via"] == "oidc"
    everything = json.dumps([(r.arguments, r.result) for r in served.audit_rows()], default=str)
    assert CLIENT_SECRET not in everything


def _access_token(provider: MockProvider, person: str) -> str:
    redirect = "http://127.0.0.1:9/callback"
    url, pending = begin_login(provider.issuer + "/oauth2/authorize", client_id="cli", scopes=["openid"],
                               redirect_uri=redirect, next_path=None, now=0)
    code = parse_qs(urlsplit(provider.login(url, person)).query)["code"][0]
    answer = httpx.post(provider.issuer + "/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": "cli",
        "client_secret": "x", "code_verifier": pending.code_verifier})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def test_rest_api_takes_provider_tokens(served: Served, mock_provider: MockProvider) -> None:
    """The API's bearer check is the same verifier: bob (agents) reads, is refused an admin route with the scope
    named, and an unknown token is a 401."""
    bob = _access_token(mock_provider, "bob")
    with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {bob}"}, timeout=30) as api:
        lab = api.get("/api/v1/lab")
        assert lab.status_code == 200, lab.text
        tokens = api.get("/api/v1/tokens")
        assert tokens.status_code == 403 and "'admin' scope" in tokens.json()["detail"]
        assert "bob has: propose, read" in tokens.json()["detail"]
    unknown = httpx.get(f"{served.url}/api/v1/lab", headers={"Authorization": "Bearer not-issued-by-anyone"})
    assert unknown.status_code == 401


def test_login_routes_refuse_foreign_callbacks(served: Served) -> None:
    """A callback this browser did not start logs nobody in."""
    answer = httpx.get(f"{served.url}/login/oidc/callback?code=abc&state=def")
    assert answer.status_code == 400 and "did not start in this browser" in answer.text
    assert "homeport_session" not in answer.headers.get("set-cookie", "")

"""MCP over HTTP as an OAuth 2.1 protected resource of the lab's identity provider (a real one: oidc-provider-mock).

The MCP SDK's own OAuth client discovers the Protected Resource Metadata from the 401, registers at the provider,
logs in (the provider's form posted as a person would), exchanges the code with PKCE and calls a read tool.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
    ProtectedResourceMetadata,
)
from pydantic import AnyUrl
from sqlalchemy import select

from mcp_server.app import HomeportApp
from mcp_server.auth import Caller
from mcp_server.server import build_server, http_app
from reconciler.identity.login import begin_login
from reconciler.store.tables import AuditLogRow
from reconciler.store.tokens import create_token
from tests.backends.homeport_lab import make_lab
from tests.backends.oidc import KeyServer, MockProvider, free_port

MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
GROUPS = "{homelab-admins: [admin], homelab-agents: [read, propose]}"


def _lab_with_identity(target: Path, identity_yaml: str) -> Path:
    """The applied example lab with an identity section committed on main."""
    lab = make_lab(target)
    config = lab / "homeport.yaml"
    config.write_text(config.read_text(encoding="utf-8") + identity_yaml, encoding="utf-8")
    subprocess.run(["git", "-C", str(lab), "-c", "user.name=t", "-c", "user.email=t@example.test", "commit", "-qam",
                    "identity"], check=True)
    return lab


class McpServer:
    """homeport-mcp's HTTP app under uvicorn on a free 127.0.0.1 port."""

    def __init__(self, lab: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/mcp"
        self.app = HomeportApp(lab)
        nobody = Caller(actor="anonymous", scopes=frozenset())
        server = build_server(self.app, local_caller=nobody, http_auth=True, public_url=self.base)
        config = uvicorn.Config(http_app(server, host="127.0.0.1", allowed_hosts=[]), host="127.0.0.1",
                                port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> McpServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.app.close()

    def audit(self) -> list[AuditLogRow]:
        """The MCP tool rows of the audit log, oldest first (reads' rows are written just after their answer)."""
        self.app.flush_audits()
        with self.app.service.session.db.session() as s:
            return list(s.execute(select(AuditLogRow).where(AuditLogRow.entity_type == "mcp-tool")
                                  .order_by(AuditLogRow.seq)).scalars())


@pytest.fixture(scope="module")
def served(mock_provider: MockProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[McpServer]:
    """A lab whose identity provider is the mock (opaque tokens checked at userinfo), served over HTTP."""
    lab = _lab_with_identity(tmp_path_factory.mktemp("oauth") / "lab", f"""  identity:
    oidc:
      issuer: {mock_provider.issuer}
      access_tokens: userinfo
      groups: {GROUPS}
""")
    with McpServer(lab) as server:
        yield server


def _rpc(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}


def test_protected_resource_metadata_follows_rfc_9728(served: McpServer, mock_provider: MockProvider) -> None:
    """The 401 points at the metadata; the metadata names this resource and the provider as authorization server."""
    refused = httpx.post(served.url, json=_rpc("tools/list"), headers=MCP_HEADERS)
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    metadata_url = f"{served.base}/.well-known/oauth-protected-resource/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    for url in (metadata_url, f"{served.base}/.well-known/oauth-protected-resource"):
        answer = httpx.get(url)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        ProtectedResourceMetadata.model_validate(body)  # the SDK's model of RFC 9728 §2
        # RFC 9728 §2: resource is REQUIRED; §3.3: it is the URL the client asked about, no fragment.
        assert body["resource"] == served.url and "#" not in body["resource"]
        # §2: authorization_servers lists issuer identifiers (RFC 8414) the client can use.
        assert body["authorization_servers"] == [mock_provider.issuer]
        assert body["bearer_methods_supported"] == ["header"]
        assert body["scopes_supported"] == ["read"]
        assert set(body) <= {"resource", "authorization_servers", "jwks_uri", "scopes_supported",
                             "bearer_methods_supported", "resource_signing_alg_values_supported", "resource_name",
                             "resource_documentation", "resource_policy_uri", "resource_tos_uri",
                             "tls_client_certificate_bound_access_tokens", "authorization_details_types_supported",
                             "dpop_signing_alg_values_supported", "dpop_bound_access_tokens_required"}
    discovery = httpx.get(body["authorization_servers"][0] + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == mock_provider.issuer


class MemoryTokens:
    """TokenStorage in memory (what a desktop client keeps in its keychain)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def _sdk_client_flow(served: McpServer, provider: MockProvider, person: str, fn: Any) -> tuple[Any, MemoryTokens]:
    """Run fn(client) with the SDK's OAuth client logging in at the provider as person."""
    storage = MemoryTokens()
    redirected: dict[str, str] = {}

    async def redirect_handler(url: str) -> None:
        # The person's browser: open the provider's page, post its login form, land on the redirect URI.
        redirected["location"] = await anyio.to_thread.run_sync(lambda: provider.login(url, person))

    async def callback_handler() -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(redirected["location"]).query)
        return AuthorizationCodeResult(code=query["code"][0], state=query["state"][0])

    auth = OAuthClientProvider(
        served.url,
        OAuthClientMetadata(redirect_uris=[AnyUrl("http://127.0.0.1:9/callback")], client_name="test agent",
                            grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                            token_endpoint_auth_method="client_secret_post"),
        storage, redirect_handler=redirect_handler, callback_handler=callback_handler)

    async def go() -> Any:
        async with httpx2.AsyncClient(auth=auth, timeout=30) as session, \
                Client(streamable_http_client(served.url, http_client=session)) as client:
            return await fn(client)

    return anyio.run(go), storage


def test_sdk_client_completes_the_authorization_flow(served: McpServer, mock_provider: MockProvider) -> None:
    """401 -> metadata -> registration -> login -> code + PKCE -> token -> a read tool works, audited as the subject."""

    async def read(client: Client) -> Any:
        listed = await client.list_tools()
        status = await client.call_tool("get-deployment-status", {"instance_name": "web-frontend"})
        return listed, status

    (listed, status), storage = _sdk_client_flow(served, mock_provider, "bob", read)
    names = [t.name for t in listed.tools]
    assert "deploy-with-intelligence" in names and "approve-proposal" not in names  # bob: read, propose
    assert not status.is_error and status.structured_content["status"] == "running"
    assert storage.client is not None and storage.tokens is not None
    row = next(r for r in reversed(served.audit()) if r.tool == "get-deployment-status")
    assert row.actor == "bob" and row.outcome == "ok"
    assert storage.tokens.access_token not in str([(r.arguments, r.result) for r in served.audit()])


def _provider_token(provider: MockProvider, person: str) -> str:
    """An access token for person from the provider (code flow with the login form posted)."""
    redirect = "http://127.0.0.1:9/callback"
    url, pending = begin_login(provider.issuer + "/oauth2/authorize", client_id="agent", scopes=["openid"],
                               redirect_uri=redirect, next_path=None, now=0)
    code = parse_qs(urlsplit(provider.login(url, person)).query)["code"][0]
    answer = httpx.post(provider.issuer + "/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": "agent",
        "client_secret": "x", "code_verifier": pending.code_verifier})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def test_insufficient_scope_is_403_naming_the_scope(served: McpServer, mock_provider: MockProvider) -> None:
    """No homeport scope at all: 403 for read; an agent calling approve-proposal: 403 scope="approve" (step-up)."""
    carol = _provider_token(mock_provider, "carol")  # a group homeport does not map
    listing = httpx.post(served.url, json=_rpc("tools/list"),
                         headers={**MCP_HEADERS, "authorization": f"Bearer {carol}"})
    assert listing.status_code == 403 and 'error="insufficient_scope"' in listing.headers["www-authenticate"]
    assert "read" in listing.json()["error_description"]
    bob = _provider_token(mock_provider, "bob")
    call = httpx.post(served.url, json=_rpc("tools/call", {"name": "approve-proposal", "arguments": {
        "proposal_id": "0123456789ab"}}), headers={**MCP_HEADERS, "authorization": f"Bearer {bob}"})
    assert call.status_code == 403
    challenge = call.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="approve"' in challenge
    assert f'resource_metadata="{served.base}/.well-known/oauth-protected-resource/mcp"' in challenge
    assert call.json()["scope"] == "approve"
    refused = [r for r in served.audit() if r.tool == "approve-proposal" and r.outcome == "refused"]
    assert refused and refused[-1].actor == "bob"
    allowed = httpx.post(served.url, json=_rpc("tools/call", {"name": "get-deployment-status", "arguments": {
        "instance_name": "web-frontend"}}), headers={**MCP_HEADERS, "authorization": f"Bearer {bob}"})
    assert allowed.status_code == 200 and "running" in allowed.text


def test_homeport_tokens_work_beside_the_provider(served: McpServer) -> None:
    """A homeport token still works in a lab with an identity provider (checked first, by hash)."""
    secret, _ = create_token(served.app.service.session.db, "home", name="script", owner="ann", scopes=("read",))
    answer = httpx.post(served.url, json=_rpc("tools/list"), headers={**MCP_HEADERS,
                                                                     "authorization": f"Bearer {secret}"})
    assert answer.status_code == 200 and "get-deployment-status" in answer.text


def test_jwt_for_another_resource_is_refused_at_the_door(key_server: KeyServer, tmp_path: Path) -> None:
    """JWT access tokens: one for this server works; the same person's token for another resource is a 401."""
    port = free_port()
    lab = _lab_with_identity(tmp_path / "lab", f"""  identity:
    public_url: http://127.0.0.1:{port}
    oidc:
      issuer: {key_server.issuer}
      groups: {GROUPS}
""")
    with McpServer(lab, port) as server:
        ours = key_server.mint(aud=server.url, scope=None, groups=["homelab-agents"])
        theirs = key_server.mint(aud="https://grafana.test", scope=None, groups=["homelab-agents"])
        ok = httpx.post(server.url, json=_rpc("tools/list"), headers={**MCP_HEADERS, "authorization": f"Bearer {ours}"})
        assert ok.status_code == 200 and "deploy-with-intelligence" in ok.text
        passthrough = httpx.post(server.url, json=_rpc("tools/list"),
                                 headers={**MCP_HEADERS, "authorization": f"Bearer {theirs}"})
        assert passthrough.status_code == 401


def test_step_up_is_tried_once_then_the_call_fails(served: McpServer, mock_provider: MockProvider) -> None:
    """bob's client asks approve-proposal: 403 scope="approve" -> the SDK re-authorizes once for it -> the provider
    still maps bob to read, propose -> the call fails; no loop, and nothing was merged."""
    logins: list[str] = []

    async def approve(client: Client) -> Any:
        try:
            return await client.call_tool("approve-proposal", {"proposal_id": "0123456789ab"})
        except Exception as exc:  # the transport's error for the second 403
            return exc

    original = mock_provider.login

    def counting_login(url: str, sub: str) -> str:
        logins.append(parse_qs(urlsplit(url).query).get("scope", [""])[0])
        return original(url, sub)

    mock_provider.login = counting_login  # type: ignore[method-assign]
    try:
        outcome, _ = _sdk_client_flow(served, mock_provider, "bob", approve)
    finally:
        mock_provider.login = original  # type: ignore[method-assign]
    assert len(logins) == 2 and "approve" in logins[1].split()  # first login, then one step-up for approve
    assert isinstance(outcome, Exception) or getattr(outcome, "is_error", False)
    assert not [r for r in served.audit() if r.tool == "approve-proposal" and r.outcome == "ok"]

"""Against a real OpenID provider (oidc-provider-mock): opaque access tokens via userinfo, and the PKCE login flow."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.identity.errors import LoginFailed, TokenRejected
from reconciler.identity.login import LoginStore, begin_login, complete_login, pkce_challenge, safe_next
from reconciler.identity.login_routes import login_routes
from reconciler.identity.principal import Principal
from reconciler.identity.verifier import OidcVerifier
from reconciler.models.identity import OidcConfig
from tests.backends.oidc import MockProvider, free_port

GROUPS = {"homelab-admins": ["admin"], "homelab-agents": ["read", "propose"]}


def _config(provider: MockProvider, **extra: Any) -> OidcConfig:
    return OidcConfig.model_validate({"issuer": provider.issuer, "access_tokens": "userinfo", "groups": GROUPS,
                                      "client_id": "homeport-web", **extra})


def _access_token(provider: MockProvider, sub: str) -> str:
    """A real opaque access token for sub: authorization code flow with the login form posted, code exchanged."""
    redirect = "http://127.0.0.1:1/callback"
    url, pending = begin_login(provider.issuer + "/oauth2/authorize", client_id="some-agent",
                               scopes=["openid", "email"], redirect_uri=redirect, next_path=None, now=0)
    back = parse_qs(urlsplit(provider.login(url, sub)).query)
    assert back["state"] == [pending.state]
    answer = httpx.post(provider.issuer + "/oauth2/token", data={
        "grant_type": "authorization_code", "code": back["code"][0], "redirect_uri": redirect,
        "client_id": "some-agent", "client_secret": "any", "code_verifier": pending.code_verifier})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def test_opaque_tokens_through_userinfo(mock_provider: MockProvider) -> None:
    """Opaque access tokens are checked at userinfo; groups map to scopes; a revoked token is refused."""
    verifier = OidcVerifier(_config(mock_provider))

    async def verify(token: str) -> Principal:
        return await verifier.verify(token)

    alice, bob, carol = (_access_token(mock_provider, s) for s in ("alice", "bob", "carol"))
    assert anyio.run(verify, alice).scopes == {"admin"}
    as_bob = anyio.run(verify, bob)
    assert as_bob.subject == "bob" and as_bob.scopes == {"read", "propose"} and as_bob.source == "userinfo"
    assert anyio.run(verify, carol).scopes == frozenset()
    with pytest.raises(TokenRejected):
        anyio.run(verify, "not-a-token-the-provider-issued")
    httpx.post(f"{mock_provider.issuer}/users/carol/revoke-tokens").raise_for_status()
    verifier.answers = type(verifier.answers)()  # forget the cached verdict, as 60 s would
    with pytest.raises(TokenRejected):
        anyio.run(verify, carol)


def test_pkce_pieces() -> None:
    """The S256 challenge agrees with authlib's (an independent implementation); return paths stay on this site."""
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    for verifier in ("dBjftJeZ4CVP-mJ92K9X7ZJTk6B2-K2Iu6jgLOnnTHQ", "a" * 43, "x-._~" * 20):
        assert pkce_challenge(verifier) == create_s256_code_challenge(verifier)
    assert safe_next("/proposals/abc?x=1") == "/proposals/abc?x=1"
    for bad in ("https://evil.test/", "//evil.test", "/\\evil.test", None, "", "javascript:alert(1)"):
        assert safe_next(bad) == "/"
    store = LoginStore(clock=lambda: 1000.0)
    _, pending = begin_login("https://idp.test/auth", client_id="c", scopes=["openid"], redirect_uri="https://h/cb",
                             next_path="/", now=0.0)
    store.add(pending)
    assert store.take(pending.state) is None  # older than ten minutes


class LoginApp:
    """The login routes under uvicorn with a stand-in door that records who logged in."""

    def __init__(self, verifier: OidcVerifier) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.logged_in: list[Principal] = []

        async def on_login(request: Request, principal: Principal, next_path: str) -> Response:
            self.logged_in.append(principal)
            return JSONResponse({"subject": principal.subject, "scopes": sorted(principal.scopes), "next": next_path})

        app = Starlette(routes=login_routes(lambda: verifier, on_login, public_url=self.base))
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LoginApp:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


CLIENT_SECRET = "web-client-secret-4f1c9a7e"


@pytest.fixture
def login_app(mock_provider: MockProvider, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoginApp]:
    """The login routes for a verifier of the mock provider (a confidential client: secret from the environment)."""
    monkeypatch.setenv("HOMEPORT_TEST_OIDC_SECRET", CLIENT_SECRET)
    config = _config(mock_provider, login_scopes=["openid", "email"], client_secret_env="HOMEPORT_TEST_OIDC_SECRET")
    with LoginApp(OidcVerifier(config)) as app:
        yield app


def test_browser_login_flow_over_http(mock_provider: MockProvider, login_app: LoginApp) -> None:
    """/login/oidc -> provider form (posted as bob) -> callback: state, PKCE, nonce and ID token checked; groups
    from the ID token become scopes; the state cookie is one-use."""
    with httpx.Client(base_url=login_app.base, timeout=10) as browser:
        start = browser.get("/login/oidc", params={"next": "/proposals"})
        assert start.status_code == 303
        to_provider = start.headers["location"]
        query = parse_qs(urlsplit(to_provider).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
        assert query["redirect_uri"] == [f"{login_app.base}/login/oidc/callback"]
        cookie = start.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/login/oidc" in cookie
        back = mock_provider.login(to_provider, "bob")
        done = browser.get(back)
        assert done.status_code == 200, done.text
        assert done.json() == {"subject": "bob", "scopes": ["propose", "read"], "next": "/proposals"}
        assert login_app.logged_in[0].source == "id_token" and login_app.logged_in[0].issuer == mock_provider.issuer
        replay = browser.get(back)
        assert replay.status_code == 400 and "start again" in replay.text


def test_callback_refuses_foreign_state_and_provider_errors(mock_provider: MockProvider, login_app: LoginApp) -> None:
    """A callback without this browser's state cookie, or with the provider's error, logs nobody in."""
    with httpx.Client(base_url=login_app.base, timeout=10) as browser:
        to_provider = browser.get("/login/oidc").headers["location"]
        back = mock_provider.login(to_provider, "alice")
    with httpx.Client(timeout=10) as other_browser:
        stolen = other_browser.get(back)
        assert stolen.status_code == 400 and "did not start in this browser" in stolen.text
        denied = other_browser.get(f"{login_app.base}/login/oidc/callback?error=access_denied&state=x")
        assert denied.status_code == 403 and "access_denied" in denied.text
    assert login_app.logged_in == []


def test_wrong_nonce_is_refused(mock_provider: MockProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ID token minted for another login (other nonce) is refused."""
    monkeypatch.setenv("HOMEPORT_TEST_OIDC_SECRET", CLIENT_SECRET)
    verifier = OidcVerifier(_config(mock_provider, client_secret_env="HOMEPORT_TEST_OIDC_SECRET"))
    redirect = "http://127.0.0.1:1/cb"
    url, pending = begin_login(mock_provider.issuer + "/oauth2/authorize", client_id="homeport-web",
                               scopes=["openid"], redirect_uri=redirect, next_path=None, now=0)
    code = parse_qs(urlsplit(mock_provider.login(url, "alice")).query)["code"][0]
    forged = type(pending)(**{**pending.__dict__, "nonce": "another-login"})

    async def finish() -> Principal:
        return await complete_login(verifier, forged, code)

    with pytest.raises(LoginFailed, match="nonce"):
        anyio.run(finish)

"""Identity providers for tests, both real HTTP servers on 127.0.0.1:

- `KeyServer`: an issuer whose JWT access tokens the tests mint with joserfc; serves discovery, a JWKS that can be
  rotated, and RFC 7662 introspection; counts JWKS fetches.
- `MockProvider`: the `oidc-provider-mock` package (PyPI) in a subprocess: discovery, JWKS, dynamic registration,
  the authorization code flow with a login form a test can post, RS256 ID tokens, opaque access tokens + userinfo.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KeyServer:
    """An issuer of JWT access tokens: keys in a rotating JWKS, tokens minted by `mint`."""

    def __init__(self) -> None:
        self.keys: list[Any] = [RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}),
                                ECKey.generate_key("P-256", parameters={"kid": "ec-1"})]
        self.published: list[Any] = list(self.keys)
        self.jwks_hits = 0
        self.introspected: dict[str, dict[str, Any]] = {}
        self.introspection_client: tuple[str, str] = ("homeport", "introspection-secret")
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._send(200, {"issuer": server.issuer, "jwks_uri": server.issuer + "/jwks",
                                     "introspection_endpoint": server.issuer + "/introspect",
                                     "authorization_endpoint": server.issuer + "/authorize",
                                     "token_endpoint": server.issuer + "/token"})
                elif self.path == "/jwks":
                    server.jwks_hits += 1
                    self._send(200, {"keys": [k.as_dict(private=False) for k in server.published]})
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/introspect":
                    self._send(404, {"error": "not_found"})
                    return
                expected = base64.b64encode(":".join(server.introspection_client).encode()).decode()
                if self.headers.get("authorization") != f"Basic {expected}":
                    self._send(401, {"error": "invalid_client"})
                    return
                self._send(200, server.introspected.get(form.get("token", ""), {"active": False}))

        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> KeyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def mint(self, claims: dict[str, Any] | None = None, *, key: Any = None, alg: str = "RS256",
             kid: str | None = "rsa-1", **overrides: Any) -> str:
        """A signed access token: sensible claims (iss, sub, aud, iat, exp) with claims/overrides on top."""
        now = int(time.time())
        body: dict[str, Any] = {"iss": self.issuer, "sub": "alice", "aud": "https://homeport.test/mcp",
                                "iat": now, "exp": now + 300, "scope": "read"}
        body.update(claims or {})
        body.update(overrides)
        body = {k: v for k, v in body.items() if v is not None}
        signing = key if key is not None else next(k for k in self.keys if k.kid == kid) if kid else self.keys[0]
        header: dict[str, Any] = {"alg": alg, "typ": "at+jwt"}
        if kid is not None:
            header["kid"] = kid
        return jwt.encode(header, body, signing)


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    """A running KeyServer."""
    with KeyServer() as server:
        yield server


class MockProvider:
    """oidc-provider-mock in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, users: list[dict[str, Any]]) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.port)]
        for user in users:
            args += ["--user-claims", json.dumps(user)]
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> MockProvider:
        env = {**os.environ, "NO_COLOR": "1"}
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"oidc-provider-mock did not start: {err[-2000:]}")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        """Create or replace a user with claims (e.g. groups)."""
        httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def login(self, authorization_url: str, sub: str) -> str:
        """Post the provider's login form as sub; the redirect URL (with code and state) it answers with."""
        with httpx.Client(timeout=10) as client:
            form = client.get(authorization_url)
            assert form.status_code == 200, form.text[:500]
            answer = client.post(authorization_url, data={"sub": sub})
            assert answer.status_code in (302, 303), answer.text[:500]
            return answer.headers["location"]


MOCK_USERS = [{"sub": "alice", "groups": ["homelab-admins"], "email": "alice@home.test"},
              {"sub": "bob", "groups": ["homelab-agents"], "email": "bob@home.test"},
              {"sub": "carol", "groups": ["visitors"], "email": "carol@home.test"}]


@pytest.fixture(scope="module")
def mock_provider() -> Iterator[MockProvider]:
    """A running oidc-provider-mock with alice (admins), bob (agents) and carol (no mapped group)."""
    with MockProvider(MOCK_USERS) as provider:
        yield provider

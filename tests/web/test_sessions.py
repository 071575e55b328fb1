"""Browser sessions: a token logs in through a form into an HttpOnly, SameSite=Strict cookie that holds only a
random id; every form needs the session's CSRF token; revoking the token ends its sessions; no secret is ever
in a URL."""

from __future__ import annotations

import re

import httpx

from reconciler.service import LabService, commands
from tests.web.conftest import Server


def login_form(client: httpx.Client) -> str:
    """GET /login: the form's CSRF token (its cookie is set too)."""
    page = client.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def logged_in(server: Server, token: str) -> httpx.Client:
    """A client holding a session cookie."""
    client = httpx.Client(base_url=server.url, timeout=60)
    csrf = login_form(client)
    r = client.post("/login", data={"token": token, "csrf_token": csrf, "next": "/runs"})
    assert r.status_code == 303 and r.headers["location"] == "/runs"
    return client


def page_csrf(client: httpx.Client, path: str = "/") -> str:
    """The session's CSRF token, as a page carries it."""
    match = re.search(r'data-csrf="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def test_login_sets_a_strict_httponly_cookie_with_no_secret(server: Server) -> None:
    client = httpx.Client(base_url=server.url, timeout=60)
    csrf = login_form(client)
    r = client.post("/login", data={"token": server.tokens.read, "csrf_token": csrf, "next": "/"})
    cookie = r.headers["set-cookie"]
    assert "homeport_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
        "SameSite=Strict", "SameSite=strict")
    assert server.tokens.read not in cookie and server.tokens.read not in r.headers["location"]
    session_id = client.cookies["homeport_session"]
    assert len(session_id) >= 40 and session_id not in server.tokens.read
    page = client.get("/")
    assert page.status_code == 200 and server.tokens.read not in page.text


def test_login_needs_its_form_token_and_a_valid_token(server: Server) -> None:
    client = httpx.Client(base_url=server.url, timeout=60)
    login_form(client)
    assert client.post("/login", data={"token": server.tokens.read, "csrf_token": "forged"}).status_code == 403
    csrf = login_form(client)
    bad = client.post("/login", data={"token": "hpt_wrong", "csrf_token": csrf})
    assert bad.status_code == 401 and "unknown, revoked or expired" in bad.text
    assert "homeport_session" not in client.cookies
    # A login form's next never leaves the site.
    csrf = login_form(client)
    r = client.post("/login", data={"token": server.tokens.read, "csrf_token": csrf, "next": "//evil.example/"})
    assert r.headers["location"] == "/"


def test_every_form_needs_the_session_csrf_token(server: Server) -> None:
    client = logged_in(server, server.tokens.admin)
    for path, data in (("/logout", {}), ("/runs", {}), ("/snapshots", {"notes": "x"}),
                       ("/tokens", {"name": "x", "scopes": "read"}),
                       ("/deviations/ci-runner/resolve", {"how": "adopt"})):
        r = client.post(path, data=data)
        assert r.status_code == 403 and "CSRF" in r.text, path
        r = client.post(path, data={**data, "csrf_token": "wrong"})
        assert r.status_code == 403, path
    # With the token (form field or htmx header), a form works.
    token = page_csrf(client)
    r = client.post("/snapshots", data={"notes": "from a form", "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"].startswith("/snapshots/")
    r = client.post("/logout", headers={"X-CSRF-Token": token})
    assert r.status_code == 303
    assert client.get("/").status_code == 303  # logged out


def test_revoking_the_token_ends_its_sessions(server: Server) -> None:
    with LabService.open(server.lab, actor="test") as lab:
        secret = commands.create_token(lab, name="short-lived", scopes="read", owner="tester").secret
    client = logged_in(server, secret)
    assert client.get("/").status_code == 200
    with LabService.open(server.lab, actor="test") as lab:
        commands.revoke_token(lab, "short-lived")
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_pages_need_the_scope_of_what_they_do(server: Server) -> None:
    client = logged_in(server, server.tokens.read)
    assert client.get("/tokens").status_code == 403
    assert "Approve and merge" not in client.get("/proposals?status=all").text
    token = page_csrf(client)
    r = client.post("/runs", data={"csrf_token": token})
    assert r.status_code == 403 and re.search(r"(&#39;|')approve(&#39;|') scope", r.text)

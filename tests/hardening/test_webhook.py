"""Issue 24 item 5: the daemon's webhook read bodies before checking their size, crashed on odd signatures,
nested bodies and a missing secret file, logged every unsigned request, and accepted replays."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from reconciler.daemon.http_app import build_app
from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.daemon.webhook import ReplayGuard, WebhookRefused, read_body, sign, verify_push
from reconciler.models.limits import InputLimits
from reconciler.store.tables import AuditLogRow
from tests.daemon.conftest import FakeClock, clock, lab  # noqa: F401 (fixtures)
from tests.daemon.labrepo import LabRepo

SECRET = "hook-secret"


@pytest.fixture
def daemon(lab: LabRepo, tmp_path: Path, clock: FakeClock) -> Iterator[Daemon]:  # noqa: F811
    d = Daemon(DaemonSettings(lab_dir=lab.path, database_url=f"sqlite:///{tmp_path / 'd.db'}", port=0), clock=clock,
               sleep=clock.sleep, env={"HOMEPORT_WEBHOOK_SECRET": SECRET})
    d.cycle("startup")
    yield d
    d.stop()


def _signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(SECRET.encode(), body), **extra}


def _push(**extra: object) -> bytes:
    return json.dumps({"ref": "refs/heads/main", "after": "1" * 40, "repository": {"full_name": "me/lab"},
                       **extra}).encode()


def test_a_declared_oversized_body_is_refused_unread() -> None:
    """One unsigned 400 MiB POST once took the daemon from 113 MB to 895 MB: now nothing is read."""

    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("the body was read")
        yield b""

    async def go() -> None:
        await read_body({"content-length": str(400 * 1024 * 1024)}, never())

    with pytest.raises(WebhookRefused) as caught:
        anyio.run(go)
    assert caught.value.status == 413 and "json_body_bytes" in str(caught.value)


def test_an_undeclared_oversized_body_stops_at_the_limit() -> None:
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 1
            yield b"x" * 65536

    async def go() -> None:
        await read_body({}, endless(), InputLimits(json_body_bytes=1_000_000))

    with pytest.raises(WebhookRefused) as caught:
        anyio.run(go)
    assert caught.value.status == 413 and consumed == 16  # 16 x 64 KiB is the first past 1,000,000 bytes


def test_an_oversized_post_is_413_through_the_endpoint(daemon: Daemon) -> None:
    client = TestClient(build_app(daemon.http_hooks()))
    resp = client.post("/webhook", content=b"x" * (6 * 1024 * 1024), headers={"X-GitHub-Event": "push"})
    assert resp.status_code == 413 and "json_body_bytes" in resp.json()["error"]


@pytest.mark.parametrize("signature", ["sha256=ü" * 8, "sha256=" + "é" * 64, "sha256=" + "g" * 64, "sha256=\x00"])
def test_a_malformed_signature_is_401_not_500(daemon: Daemon, signature: str) -> None:
    client = TestClient(build_app(daemon.http_hooks()))
    resp = client.post("/webhook", content=_push(),
                       headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature.encode()})
    assert resp.status_code == 401 and "malformed signature" in resp.json()["error"]


@pytest.mark.parametrize("depth", [65, 5000, 200_000])
def test_a_deeply_nested_signed_body_is_400(daemon: Daemon, depth: int) -> None:
    body = b'{"a":' + b"[" * depth + b"]" * depth + b"}"
    client = TestClient(build_app(daemon.http_hooks()))
    resp = client.post("/webhook", content=body, headers=_signed(body))
    assert resp.status_code == 400 and "json_depth" in resp.json()["error"]


def test_a_missing_secret_file_shows_at_healthz_and_refuses_deliveries(lab: LabRepo, tmp_path: Path,  # noqa: F811
                                                                       clock: FakeClock) -> None:  # noqa: F811
    d = Daemon(DaemonSettings(lab_dir=lab.path, database_url=f"sqlite:///{tmp_path / 'd.db'}", port=0), clock=clock,
               sleep=clock.sleep, env={"HOMEPORT_WEBHOOK_SECRET_FILE": str(tmp_path / "missing")})
    try:
        client = TestClient(build_app(d.http_hooks()))
        health = client.get("/healthz")
        assert health.status_code == 503
        assert "HOMEPORT_WEBHOOK_SECRET_FILE" in health.json()["webhook_error"]
        body = _push()
        resp = client.post("/webhook", content=body, headers=_signed(body))
        assert resp.status_code == 503 and "webhooks are off" in resp.json()["error"]
    finally:
        d.stop()


def test_unsigned_requests_reach_the_audit_log_a_few_times_a_minute(daemon: Daemon) -> None:
    """200 unsigned requests once added 200 audit rows."""
    client = TestClient(build_app(daemon.http_hooks()))
    for _ in range(200):
        assert client.post("/webhook", content=_push(), headers={"X-GitHub-Event": "push"}).status_code == 401
    assert daemon.service is not None
    with daemon.service.session.db.session() as s:
        rows = s.execute(select(func.count()).select_from(AuditLogRow)
                         .where(AuditLogRow.action == "webhook-refused")).scalar_one()
    assert rows <= 6
    assert 'homeport_webhooks_total{result="refused"} 200.0' in daemon.metrics.render().decode()


def test_a_replayed_delivery_is_refused_whatever_its_delivery_id(daemon: Daemon) -> None:
    client = TestClient(build_app(daemon.http_hooks()))
    body = _push()
    first = client.post("/webhook", content=body, headers=_signed(body, **{"X-GitHub-Delivery": "a"}))
    assert first.status_code == 202
    again = client.post("/webhook", content=body, headers=_signed(body, **{"X-GitHub-Delivery": "b"}))
    assert again.status_code == 409 and "replay" in again.json()["error"]


def test_a_stale_signed_push_is_refused() -> None:
    body = _push(repository={"full_name": "me/lab", "pushed_at": int(time.time()) - 7200})
    event = verify_push({"x-github-event": "push", "x-hub-signature-256": "sha256=" + sign(b"s", body)}, body, b"s")
    with pytest.raises(WebhookRefused) as caught:
        ReplayGuard().check(event)
    assert caught.value.status == 409 and "stale" in str(caught.value)


def test_the_replay_memory_forgets_after_the_window() -> None:
    now = [1000.0]
    guard = ReplayGuard(window_s=60, clock=lambda: now[0])
    body = _push()
    event = verify_push({"x-github-event": "push", "x-hub-signature-256": "sha256=" + sign(b"s", body)}, body, b"s")
    guard.check(event)
    with pytest.raises(WebhookRefused):
        guard.check(event)
    now[0] += 61
    guard.check(event)

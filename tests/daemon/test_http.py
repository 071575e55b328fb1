"""The daemon's HTTP endpoint: signed GitHub and Gitea pushes trigger a run, bad ones are refused and recorded;
/healthz and Prometheus /metrics."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from reconciler.daemon.http_app import build_app
from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.daemon.webhook import sign
from reconciler.store.tables import AuditLogRow
from tests.daemon.conftest import FakeClock
from tests.daemon.labrepo import LabRepo

SECRET = "hook-secret"


@pytest.fixture
def daemon(lab: LabRepo, db_url: str, clock: FakeClock) -> Iterator[Daemon]:
    d = Daemon(DaemonSettings(lab_dir=lab.path, database_url=db_url, port=0), clock=clock, sleep=clock.sleep,
               env={"HOMEPORT_WEBHOOK_SECRET": SECRET})
    yield d
    d.stop()


def _push(ref: str = "refs/heads/main") -> bytes:
    return json.dumps({"ref": ref, "after": "0" * 40, "repository": {"full_name": "me/lab"}}).encode()


def _queued(daemon: Daemon) -> list[str]:
    out = []
    while not daemon._queue.empty():
        out.append(daemon._queue.get_nowait())
    return out


def _refusals(daemon: Daemon) -> list[dict[str, str]]:
    assert daemon.service is not None
    with daemon.service.session.db.session() as s:
        return list(s.execute(select(AuditLogRow.result).where(AuditLogRow.action == "webhook-refused")).scalars())


def test_signed_github_and_gitea_pushes_trigger_a_run(daemon: Daemon) -> None:
    client = TestClient(build_app(daemon.http_hooks()))
    body = _push()
    resp = client.post("/webhook", content=body, headers={
        "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(SECRET.encode(), body)})
    assert resp.status_code == 202 and resp.json() == {"status": "queued"}
    resp = client.post("/webhook", content=body, headers={
        "X-Gitea-Event": "push", "X-Gitea-Signature": sign(SECRET.encode(), body)})
    assert resp.status_code == 202
    assert _queued(daemon) == ["webhook", "webhook"]
    other = _push("refs/heads/proposals/1-x")
    resp = client.post("/webhook", content=other, headers={
        "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(SECRET.encode(), other)})
    assert resp.status_code == 200 and resp.json()["status"].startswith("ignored")
    assert _queued(daemon) == []
    result = daemon.cycle("webhook")
    assert result is not None and result.status == "ok" and result.counts["applied"] == 3


def test_bad_or_missing_signature_is_refused_and_recorded(daemon: Daemon) -> None:
    daemon.cycle("startup")  # the session and lab name exist, as in a running daemon
    client = TestClient(build_app(daemon.http_hooks()))
    body = _push()
    bad = client.post("/webhook", content=body, headers={
        "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(b"wrong", body)})
    assert bad.status_code == 401 and "bad signature" in bad.json()["error"]
    tampered = client.post("/webhook", content=body + b" ", headers={
        "X-Gitea-Event": "push", "X-Gitea-Signature": sign(SECRET.encode(), body)})
    assert tampered.status_code == 401
    unsigned = client.post("/webhook", content=body, headers={"X-GitHub-Event": "push"})
    assert unsigned.status_code == 401
    assert _queued(daemon) == []
    reasons = [r["reason"] for r in _refusals(daemon)]
    assert reasons == ["github delivery with a bad signature", "gitea delivery with a bad signature",
                       "github delivery without a signature header"]
    metrics = client.get("/metrics").text
    assert 'homeport_webhooks_total{result="refused"} 3.0' in metrics


def test_webhooks_are_off_without_a_secret(lab: LabRepo, db_url: str, clock: FakeClock) -> None:
    d = Daemon(DaemonSettings(lab_dir=lab.path, database_url=db_url, port=0), clock=clock, sleep=clock.sleep, env={})
    try:
        client = TestClient(build_app(d.http_hooks()))
        body = _push()
        resp = client.post("/webhook", content=body, headers={
            "X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(b"", body)})
        assert resp.status_code == 403 and "HOMEPORT_WEBHOOK_SECRET" in resp.json()["error"]
    finally:
        d.stop()


def test_health_and_metrics(daemon: Daemon) -> None:
    client = TestClient(build_app(daemon.http_hooks()))
    daemon.cycle("schedule")
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["lab"] == "home" and health.json()["last_run"]["status"] == "ok"
    text = client.get("/metrics").text
    assert 'homeport_runs_total{status="ok",trigger="schedule"} 1.0' in text
    assert 'homeport_changes_applied_total{op="create"} 3.0' in text
    assert "homeport_deviations_open 0.0" in text
    assert 'homeport_last_applied_revision_info{revision="' in text
    assert 'homeport_phase_seconds_count{phase="apply"} 1.0' in text

"""The daemon as it runs in production: a process mirroring a forge, serving /webhook, /healthz and /metrics over
HTTP (uvicorn), stopped by SIGTERM; and the in-process worker with scheduled snapshots."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.daemon.webhook import sign
from reconciler.store.snapshots import list_snapshots
from tests.daemon.labrepo import LabRepo, lab_files, resource_yaml

HOMEPORT = str(Path(sys.executable).parent / "homeport")
SECRET = b"process-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_health(base: str, predicate: Any, proc: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            health: dict[str, Any] = httpx.get(f"{base}/healthz", timeout=5).json()
            if predicate(health):
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting; daemon log:\n{log.read_text()[-3000:]}")


def test_webhook_push_to_a_daemon_process_applies_the_commit(tmp_path: Path) -> None:
    forge = LabRepo(tmp_path / "forge.git", bare=True)
    forge.commit(lab_files(2), "lab")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "daemon.log"
    env = {**os.environ, "HOMEPORT_WEBHOOK_SECRET": SECRET.decode()}
    env.pop("HOMEPORT_DATABASE_URL", None)
    proc = subprocess.Popen([HOMEPORT, "daemon", "--repo", forge.url, "--state-dir", str(tmp_path / "state"),
                             "--port", str(port), "--poll", "1h", "--interval", "1h"], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        first = _wait_health(base, lambda h: (h.get("last_run") or {}).get("status") == "ok", proc, log)
        assert first["last_run"]["revision"] == forge.head()
        head = forge.commit({"resources/vm-7.yaml": resource_yaml("vm-7").encode()}, "add vm-7")
        body = json.dumps({"ref": "refs/heads/main", "after": head}).encode()
        bad = httpx.post(f"{base}/webhook", content=body, headers={
            "X-Gitea-Event": "push", "X-Gitea-Signature": sign(b"guess", body)})
        assert bad.status_code == 401
        good = httpx.post(f"{base}/webhook", content=body, headers={
            "X-Gitea-Event": "push", "X-Gitea-Signature": sign(SECRET, body)})
        assert good.status_code == 202
        health = _wait_health(base, lambda h: (h.get("last_run") or {}).get("revision") == head, proc, log)
        assert health["last_run"]["status"] == "ok" and health["repo_error"] is None
        metrics = httpx.get(f"{base}/metrics").text
        assert 'homeport_changes_applied_total{op="create"} 3.0' in metrics
        assert 'homeport_runs_total{status="ok",trigger="webhook"} 1.0' in metrics
        assert 'homeport_webhooks_total{result="refused"} 1.0' in metrics
        proc.send_signal(signal.SIGHUP)  # `systemctl reload`: a run now
        _wait_health(base, lambda h: h.get("cycles", 0) >= 3, proc, log)
        deadline = time.monotonic() + 60
        while 'trigger="signal"} 1.0' not in httpx.get(f"{base}/metrics").text and time.monotonic() < deadline:
            time.sleep(0.1)
        assert 'homeport_runs_total{status="ok",trigger="signal"} 1.0' in httpx.get(f"{base}/metrics").text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    assert proc.returncode == 0, log.read_text()[-3000:]


def test_worker_runs_startup_cycle_and_scheduled_snapshots(tmp_path: Path) -> None:
    lab = LabRepo(tmp_path / "lab", bare=False)
    lab.commit(lab_files(2), "lab")
    daemon = Daemon(DaemonSettings(lab_dir=lab.path, database_url=f"sqlite:///{tmp_path / 'w.db'}", port=0,
                                   snapshot_seconds=3600), env={})
    daemon.start()
    daemon.request("snapshot")  # what the snapshot job queues
    daemon.request("schedule")
    deadline = time.monotonic() + 120
    while daemon.cycles < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    daemon.stop()  # the worker finishes what is queued first
    assert daemon.last_result is not None and daemon.last_result.status == "ok"
    assert daemon.cycles <= 2, "queued triggers are coalesced"
    from reconciler.phases.context import LabSession

    reopened = LabSession.open(lab.path, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    try:
        snaps = list_snapshots(reopened.db, "home")
    finally:
        reopened.close()
    assert [s.snapshot_type for s in snaps] == ["scheduled"]
    assert sorted(snaps[0].snapshot_data["desired_resources"]) == ["vm-0", "vm-1"]


def test_schedule_follows_reconcile_interval_with_jitter(tmp_path: Path) -> None:
    from tests.daemon.labrepo import lab_yaml

    lab = LabRepo(tmp_path / "lab", bare=False)
    lab.commit(lab_files(1, interval="2m"), "lab")
    daemon = Daemon(DaemonSettings(lab_dir=lab.path, database_url=f"sqlite:///{tmp_path / 's.db'}", port=0), env={})
    try:
        daemon.start()
        deadline = time.monotonic() + 120
        while daemon.last_result is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon._scheduler is not None
        job = daemon._scheduler.get_job("reconcile")
        assert job.trigger.interval.total_seconds() == 120 and job.trigger.jitter == 12
        lab.commit({"homeport.yaml": lab_yaml(interval="1h").encode()})
        daemon.cycle("test")
        job = daemon._scheduler.get_job("reconcile")
        assert job.trigger.interval.total_seconds() == 3600 and job.trigger.jitter == 360
    finally:
        daemon.stop()

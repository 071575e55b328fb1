"""Notifications: one message per run, de-duplicated across runs, retried, in JSON, ntfy and Gotify formats."""

from __future__ import annotations

from pathlib import Path

from reconciler.daemon.service import Daemon
from reconciler.daemon.settings import DaemonSettings
from reconciler.providers.sim.drift import cause_drift
from reconciler.store.provider_state import DbProviderState
from tests.daemon.conftest import FakeClock
from tests.daemon.httpsink import http_sink
from tests.daemon.labrepo import LabRepo, lab_yaml


def _targets(url: str) -> str:
    return ("  notifications:\n"
            f"    - {{url: '{url}/hook', format: json}}\n"
            f"    - {{url: '{url}/homeport', format: ntfy, token_env: NTFY_TOKEN}}\n"
            f"    - {{url_env: GOTIFY_URL, format: gotify, token_env: GOTIFY_TOKEN, events: [failure]}}\n")


def _daemon(lab: LabRepo, db_url: str, clock: FakeClock, env: dict[str, str]) -> Daemon:
    return Daemon(DaemonSettings(lab_dir=lab.path, database_url=db_url, port=0), clock=clock, sleep=clock.sleep,
                  env=env)


def test_one_message_per_run_in_each_format_deduplicated(lab: LabRepo, db_url: str, clock: FakeClock) -> None:
    with http_sink() as sink:
        env = {"NTFY_TOKEN": "ntfy-secret", "GOTIFY_URL": f"{sink.url}/message", "GOTIFY_TOKEN": "gotify-secret"}
        lab.commit({"homeport.yaml": (lab_yaml() + _targets(sink.url)).encode()})
        daemon = _daemon(lab, db_url, clock, env)
        try:
            assert daemon.cycle().status == "ok"  # type: ignore[union-attr]
            # applied 3 machines: one JSON and one ntfy message (gotify wants failures only)
            assert [r.path for r in sink.received] == ["/hook", "/homeport"]
            body = sink.received[0].json()
            assert body["events"] == ["applied"] and len(body["applied"]) == 3 and body["lab"] == "home"
            ntfy = sink.received[1]
            assert ntfy.headers["title"].startswith("homeport home: 3 applied")
            assert ntfy.headers["authorization"] == "Bearer ntfy-secret"
            assert ntfy.body.decode().count("applied: vm-") == 3

            clock.advance(minutes=5)
            daemon.cycle()  # a no-op run: nothing to say
            assert len(sink.received) == 2

            cause_drift(DbProviderState(daemon.service.session.db, "home", "lab"), "vm-0", {"cpu": 9})  # type: ignore[union-attr]
            clock.advance(minutes=5)
            daemon.cycle()
            assert [r.path for r in sink.received[2:]] == ["/hook", "/homeport"]
            assert sink.received[2].json()["deviations"] == [
                {"resource": "vm-0", "field": "cpu", "expected": 1, "actual": 9}]
            clock.advance(minutes=5)
            daemon.cycle()  # still drifting: not new, no message
            assert len(sink.received) == 4

            lab.commit({"homeport.yaml": (lab_yaml(faults={"vm-1": "permanent"}) + _targets(sink.url)).encode(),
                        "resources/vm-1.yaml": b"apiVersion: homelab.ai/v1\nkind: UniversalResource\n"
                        b"metadata: {name: vm-1}\nspec:\n  pool: /sim/compute\n"
                        b"  requirements: {cpu: 2, memory_gb: 1, storage_gb: 10}\n"})
            for _ in range(3):  # the same failure three runs in a row is sent once
                clock.advance(minutes=5)
                assert daemon.cycle().status == "failed"  # type: ignore[union-attr]
            assert [r.path for r in sink.received[4:]] == ["/hook", "/homeport", "/message"]
            gotify = sink.received[6]
            assert gotify.headers["x-gotify-key"] == "gotify-secret"
            assert gotify.json()["priority"] == 8 and "vm-1" in gotify.json()["message"]
        finally:
            daemon.stop()
        db_text = _audit_text(db_url)
        assert "ntfy-secret" not in db_text and "gotify-secret" not in db_text


def _audit_text(db_url: str) -> str:
    from sqlalchemy import select

    from reconciler.store.database import open_database
    from reconciler.store.tables import AuditLogRow

    db = open_database(db_url)
    try:
        with db.session() as s:
            return repr(s.execute(select(AuditLogRow.arguments, AuditLogRow.result)).all())
    finally:
        db.dispose()


def test_delivery_is_retried_and_a_dead_target_recorded(lab: LabRepo, tmp_path: Path, clock: FakeClock) -> None:
    db_url = f"sqlite:///{tmp_path / 'n.db'}"
    with http_sink() as sink:
        lab.commit({"homeport.yaml": (lab_yaml() + f"  notifications: [{{url: '{sink.url}/hook'}}]\n").encode()})
        sink.fail_next = 2
        daemon = _daemon(lab, db_url, clock, {})
        try:
            daemon.cycle()
            assert len(sink.received) == 3, "two 500s, then delivered"
            assert [round(s) for s in clock.sleeps] == [1, 2]
            sink.fail_next = 10
            cause_drift(DbProviderState(daemon.service.session.db, "home", "lab"), "vm-2", {"cpu": 4})  # type: ignore[union-attr]
            daemon.cycle()
            assert len(sink.received) == 6, "three attempts, then given up"
        finally:
            daemon.stop()
    from sqlalchemy import select

    from reconciler.store.database import open_database
    from reconciler.store.tables import AuditLogRow

    db = open_database(db_url)
    with db.session() as s:
        actions = list(s.execute(select(AuditLogRow.action).where(AuditLogRow.entity_type == "notification")).scalars())
    db.dispose()
    assert actions == ["notify-sent", "notify-failed"]

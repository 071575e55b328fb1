"""The rebuild drill on the example lab: a drift never adopted and a secret that does not resolve are found,
the score counts them, and nothing outside the scratch lab changes (real database, lab folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.providers.sim.drift import cause_drift
from reconciler.service import commands
from reconciler.service.drill import rebuild_drill
from reconciler.service.lab import LabService
from reconciler.store.provider_state import DbProviderState
from tests.backends.homeport_lab import make_lab
from tests.foundation.labkit import commit, homeport

UNSET = "HOMEPORT_DRILL_TEST_NEVER_SET"

API = f"""apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: api}}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/on-premise/sim/compute
  requirements: {{cpu: 1, memory_gb: 2, storage_gb: 10}}
  service:
    image: nginx:1.27
    secret_env: {{API_TOKEN: {UNSET}}}
"""

CACHE = """apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: cache}
spec:
  resource_type: compute
  workload_type: web-app
  pool: /infrastructure/on-premise/sim/compute
  requirements: {cpu: 1, memory_gb: 2, storage_gb: 10}
  sync: {self_heal: false}
"""


@pytest.fixture
def drilled_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example lab plus `api` (a secret reference nobody set) and `cache` (changed live, never adopted),
    applied, drift recorded by a daemon-mode run, and a snapshot taken."""
    monkeypatch.delenv(UNSET, raising=False)
    lab = make_lab(tmp_path / "lab", apply=False)
    commit(lab, {"resources/api.yaml": API, "resources/cache.yaml": CACHE}, "api and cache")
    session = LabSession.open(lab, actor="test")
    try:
        assert reconcile(session, mode=Mode.manual, trigger="test").status == "ok"
        cause_drift(DbProviderState(session.db, "home", "lab"), "cache", {"cpu": 3})
        assert reconcile(session, mode=Mode.auto, trigger="test").status in ("ok", "partial")
    finally:
        session.close()
    with LabService.open(lab) as service:
        commands.snapshot(service, name="before-drill")
    return lab


def _fingerprint(lab: Path) -> dict[str, object]:
    files = sorted(str(p.relative_to(lab)) for p in lab.rglob("*") if ".git" not in p.parts)
    import sqlite3

    con = sqlite3.connect(lab / ".homeport" / "state.db")
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        rows = {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()
    return {"files": files, "rows": rows}


def test_drill_finds_unadopted_drift_and_missing_secret(drilled_lab: Path) -> None:
    before = _fingerprint(drilled_lab)
    with LabService.open(drilled_lab) as service:
        report = rebuild_drill(service)
    after = _fingerprint(drilled_lab)
    # no trace outside the scratch lab but the stored report and its audit row
    assert after["files"] == before["files"]
    rows_before, rows_after = before["rows"], after["rows"]
    assert isinstance(rows_before, dict) and isinstance(rows_after, dict)
    grown = {t: rows_after[t] - rows_before.get(t, 0) for t in rows_after if rows_after[t] != rows_before.get(t, 0)}
    assert grown == {"drill_reports": 1, "audit_log": 1}
    assert report.id is not None and report.created_by
    items = {i.resource: i for i in report.items}
    assert items["web-frontend"].status == "restored"
    assert items["web-frontend"].node is not None
    api = items["api"]
    assert api.status == "not restorable"
    assert [r.kind for r in api.reasons] == ["secret"]
    assert UNSET in api.reasons[0].message
    cache = items["cache"]
    assert cache.status == "not restorable"
    assert [r.kind for r in cache.reasons] == ["drift"]
    assert "cpu" in cache.reasons[0].message and "never adopted" in cache.reasons[0].message
    assert items["dns-cache"].status == "not in the drill"  # its provider (pve) is disabled
    counted = [i for i in report.items if i.status != "not in the drill"]
    restored = [i for i in counted if i.status == "restored"]
    assert report.score == f"{len(restored)} of {len(counted)} resources rebuildable from Git"
    assert report.snapshot_name == "before-drill"
    assert report.seeded_nodes == {"lab": ["sim-1", "sim-2", "sim-3"]}


def test_drill_secret_found_resolves_when_set(drilled_lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UNSET, "value-the-drill-never-prints")
    with LabService.open(drilled_lab) as service:
        report = rebuild_drill(service)
    api = next(i for i in report.items if i.resource == "api")
    assert api.status == "restored"
    assert "value-the-drill-never-prints" not in report.model_dump_json()
    assert b"value-the-drill-never-prints" not in (drilled_lab / ".homeport" / "state.db").read_bytes()


def test_drill_cli_json_and_exit_code(drilled_lab: Path) -> None:
    code, out = homeport("drill", "rebuild", "--lab", str(drilled_lab), "--output", "json")
    assert code == 1  # something is not rebuildable
    data = json.loads(out)
    assert data["score"].endswith("resources rebuildable from Git")
    code, out = homeport("drill", "rebuild", "--lab", str(drilled_lab), "--from-snapshot", "nope")
    assert code != 0 and "no snapshot 'nope'" in out


def test_drill_reports_are_listed_and_shown(drilled_lab: Path) -> None:
    code, out = homeport("drill", "list", "--lab", str(drilled_lab))
    assert code == 0 and "no drill reports yet" in out
    code, ran = homeport("drill", "rebuild", "--lab", str(drilled_lab), "--output", "json")
    assert code == 1
    report = json.loads(ran)
    code, out = homeport("drill", "list", "--lab", str(drilled_lab))
    assert code == 0 and report["id"][:12] in out and report["score"] in out and "by drill:" in out
    code, listed = homeport("drill", "list", "--lab", str(drilled_lab), "--output", "json")
    assert [d["id"] for d in json.loads(listed)] == [report["id"]]
    code, shown = homeport("drill", "show", report["id"][:8], "--lab", str(drilled_lab), "--output", "json")
    assert code == 0 and json.loads(shown) == report
    code, text = homeport("drill", "show", report["id"], "--lab", str(drilled_lab))
    assert code == 0 and "not restorable api" in " ".join(text.split()) and report["score"] in text
    code, out = homeport("drill", "show", "ffffffff", "--lab", str(drilled_lab))
    assert code == 1 and "no drill report 'ffffffff'" in out and "Traceback" not in out


def test_a_stored_report_masks_secret_looking_values(drilled_lab: Path) -> None:
    from reconciler.store.drills import get_drill, save_drill

    with LabService.open(drilled_lab) as service:
        row = save_drill(service.session.db, lab=service.lab_name, revision="0" * 40, snapshot_id=None, rebuildable=0,
                         total=1, report={"notes": ["password: hunter2-never-stored"],
                                          "items": [{"resource": "x", "api_token": "tok-never-stored",
                                                     "password_env": "DB_PASSWORD"}]},
                         created_by="test")
        stored = get_drill(service.session.db, service.lab_name, row.id)
    assert stored is not None
    text = json.dumps(stored.report)
    assert "hunter2-never-stored" not in text and "tok-never-stored" not in text
    assert stored.report["items"][0]["password_env"] == "DB_PASSWORD"  # a reference, kept
    raw = (drilled_lab / ".homeport" / "state.db").read_bytes()
    assert b"hunter2-never-stored" not in raw and b"tok-never-stored" not in raw


GHOST_TEMPLATE = """apiVersion: homelab.ai/v1
kind: DeploymentTemplate
metadata: {name: ghost}
spec:
  template_type: vm
  infrastructure: {chart: no-such-chart}
"""


def test_drill_missing_chart_is_reported(drilled_lab: Path) -> None:
    charted = CACHE.replace("name: cache", "name: charted").replace(
        "  sync: {self_heal: false}\n", "  template: ghost\n")
    commit(drilled_lab, {"templates/ghost.yaml": GHOST_TEMPLATE, "resources/charted.yaml": charted},
           "a resource whose template names a chart that does not exist")
    with LabService.open(drilled_lab) as service:
        report = rebuild_drill(service)
    item = next(i for i in report.items if i.resource == "charted")
    assert item.status == "not restorable"
    assert item.reasons[0].kind == "render"
    assert "no-such-chart" in item.reasons[0].message


def test_drill_from_a_snapshot_prefix_and_without_any_snapshot(tmp_path: Path) -> None:
    """--from-snapshot takes an id prefix; with no snapshot at all the nodes homeport.yaml names are simulated
    at the default size, and the report says so."""
    lab = make_lab(tmp_path / "lab")
    with LabService.open(lab) as service:
        bare = rebuild_drill(service)
        assert bare.snapshot_id is None and any("no snapshot yet" in n for n in bare.notes)
        assert bare.seeded_nodes == {"lab": ["sim-1", "sim-2", "sim-3"]}
        taken = commands.snapshot(service, name="prefix")
        report = rebuild_drill(service, snapshot_id=taken.id[:8])
    assert report.snapshot_id == taken.id and report.snapshot_name == "prefix" and not report.notes

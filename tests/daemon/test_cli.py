"""The commands people use around the daemon: daemon --once, status, history, snapshot, drift (text and JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.store.database import open_database
from reconciler.store.provider_state import DbProviderState
from tests.daemon.labrepo import LabRepo, lab_yaml

runner = CliRunner()


@pytest.fixture
def cli_lab(lab: LabRepo, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOMEPORT_DATABASE_URL", db_url)
    return lab.path


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_daemon_once_status_history_and_drift(cli_lab: Path, db_url: str) -> None:
    run = json.loads(_ok("daemon", "--lab", str(cli_lab), "--once", "--port", "0", "-o", "json"))
    assert run["status"] == "ok" and run["counts"]["applied"] == 3
    db = open_database(db_url)
    DbProviderState(db, "home", "lab").put("machine/vm-1", {
        **DbProviderState(db, "home", "lab").get("machine/vm-1"),  # type: ignore[dict-item]
        "fields": {**DbProviderState(db, "home", "lab").get("machine/vm-1")["fields"], "cpu": 4}})  # type: ignore[index]
    db.dispose()
    _ok("daemon", "--lab", str(cli_lab), "--once", "--port", "0")
    status = json.loads(_ok("status", "--lab", str(cli_lab), "-o", "json"))
    assert {i["name"]: i["matches"] for i in status["instances"]} == {"vm-0": True, "vm-1": False, "vm-2": True}
    assert [(d["resource"], d["field"], d["expected"], d["actual"]) for d in status["deviations"]] == [
        ("vm-1", "cpu", 1, 4)]
    assert [r["status"] for r in status["runs"]] == ["ok", "ok"]
    text = _ok("status", "--lab", str(cli_lab))
    assert "1 drifted, 2 running" in text and "vm-1 cpu: declared 1, live 4" in text and "Recent runs" in text
    history = _ok("history", "vm-1", "--lab", str(cli_lab))
    assert "create vm-1" in history and "vm-1 created on" in history and "update-skipped vm-1" in history
    runs = json.loads(_ok("history", "--runs", "--lab", str(cli_lab), "-o", "json"))
    assert len(runs) == 2 and runs[0]["summary"]["drifted"] == 1
    assert "vm-1 cpu: declared 1, live 4" in _ok("drift", "list", "--lab", str(cli_lab))
    proposal = json.loads(_ok("drift", "propose", "vm-1", "--revert", "--lab", str(cli_lab), "-o", "json"))
    assert proposal["title"] == "Revert drift of vm-1 (cpu)" and proposal["status"] == "open"
    bad = runner.invoke(app, ["drift", "propose", "vm-1", "--lab", str(cli_lab)])
    assert bad.exit_code == 1 and "--adopt" in bad.output and "Traceback" not in bad.output


def test_snapshot_create_list_show_leaves_secrets_out(cli_lab: Path, lab: LabRepo) -> None:
    lab.commit({"homeport.yaml": lab_yaml().replace("      nodes: [sim-1, sim-2]\n",
                                                    "      nodes: [sim-1, sim-2]\n      options: {api_token: s3cr3t-"
                                                    "value, region_name: here}\n").encode()})
    _ok("daemon", "--lab", str(cli_lab), "--once", "--port", "0")
    created = json.loads(_ok("snapshot", "create", "--name", "before-upgrade", "--lab", str(cli_lab), "-o", "json"))
    assert created["resources_desired"] == 3 and created["resources_observed"] == 3
    listed = json.loads(_ok("snapshot", "list", "--lab", str(cli_lab), "-o", "json"))
    assert [s["name"] for s in listed] == ["before-upgrade"]
    shown = _ok("snapshot", "show", created["id"][:8], "--lab", str(cli_lab))
    doc = json.loads(shown)
    assert sorted(doc["data"]["desired_resources"]) == ["vm-0", "vm-1", "vm-2"]
    assert {r["name"] for r in doc["data"]["observed_resources"]} == {"vm-0", "vm-1", "vm-2"}
    assert doc["data"]["lab"]["spec"]["providers"]["lab"]["options"]["region_name"] == "here"
    assert "s3cr3t-value" not in shown
    missing = runner.invoke(app, ["snapshot", "show", "nope", "--lab", str(cli_lab)])
    assert missing.exit_code == 1 and "homeport snapshot list" in missing.output

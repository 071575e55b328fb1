"""Faults through the phases: one engine down, another resource's image missing; the rest is applied."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from reconciler.models.plan import Mode
from reconciler.phases.context import LabSession
from reconciler.phases.run import reconcile
from reconciler.store.instances import load_instances
from reconciler.store.tables import DeploymentInstanceRow
from tests.backends.dockerd import DockerEngine, free_port
from tests.foundation.labkit import GIT_ENV, commit, homeport
from tests.providers.docker.test_end_to_end import POOL, lab_yaml, service_yaml

pytestmark = pytest.mark.slow  # real dockerd engines


def test_engine_down_and_missing_image_fail_alone(
    clean_engines: dict[str, DockerEngine], spare_engine: DockerEngine, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("HOMEPORT_DATABASE_URL", raising=False)
    engines = {"node1": clean_engines["node1"], "node2": spare_engine}
    lab = tmp_path / "lab"
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    broken = service_yaml("no-image", "node1", free_port(), {"A": "1"}).replace(
        "homeport-test/busybox:1", "homeport-test/missing:1"
    )
    commit(
        lab,
        {
            "homeport.yaml": lab_yaml(engines, self_heal=True),
            "pools/docker.yaml": POOL,
            "resources/fine.yaml": service_yaml("fine", "node1", free_port(), {"A": "1"}),
            "resources/no-image.yaml": broken,
            "resources/on-down-node.yaml": service_yaml("on-down-node", "node2", free_port(), {"A": "1"}),
        },
        "three services, two of them doomed",
    )
    spare_engine.stop()
    spare_engine.socket.unlink(missing_ok=True)

    session = LabSession.open(lab, sleep=lambda seconds: None)
    try:
        result = reconcile(session, mode=Mode.manual, trigger="test", approve=lambda plan: True)
        outcomes = {o.change.resource: o for o in result.outcomes}
        assert result.status == "partial", result.error
        assert outcomes["fine"].status == "applied"
        assert outcomes["no-image"].status == "failed"
        assert "No such image: homeport-test/missing:1" in outcomes["no-image"].message
        # the engine that is down is found by the provider's preflight: that change is held back before
        # anything is applied, with the engine's own message, instead of failing half-way
        assert "on-down-node" not in outcomes
        held = {c.resource: c.blocked or "" for c in result.plan.changes} if result.plan else {}
        assert held["on-down-node"].startswith("preflight:")
        assert "engine node2" in held["on-down-node"]
        assert "cannot reach the engine" in held["on-down-node"]
        instances = load_instances(session.db, "home")
        assert instances["fine"].status == "running"
        with session.db.session() as s:
            errors = dict(
                s.execute(
                    select(DeploymentInstanceRow.name, DeploymentInstanceRow.error_message).where(
                        DeploymentInstanceRow.lab == "home"
                    )
                ).all()
            )
        assert "No such image: homeport-test/missing:1" in (errors["no-image"] or "")
        assert "engine node2" in (errors["on-down-node"] or "")
    finally:
        session.close()
    client = clean_engines["node1"].client()
    try:
        names = sorted(c["Names"][0] for c in client.containers(all=True))
        volumes = sorted(v["Name"] for v in client.volumes().get("Volumes") or [])
    finally:
        client.close()
    assert names == ["/home-fine"]
    assert volumes == ["home-fine_data"]


def test_lab_whose_only_engine_is_down_plans_nothing(
    spare_engine: DockerEngine, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.delenv("HOMEPORT_DATABASE_URL", raising=False)
    lab = tmp_path / "lab"
    subprocess.run(["git", "init", "-q", "-b", "main", str(lab)], check=True, env=GIT_ENV)
    commit(
        lab,
        {
            "homeport.yaml": lab_yaml({"node1": spare_engine, "node2": spare_engine}, self_heal=True),
            "pools/docker.yaml": POOL,
            "resources/web.yaml": service_yaml("web", "node1", free_port(), {"A": "1"}),
        },
        "one engine serving both nodes",
    )
    spare_engine.stop()
    spare_engine.socket.unlink(missing_ok=True)

    code, out = homeport("plan", "--lab", str(lab), "--output", "json")
    plan = json.loads(out)
    assert code == 0, out
    [change] = plan["changes"]
    assert change["op"] == "noop" and change["resource"] == "web"
    assert change["blocked"].startswith("provider docker could not be observed: engine node1 (unix://")
    assert "cannot reach the engine" in change["blocked"]

"""The no-op index (issue 21 item 2): an unchanged run skips load, render and diff; a real change never hides.

Every step runs `homeport` in a fresh process against a real Git repository and a real database (a SQLite file,
and the suite's PostgreSQL), so the index is proven valid across processes. That a run used the index is read
from what it reports (skipped_by_index, and no load/render/diff phase timed), never from timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from reconciler.models.plan import Mode, Plan
from reconciler.phases import run as run_phase
from reconciler.phases.context import LabSession
from reconciler.phases.noop_index import FastCheck
from reconciler.providers.sim.drift import add_unmanaged
from reconciler.store.database import open_database
from reconciler.store.noop_index import read_lab_index
from reconciler.store.provider_state import DbProviderState
from reconciler.store.tables import DeploymentInstanceRow
from tests.foundation.labkit import GIT_ENV, commit

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: fast}}
spec:
  providers:
    lab: {{type: sim, nodes: [n1, n2], enabled: {enabled}}}
  reconcile: {{prune: true, self_heal: true, max_prune_fraction: 0.5}}
"""

PARENT_POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: lab-root}}
spec:
  path: /lab
  properties: {{image: {image}}}
"""

CHILD_POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: compute}
spec:
  path: /lab/compute
  provider: lab
  nodes: [n1, n2]
"""

TEMPLATE = """\
apiVersion: homelab.ai/v1
kind: DeploymentTemplate
metadata: {{name: small}}
spec:
  resources:
    requirements: {{cpu: {cpu}, memory_gb: 1}}
"""


def resource(name: str, *, template: bool = False, memory_gb: float = 2) -> str:
    """A sim resource in /lab/compute (cpu from the template when it uses one)."""
    spec = "  template: small\n" if template else f"  requirements: {{cpu: 1, memory_gb: {memory_gb}}}\n"
    return f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /lab/compute
{spec}"""


WRAPPER = "import sys; sys.argv = ['homeport', *sys.argv[1:]]; from reconciler.cli import main; main()"


class Lab:
    """A lab repository and its database, driven by `homeport` subprocesses."""

    def __init__(self, path: Path, database_url: str) -> None:
        self.path = path
        self.env = {**os.environ, "HOMEPORT_DATABASE_URL": database_url}

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run([sys.executable, "-c", WRAPPER, *args, "--lab", str(self.path)], env=self.env,
                              capture_output=True, text=True, timeout=300, check=False)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def apply(self, *extra: str) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(self.run("apply", "--auto-approve", "--output", "json", *extra))
        return out

    def plan(self, *extra: str) -> dict[str, str]:
        plan = json.loads(self.run("plan", "--output", "json", *extra))
        return {c["resource"]: c["op"] + ("/blocked" if c["blocked"] else "") for c in plan["changes"]}


def fast(run: dict[str, Any]) -> bool:
    """Whether the whole run was answered from the index: it timed no load, render or diff phase, and says it
    planned every resource from the index."""
    phases = set(run["timings"])
    if "load" in phases:
        assert {"render", "diff"} <= phases, phases
        return False
    assert not phases & {"render", "diff"}, phases
    assert run["skipped_by_index"] == run["counts"]["noop"] > 0, run
    return True


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A SQLite file in tmp_path, or a fresh database on the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def converged_lab(tmp_path: Path, database_url: str, extra: dict[str, str] | None = None) -> Lab:
    """a (with the template) and b, applied; then a full run writes the index and the next run uses it.
    extra: more files (or other texts for these) in the first commit."""
    path = tmp_path / "lab"
    path.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, env=GIT_ENV)
    commit(path, {
        "homeport.yaml": LAB.format(enabled="true"),
        "pools/root.yaml": PARENT_POOL.format(image="img-1"),
        "pools/compute.yaml": CHILD_POOL,
        "templates/small.yaml": TEMPLATE.format(cpu=1),
        "resources/a.yaml": resource("a", template=True),
        "resources/b.yaml": resource("b"),
        **(extra or {}),
    }, "lab")
    lab = Lab(path, database_url)
    first = lab.apply()
    assert first["counts"]["applied"] == 2 and not fast(first)
    second = lab.apply()
    assert second["counts"] == {**second["counts"], "applied": 0, "noop": 2} and not fast(second)
    third = lab.apply()
    assert fast(third) and third["skipped_by_index"] == 2 and third["counts"]["noop"] == 2
    assert lab.plan() == {"a": "noop", "b": "noop"}
    return lab


def change_resource_file(lab: Lab) -> None:
    commit(lab.path, {"resources/b.yaml": resource("b", memory_gb=3)}, "b grows")


def change_template(lab: Lab) -> None:
    commit(lab.path, {"templates/small.yaml": TEMPLATE.format(cpu=2)}, "small gets 2 cpus")


def change_parent_pool(lab: Lab) -> None:
    commit(lab.path, {"pools/root.yaml": PARENT_POOL.format(image="img-2")}, "new image for the whole lab")


def drift_out_of_band(lab: Lab) -> None:
    lab.run("sim", "drift", "b", "cpu=8")


def delete_out_of_band(lab: Lab) -> None:
    lab.run("sim", "delete", "a")


CASES = {
    # what changed: (how, the plan it must produce, changes applied, resources taken from the index unrendered
    # and undiffed in that run: those whose input files and observation are as indexed)
    "resource-file": (change_resource_file, {"a": "noop", "b": "update"}, 1, 1),
    "template": (change_template, {"a": "update", "b": "noop"}, 1, 1),
    "parent-pool": (change_parent_pool, {"a": "replace", "b": "replace"}, 2, 0),
    "drift": (drift_out_of_band, {"a": "noop", "b": "update"}, 1, 1),
    "provider-delete": (delete_out_of_band, {"a": "create", "b": "noop"}, 1, 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_change_after_fast_runs_is_planned_and_applied(tmp_path: Path, database_url: str, case: str) -> None:
    lab = converged_lab(tmp_path, database_url)
    how, expected, applied, reused = CASES[case]
    how(lab)
    assert lab.plan() == expected
    run = lab.apply()
    assert not fast(run)
    assert run["counts"]["applied"] == applied and run["status"] == "ok", run
    assert run["skipped_by_index"] == reused, run
    assert lab.plan() == {"a": "noop", "b": "noop"}
    after = lab.apply()  # renders and diffs only what the change touched; finding all converged, it says so
    assert not fast(after) and after["skipped_by_index"] == 2 - applied, after
    again = lab.apply()
    assert fast(again) and again["skipped_by_index"] == 2


def test_homeport_yaml_change_is_seen(tmp_path: Path, database_url: str) -> None:
    lab = converged_lab(tmp_path, database_url)
    commit(lab.path, {"homeport.yaml": LAB.format(enabled="false")}, "provider off")
    assert lab.plan() == {"a": "noop/blocked", "b": "noop/blocked"}
    run = lab.apply()
    assert not fast(run) and run["counts"]["applied"] == 0
    commit(lab.path, {"homeport.yaml": LAB.format(enabled="true")}, "provider on")
    assert not fast(lab.apply())  # full again: a run whose provider was off never writes the index
    assert fast(lab.apply())


def test_full_flag_and_other_writers_force_a_full_run(tmp_path: Path, database_url: str) -> None:
    lab = converged_lab(tmp_path, database_url)
    assert not fast(lab.apply("--full"))
    assert fast(lab.apply())  # a full run that finds the lab converged writes the index again
    db = open_database(database_url)
    try:
        with db.session() as s:  # another writer changes an instance record
            s.execute(update(DeploymentInstanceRow).where(DeploymentInstanceRow.name == "b").values(status="failed"))
        run = lab.apply()
        assert not fast(run) and run["counts"]["noop"] == 2
        assert fast(lab.apply())
        add_unmanaged(DbProviderState(db, "fast", "lab"), "stranger", "n1", {"cpu": 1})  # a machine appears
    finally:
        db.dispose()
    plan = json.loads(lab.run("plan", "--output", "json"))
    assert any("stranger" in u for u in plan["unmanaged"]), plan["unmanaged"]
    assert not fast(lab.apply())
    again = lab.apply()
    assert fast(again)
    plan = json.loads(lab.run("plan", "--output", "json"))  # answered from the index, with what it listed
    assert any("stranger" in u for u in plan["unmanaged"]), plan["unmanaged"]


def test_plan_from_the_index_equals_the_full_plan(tmp_path: Path, database_url: str) -> None:
    """The example lab (resources of disabled providers included): once applied and found converged, `homeport plan`
    answers from the index with the same plan as `--full` computes, but for the desired fields it leaves out."""
    lab = Lab(tmp_path / "example", database_url)
    subprocess.run([sys.executable, "-c", WRAPPER, "init", str(lab.path)], env=lab.env, check=True,
                   capture_output=True)
    assert lab.apply()["counts"]["applied"] > 0
    assert not fast(lab.apply())
    assert "planned from the no-op index" in lab.run("plan")
    plans = [json.loads(lab.run("plan", "--output", "json", *extra)) for extra in ((), ("--full",))]
    for plan in plans:
        for change in plan["changes"]:
            change.pop("desired")
    assert plans[0] == plans[1]
    assert any(c["blocked"] for c in plans[0]["changes"])  # the disabled providers' resources, as the full plan
    assert "planned from the no-op index" not in lab.run("plan", "--full")


LAB_CHART = {
    "charts/mine/Chart.yaml": "name: mine\nversion: 1.0.0\nprovider_types: [sim]\n"
    "outputs: [{file: out.txt, format: text}]\n",
    "charts/mine/templates/out.txt.j2": "machine {{ resource.name }}\n",
    "templates/small.yaml": TEMPLATE.format(cpu=1) + "  infrastructure: {chart: mine}\n",
}


def test_a_lab_chart_change_renders_and_diffs_every_resource_again(tmp_path: Path, database_url: str) -> None:
    """The lab's charts/ tree is an input of every resource: an edit re-renders them all, and a chart that no longer
    renders is refused by plan and apply even though no resource file changed."""
    lab = converged_lab(tmp_path, database_url, LAB_CHART)
    commit(lab.path, {"charts/mine/templates/out.txt.j2": "host {{ resource.name }}\n"}, "chart wording")
    run = lab.apply()
    assert not fast(run) and run["skipped_by_index"] == 0 and run["counts"]["noop"] == 2, run
    assert fast(lab.apply())
    commit(lab.path, {"charts/mine/templates/out.txt.j2": "{{ cycler.__init__.__globals__.os.popen('id').read() }}\n"},
           "a chart that escapes")
    for command in (["plan"], ["apply", "--auto-approve"]):
        done = subprocess.run([sys.executable, "-c", WRAPPER, *command, "--lab", str(lab.path)], env=lab.env,
                              capture_output=True, text=True, timeout=300, check=False)
        out = done.stdout + done.stderr
        assert done.returncode != 0 and "chart mine" in out and "sandbox" in out and "Traceback" not in out, out


def _tree_of(path: Path, rev: str) -> str:
    out = subprocess.run(["git", "-C", str(path), "rev-parse", f"{rev}^{{tree}}"], check=True, env=GIT_ENV,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_a_merge_landing_during_a_run_is_never_indexed_by_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proposal merged into main while a daemon cycle runs: the run indexes the tree it planned (never main's new
    one), and the next run plans the merged change."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    lab = converged_lab(tmp_path, url)
    change_resource_file(lab)  # b grows: the commit the run plans
    planned = subprocess.run(["git", "-C", str(lab.path), "rev-parse", "HEAD"], check=True, env=GIT_ENV,
                             capture_output=True, text=True).stdout.strip()

    def merge_lands(plan: Plan) -> bool:  # asked between plan and apply: the merge lands now
        assert {c.resource: c.op.value for c in plan.changes} == {"a": "noop", "b": "update"}
        change_template(lab)
        return True

    session = LabSession.open(lab.path, database_url=url, actor="daemon", actor_kind="daemon")
    try:
        result = run_phase.reconcile(session, mode=Mode.auto, trigger="interval", approve=merge_lands)
        assert result.status == "ok" and result.revision == planned, result
        index = read_lab_index(session.db, "fast")
        assert index is not None and index.revision == planned and index.tree_id == _tree_of(lab.path, planned)
        assert index.tree_id != _tree_of(lab.path, "HEAD")
    finally:
        session.close()
    assert lab.plan() == {"a": "update", "b": "noop"}  # the merged template change is planned, not hidden
    run = lab.apply()
    assert run["counts"]["applied"] == 1 and run["status"] == "ok", run

    # A merge landing between the index check and the load: the run plans the new commit in full (the index it
    # checked was for another commit) and indexes that commit.
    commit(lab.path, {"resources/b.yaml": resource("b", memory_gb=4)}, "b grows again")
    real_check = run_phase.fast_check

    def check_then_merge(session: LabSession, lab_name: str) -> FastCheck:
        fast_result = real_check(session, lab_name)
        commit(lab.path, {"templates/small.yaml": TEMPLATE.format(cpu=3)}, "small gets 3 cpus")
        return fast_result

    monkeypatch.setattr(run_phase, "fast_check", check_then_merge)
    session = LabSession.open(lab.path, database_url=url, actor="daemon", actor_kind="daemon")
    try:
        result = run_phase.reconcile(session, mode=Mode.auto, trigger="interval")
        head = subprocess.run(["git", "-C", str(lab.path), "rev-parse", "HEAD"], check=True, env=GIT_ENV,
                              capture_output=True, text=True).stdout.strip()
        assert result.status == "ok" and result.revision == head, result
        assert result.skipped_by_index == 0  # the index was checked against the commit before the merge
        assert result.plan is not None
        assert {c.resource: c.op.value for c in result.plan.changes} == {"a": "update", "b": "update"}
        index = read_lab_index(session.db, "fast")
        assert index is not None and index.revision == head and index.tree_id == _tree_of(lab.path, head)
    finally:
        session.close()
    monkeypatch.undo()
    assert lab.plan() == {"a": "noop", "b": "noop"}

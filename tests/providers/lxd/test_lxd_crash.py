"""kill -9 and the LXD provider: a `homeport apply` killed while LXD is creating the instance, then applied
again, leaves exactly one instance; and the daemon killed at every intent boundary converges without a duplicate.

LXD itself refuses a second instance of a name, so a duplicate would show as a failed run (a create
refused) rather than two instances: both are checked. The instance carries its user.homeport.* keys from
the create request on, so the next run finds it, owns it and converges it (start) instead of creating.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.backends.lxd import BUSYBOX, DEBIAN, LxdDaemon
from tests.daemon.labrepo import LabRepo
from tests.daemon.test_crash import converge_with_crashes, ok_changes, run_daemon

HOMEPORT = str(Path(sys.executable).parent / "homeport")


def lab_files(lxd: LxdDaemon, image: str, names: list[str]) -> dict[str, bytes | None]:
    """A lab with the test daemon as provider `lxd` and one container per name (no NIC, no configure)."""
    lab = f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    lxd: {{type: lxd, endpoint: "{lxd.endpoint}", nodes: [lxd1], options: {{operation_timeout: 2m}}}}
  reconcile: {{auto_apply: true, self_heal: false, prune: false, max_auto_risk: high}}
"""
    pool = f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: lxd}}
spec:
  path: /infrastructure/lxd
  provider: lxd
  nodes: [lxd1]
  properties: {{image: {image}, image_server: null, network: null, nesting: false}}
"""
    files: dict[str, bytes | None] = {"homeport.yaml": lab.encode(), "pools/lxd.yaml": pool.encode()}
    for name in names:
        files[f"resources/{name}.yaml"] = (
            f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: {name}}}\nspec:\n"
            "  resource_type: container\n  pool: /infrastructure/lxd\n"
            "  requirements: {cpu: 1, memory_gb: 0.25, storage_gb: 2}\n"
        ).encode()
    return files


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_apply_killed_during_create_then_applied_again_makes_one_instance(lxd: LxdDaemon, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(lab_files(lxd, DEBIAN, ["web"]), "one container")
    env = {**os.environ, "HOMEPORT_DATABASE_URL": db_url}
    command = [HOMEPORT, "apply", "--lab", str(repo.path), "--auto-approve", "-o", "json"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    listed = ""
    while time.monotonic() < deadline and proc.poll() is None:
        listed = lxd.lxc("list", "web", "-c", "ns", "--format", "csv").stdout.strip()
        if listed:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"apply finished before it could be killed: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    # LXD was still creating the instance (unpacking the Debian image) when the client died.
    assert listed.startswith("web,") and listed != "web,RUNNING", listed

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert lxd.names() == ["web"]
    assert lxd.lxc("list", "web", "-c", "s", "--format", "csv").stdout.strip() == "RUNNING"
    assert lxd.config("web", "user.homeport.lab") == "home"
    final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0 and lxd.names() == ["web"]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_daemon_killed_at_every_intent_boundary_converges_without_duplicates(lxd: LxdDaemon, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    repo = LabRepo(tmp_path / "lab", bare=False)
    repo.commit(lab_files(lxd, BUSYBOX, ["c-0", "c-1"]), "two containers")

    def one_each() -> None:
        names = lxd.names()
        assert len(names) == len(set(names)) and set(names) <= {"c-0", "c-1"}, names

    _, _, hit = converge_with_crashes(repo.path, db_url, 0, one_each)
    assert hit == {"intent-written", "provider-applied", "intent-finished"}
    assert lxd.names() == ["c-0", "c-1"]
    assert ok_changes(db_url) == Counter({("c-0", "create"): 1, ("c-1", "create"): 1})
    assert run_daemon(repo.path, db_url, None) == 0
    assert lxd.names() == ["c-0", "c-1"]

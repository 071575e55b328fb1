"""The whole loop through the `homeport` CLI against the ARM test server.

Each command runs as its own process, as a person or the daemon would run it; the lab is a Git
repository in tmp_path whose azure provider points at the test's ARM server (on 127.0.0.1, no
token). The server checks every request body against the Azure SDKs' own models.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

from tests.backends.arm import RESOURCE_GROUP, SUBSCRIPTION, ArmServer
from tests.backends.homeport_cli import actionable, homeport, run_json
from tests.daemon.labrepo import LabRepo
from tests.providers.azure.conftest import SSH_KEY

# Each CLI process imports the Azure SDKs (~5 s on a loaded 2-core machine); the longest test runs 14 of them.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

DRIVER = Path(__file__).with_name("crash_driver.py")

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    cloud:
      type: azure
      endpoint: "{endpoint}"
      region: eastus{executor}
      options:
        subscription_id: {subscription}
        resource_group: {group}
        credential: none
        poll_seconds: 0
        retry_total: 0
        ssh_public_key: "{key}"
  reconcile: {{auto_apply: true, prune: true, self_heal: {self_heal}, max_auto_risk: high, max_prune_fraction: 1.0}}
"""
POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: azure}}
spec:
  path: /cloud/azure
  provider: cloud
  properties: {{vnet_subnet_id: "{subnet}"}}
"""


def resource(name: str, cpu: int = 2, memory_gb: int = 4) -> str:
    """A VM resource with a 40 GiB OS disk, one data disk and one port."""
    return (
        f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: {name}, labels: {{app: {name}}}}}\n"
        f"spec:\n  pool: /cloud/azure\n  requirements: {{cpu: {cpu}, memory_gb: {memory_gb}, storage_gb: 40,"
        " disks: [{name: data, size: 16}]}\n  service: {ports: [{name: http, port: 80}]}\n"
    )


def lab_yaml(server: ArmServer, *, self_heal: bool = True, executor: str | None = None) -> str:
    """homeport.yaml with one azure provider on the test server."""
    return LAB.format(endpoint=server.base_url, subscription=SUBSCRIPTION, group=RESOURCE_GROUP, key=SSH_KEY,
                      self_heal=str(self_heal).lower(),
                      executor=f"\n      executor: {executor}" if executor else "")


def make_lab(path: Path, server: ArmServer, *, self_heal: bool = True, executor: str | None = None) -> LabRepo:
    """A lab repository with two azure resources, `web` and `keep`, committed on main."""
    repo = LabRepo(path, bare=False)
    repo.commit({
        "homeport.yaml": lab_yaml(server, self_heal=self_heal, executor=executor).encode(),
        "pools/azure.yaml": POOL.format(subnet=server.subnet_id).encode(),
        "resources/web.yaml": resource("web").encode(),
        "resources/keep.yaml": resource("keep", cpu=1, memory_gb=2).encode(),
    }, "lab with two Azure VMs")
    return repo


def writes(server: ArmServer, start: int, vm: str) -> list[str]:
    """The writes (PUT/PATCH/POST/DELETE) the server answered for one VM since start, as 'METHOD last-segment'."""
    out = []
    for call in server.calls_since(start):
        if call.method == "GET" or f"/virtualmachines/{vm}" not in call.path.lower():
            continue
        out.append(f"{call.method} {call.path.rsplit('/', 1)[-1]}")
    return out


def test_create_noop_resize_drift_self_heal_and_delete(tmp_path: Path, arm_server: ArmServer) -> None:
    server = arm_server
    repo = make_lab(tmp_path / "lab", server, self_heal=False)
    lab = tmp_path / "lab"
    plan = run_json(lab, "plan")
    assert sorted((c["op"], c["resource"]) for c in actionable(plan)) == [("create", "keep"), ("create", "web")]
    assert server.vms() == {}, "plan never changes anything"

    applied = run_json(lab, "apply", "--auto-approve")
    assert applied["status"] == "ok", applied
    vms = server.vms()
    assert sorted(vms) == ["keep", "web"]
    web = vms["web"]
    assert web["properties"]["hardwareProfile"]["vmSize"] == "Standard_B2s"
    assert web["tags"] == {"app": "web", "homeport.managed-by": "homeport", "homeport.lab": "home",
                           "homeport.resource": "web"}
    assert web["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] == 40
    assert [d["diskSizeGB"] for d in web["properties"]["storageProfile"]["dataDisks"]] == [16]
    nsg = server.of_type("Microsoft.Network/networkSecurityGroups")["web-nsg"]
    assert [r["properties"]["destinationPortRange"] for r in nsg["properties"]["securityRules"]] == ["80"]

    start = len(server.state.calls)
    again = run_json(lab, "plan")
    assert actionable(again) == []
    assert all(c["reason"].startswith("virtual-machine /subscriptions/") for c in again["changes"]), again
    assert not [c for c in server.calls_since(start) if c.method != "GET"], "a no-op plan only reads"

    # Someone resizes `web` by hand.
    server.out_of_band_resize("web", "Standard_B2ms")
    drift = run_json(lab, "plan")
    [change] = actionable(drift)
    assert change["resource"] == "web" and change["op"] == "update" and change["drift"] is True
    assert [(f["path"], f["old"], f["new"]) for f in change["fields"]] == [("vm_size", "Standard_B2ms",
                                                                            "Standard_B2s")]
    assert change["reason"].endswith("; restarts it to change vm_size") and change["risk"] == "medium", change

    # The daemon with self-heal off records the deviation and leaves the VM alone.
    first = homeport(lab, "daemon", "--once", "--port", "0")
    assert first.returncode in (0, 2), first.stderr
    [deviation] = run_json(lab, "status")["deviations"]
    assert (deviation["resource"], deviation["field"]) == ("web", "vm_size")
    assert server.vms()["web"]["properties"]["hardwareProfile"]["vmSize"] == "Standard_B2ms"

    # Self-heal on: the next cycle deallocates, resizes, then starts the VM, in that order.
    repo.commit({"homeport.yaml": lab_yaml(server, self_heal=True).encode()}, "self-heal on")
    start = len(server.state.calls)
    healed = homeport(lab, "daemon", "--once", "--port", "0")
    assert healed.returncode == 0, healed.stderr + healed.stdout
    assert writes(server, start, "web") == ["POST deallocate", "PATCH web", "POST start"]
    assert server.vms()["web"]["properties"]["hardwareProfile"]["vmSize"] == "Standard_B2s"
    assert server.power("web") == "running"
    assert actionable(run_json(lab, "plan")) == []
    assert run_json(lab, "status")["deviations"] == []

    # Removing `web` from Git prunes it and everything homeport made for it.
    repo.commit({"resources/web.yaml": None}, "remove web")
    pruned = run_json(lab, "apply", "--auto-approve")
    assert pruned["status"] == "ok", pruned
    assert [(o["op"], o["resource"]) for o in pruned["outcomes"]] == [("delete", "web")]
    assert sorted(server.vms()) == ["keep"]
    leftovers = [r["name"] for r in server.state.resources.values() if r["name"].startswith("web")]
    assert leftovers == [], leftovers
    assert actionable(run_json(lab, "plan")) == []


def test_throttling_and_a_failed_operation_are_recorded_and_retried(tmp_path: Path, arm_server: ArmServer) -> None:
    server = arm_server
    make_lab(tmp_path / "lab", server)
    lab = tmp_path / "lab"
    # The first VM PUT is throttled (429, Retry-After: 1); the NSG's first operation ends Failed.
    server.throttle("PUT", r"/virtualMachines/web$", times=1, retry_after=1)
    server.fail_operation("PUT", r"/networkSecurityGroups/keep-nsg$")
    applied = run_json(lab, "apply", "--auto-approve")
    assert applied["status"] == "ok", applied
    outcomes = {o["resource"]: o for o in applied["outcomes"]}
    assert outcomes["web"]["attempts"] == 2 and outcomes["keep"]["attempts"] == 2, outcomes
    throttled = [c for c in server.state.calls if c.status == 429]
    assert len(throttled) == 1 and throttled[0].path.endswith("/virtualMachines/web")
    failed = [op for op in server.state.operations.values() if op.error]
    assert [(op.kind, op.error["code"] if op.error else "") for op in failed] == [("put", "InternalExecutionError")]
    assert sorted(server.vms()) == ["keep", "web"]
    assert actionable(run_json(lab, "plan")) == []


def test_kill_minus_9_right_after_the_create_call_leaves_one_vm(tmp_path: Path, arm_server: ArmServer) -> None:
    server = arm_server
    make_lab(tmp_path / "lab", server)
    lab = tmp_path / "lab"
    crashed = homeport(lab, "apply", "--auto-approve", command=[sys.executable, str(DRIVER)],
                       env={"HOMEPORT_TEST_KILL_AFTER": "PUT /virtualMachines/keep"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert "keep" in server.vms()

    rerun = run_json(lab, "apply", "--auto-approve")
    assert rerun["status"] == "ok", rerun
    puts = [c for c in server.state.calls if c.method == "PUT" and c.path.endswith("/virtualMachines/keep")]
    assert sorted(server.vms()) == ["keep", "web"]
    assert len([v for v in server.vms() if v == "keep"]) == 1 and len(puts) == 1, puts
    assert actionable(run_json(lab, "plan")) == []


def test_kill_minus_9_after_the_provider_applied_then_apply(tmp_path: Path, arm_server: ArmServer) -> None:
    server = arm_server
    make_lab(tmp_path / "lab", server)
    lab = tmp_path / "lab"
    crashed = homeport(lab, "apply", "--auto-approve", env={"HOMEPORT_CRASH_AT": "provider-applied:1"})
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    assert len(server.vms()) == 1
    rerun = run_json(lab, "apply", "--auto-approve")
    assert rerun["status"] == "ok", rerun
    assert sorted(server.vms()) == ["keep", "web"]
    puts = [c for c in server.state.calls if c.method == "PUT" and "/virtualMachines/" in c.path]
    assert len(puts) == 2, [c.path for c in puts]


def test_arm_executor_what_if_preview_then_deploy(tmp_path: Path, arm_server: ArmServer) -> None:
    server = arm_server
    make_lab(tmp_path / "lab", server, executor="arm")
    lab = tmp_path / "lab"
    previewed = {c["resource"]: c for c in run_json(lab, "plan", "--provider-preview")["changes"]}
    preview = previewed["web"]["preview"]
    assert preview["kind"] == "arm-what-if" and preview["deployment"] == "homeport-web"
    assert "Create Microsoft.Compute/virtualMachines web" in preview["lines"], preview["lines"]
    assert server.vms() == {}, "what-if never deploys"
    assert run_json(lab, "plan")["changes"][0]["preview"] is None  # opt-in only

    applied = run_json(lab, "apply", "--auto-approve")
    assert applied["status"] == "ok", applied
    assert sorted(server.vms()) == ["keep", "web"]
    deployments = sorted(d["name"] for d in server.state.deployments.values())
    assert deployments == ["homeport-keep", "homeport-web"]
    assert actionable(run_json(lab, "plan")) == []

"""The whole loop on moto through the `homeport` CLI: plan, apply, no-op, drift, self-heal, crash.

Each command runs as its own process, as a person or the daemon would run it; the lab is a Git
repository in tmp_path whose aws provider points at the test's moto server.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.backends.homeport_cli import actionable, homeport, run_json
from tests.backends.moto import ACCESS_KEY_ENV, FAKE_ACCESS_KEY, FAKE_SECRET_KEY, SECRET_KEY_ENV
from tests.daemon.labrepo import LabRepo
from tests.providers.aws.test_api_executor import live_instances

DRIVER = Path(__file__).with_name("crash_driver.py")

LAB = """\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    cloud:
      type: aws
      region: us-east-1
      credentials: {{access_key_env: {access}, secret_key_env: {secret}}}
      endpoint: "{endpoint}"
      options: {{poll_seconds: 0}}{executor}
  reconcile: {{auto_apply: true, prune: true, self_heal: {self_heal}, max_auto_risk: high, max_prune_fraction: 1.0}}
"""
POOL = """\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: aws}}
spec:
  path: /cloud/aws
  provider: cloud
  properties: {{ami: {ami}, root_device_name: {root}}}
"""


def resource(name: str, ports: bool = True) -> str:
    """A 2 vCPU / 4 GiB EC2 resource with a 10 GiB root disk and (by default) one port."""
    return (
        f"apiVersion: homelab.ai/v1\nkind: UniversalResource\nmetadata: {{name: {name}, labels: {{app: {name}}}}}\n"
        "spec:\n  pool: /cloud/aws\n  requirements: {cpu: 2, memory_gb: 4, storage_gb: 10}\n"
        + ("  service: {ports: [{name: http, port: 80}]}\n" if ports else "")
    )


def lab_yaml(endpoint: str, *, self_heal: bool = True, executor: str | None = None) -> str:
    """homeport.yaml with one aws provider on moto."""
    return LAB.format(
        access=ACCESS_KEY_ENV,
        secret=SECRET_KEY_ENV,
        endpoint=endpoint,
        self_heal=str(self_heal).lower(),
        executor=f"\n      executor: {executor}" if executor else "",
    )


def make_lab(
    path: Path,
    endpoint: str,
    ec2: Any,
    ami: str,
    *,
    executor: str | None = None,
    ports: bool = True,
    self_heal: bool = True,
) -> LabRepo:
    """A lab repository with one aws resource, `web`, committed on main."""
    root = ec2.describe_images(ImageIds=[ami])["Images"][0]["RootDeviceName"]
    repo = LabRepo(path, bare=False)
    repo.commit(
        {
            "homeport.yaml": lab_yaml(endpoint, self_heal=self_heal, executor=executor).encode(),
            "pools/aws.yaml": POOL.format(ami=ami, root=root).encode(),
            "resources/web.yaml": resource("web", ports=ports).encode(),
        },
        "lab with one EC2 resource",
    )
    return repo


@pytest.fixture
def lab(tmp_path: Path, moto_endpoint: str, ec2: Any, ami: str) -> Path:
    """A lab repository with one aws resource, `web` (api executor)."""
    make_lab(tmp_path / "lab", moto_endpoint, ec2, ami)
    return tmp_path / "lab"


def daemon_once(lab: Path) -> subprocess.CompletedProcess[str]:
    """One cycle of the daemon (auto mode: policy, self-heal) with its HTTP endpoint off."""
    return homeport(lab, "daemon", "--once", "--port", "0")


def test_plan_apply_noop_drift_and_self_heal(tmp_path: Path, moto_endpoint: str, ec2: Any, ami: str) -> None:
    repo = make_lab(tmp_path / "lab", moto_endpoint, ec2, ami, self_heal=False)
    lab = tmp_path / "lab"
    plan = run_json(lab, "plan")
    assert [(c["op"], c["resource"]) for c in actionable(plan)] == [("create", "web")]
    assert live_instances(ec2) == [], "plan never changes anything"

    applied = run_json(lab, "apply", "--auto-approve")
    assert applied["status"] == "ok", applied
    [instance] = live_instances(ec2)
    assert instance["InstanceType"] == "t3.medium"

    again = run_json(lab, "plan")
    assert actionable(again) == []
    [noop] = again["changes"]
    assert noop["op"] == "noop" and noop["reason"]
    assert homeport(lab, "plan", "--detailed-exitcode").returncode == 0

    # Someone resizes the instance by hand (the AWS way: stop, modify, start).
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    ec2.modify_instance_attribute(InstanceId=instance["InstanceId"], InstanceType={"Value": "t3.large"})
    ec2.start_instances(InstanceIds=[instance["InstanceId"]])

    drift = run_json(lab, "plan")
    [change] = actionable(drift)
    assert change["op"] == "update" and change["drift"] is True
    assert [(f["path"], f["old"], f["new"]) for f in change["fields"]] == [("instance_type", "t3.large", "t3.medium")]
    assert change["reason"].endswith("; restarts it to change instance_type"), change["reason"]

    # The daemon with self-heal off records the deviation and leaves the instance alone.
    first = daemon_once(lab)
    assert first.returncode in (0, 2), first.stderr
    [deviation] = run_json(lab, "status")["deviations"]
    assert (deviation["resource"], deviation["field"]) == ("web", "instance_type")
    assert live_instances(ec2)[0]["InstanceType"] == "t3.large"

    # Self-heal turned on: the next daemon cycle puts the instance back (stop, modify, start).
    repo.commit({"homeport.yaml": lab_yaml(moto_endpoint, self_heal=True).encode()}, "self-heal on")
    healed = daemon_once(lab)
    assert healed.returncode == 0, healed.stderr + healed.stdout
    [after] = live_instances(ec2)
    assert after["InstanceId"] == instance["InstanceId"] and after["InstanceType"] == "t3.medium"
    assert after["State"]["Name"] == "running"
    assert actionable(run_json(lab, "plan")) == []
    assert run_json(lab, "status")["deviations"] == []
    assert_no_credentials(lab, [homeport(lab, "history", "-o", "json"), homeport(lab, "audit", "list", "-o", "json")])


def assert_no_credentials(lab: Path, outputs: list[subprocess.CompletedProcess[str]]) -> None:
    """Neither the fake key id nor the secret is in the database, rendered files or command output."""
    for path in [p for p in (lab / ".homeport").rglob("*") if p.is_file()] + list(
        (lab / "rendered-configs").rglob("*")
    ):
        if path.is_file():
            data = path.read_bytes()
            assert FAKE_ACCESS_KEY.encode() not in data and FAKE_SECRET_KEY.encode() not in data, path
    for done in outputs:
        assert done.returncode == 0, done.stderr
        for text in (done.stdout, done.stderr):
            assert FAKE_ACCESS_KEY not in text and FAKE_SECRET_KEY not in text


def test_a_crash_right_after_run_instances_makes_no_second_instance(lab: Path, ec2: Any) -> None:
    crashed = homeport(lab, "apply", "--auto-approve", command=[sys.executable, str(DRIVER)])
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    [launched] = live_instances(ec2)

    rerun = run_json(lab, "apply", "--auto-approve")
    assert rerun["status"] == "ok", rerun
    assert [i["InstanceId"] for i in live_instances(ec2)] == [launched["InstanceId"]]
    assert actionable(run_json(lab, "plan")) == []


def test_cloudformation_executor_end_to_end_create_noop_and_prune(
    tmp_path: Path, moto_endpoint: str, ec2: Any, ami: str
) -> None:
    # No ports: moto drops SecurityGroupIds on stack-made instances, which would read as drift here.
    repo = make_lab(tmp_path / "lab", moto_endpoint, ec2, ami, executor="cloudformation", ports=False)
    lab = tmp_path / "lab"
    # A second resource, so removing `web` is a prune and not "the desired state declares nothing".
    repo.commit({"resources/keep.yaml": resource("keep", ports=False).encode()}, "add keep")
    # The plan can show CloudFormation's own change set for each stack (created, never executed)...
    previewed = {c["resource"]: c for c in run_json(lab, "plan", "--provider-preview")["changes"]}
    preview = previewed["web"]["preview"]
    assert preview["kind"] == "cloudformation-change-set" and preview["stack"] == "homeport-home-web"
    assert any("AWS::EC2::Instance" in line and line.startswith("Add") for line in preview["lines"]), preview
    assert live_instances(ec2) == [], "a preview never executes the change set"
    plain = {c["resource"]: c for c in run_json(lab, "plan")["changes"]}
    assert plain["web"]["preview"] is None  # opt-in only
    # ...and applying reuses it.
    applied = run_json(lab, "apply", "--auto-approve")
    assert applied["status"] == "ok", applied
    outcomes = {o["resource"]: o for o in applied["outcomes"]}
    assert outcomes["web"]["op"] == "create" and "created stack homeport-home-web" in outcomes["web"]["message"]
    assert len(live_instances(ec2)) == 2
    [instance] = [i for i in live_instances(ec2) if {"Key": "homeport.resource", "Value": "web"} in i["Tags"]]
    cfn = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        endpoint_url=moto_endpoint,
        aws_access_key_id=FAKE_ACCESS_KEY,
        aws_secret_access_key=FAKE_SECRET_KEY,
    )
    stack_resources = cfn.describe_stack_resources(StackName="homeport-home-web")["StackResources"]
    assert instance["InstanceId"] in {r.get("PhysicalResourceId") for r in stack_resources}
    assert actionable(run_json(lab, "plan")) == []

    repo.commit({"resources/web.yaml": None}, "remove web")
    pruned = run_json(lab, "apply", "--auto-approve")
    assert pruned["status"] == "ok", pruned
    assert [(o["op"], o["resource"]) for o in pruned["outcomes"]] == [("delete", "web")]
    assert [i["InstanceId"] for i in live_instances(ec2)] != [instance["InstanceId"]]
    assert len(live_instances(ec2)) == 1
    assert actionable(run_json(lab, "plan")) == []

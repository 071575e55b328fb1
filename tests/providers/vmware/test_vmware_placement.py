"""Placement on vcsim as a vSphere admin expects: 2-core hosts already running VMs take more vCPUs than they have
cores (within cpu_allocation_ratio 4.0, never refused for current MHz use), spread over the hosts; a VM with more
vCPUs than any host has cores is held back naming the limit, and `apply` says so with exit code 4."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from reconciler.source.scaffold import create_lab
from tests.backends.homeport_cli import cli_status
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import PASSWORD_ENV
from tests.providers.vmware.resources import one_vm

HOSTS = {"DC0_C0_H0", "DC0_C0_H1", "DC0_C0_H2"}


def write_lab(source: Path, server: VcsimServer, resources: dict[str, int]) -> None:
    (source / "pools").mkdir(parents=True, exist_ok=True)
    (source / "resources").mkdir(exist_ok=True)
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    vsphere:
      type: vmware
      endpoint: "{server.endpoint}"
      ca_file: "{server.ca_file}"
      credentials: {{password_env: {PASSWORD_ENV}, username: {server.username}}}
      options: {{task_timeout: 60}}
  reconcile: {{auto_apply: true, prune: false}}
""")
    (source / "pools" / "vsphere.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {{name: vsphere}}
spec:
  path: /infrastructure/vsphere
  provider: vsphere
  nodes: [{", ".join(sorted(HOSTS))}]
  properties: {{datacenter: DC0, datastore: LocalDS_0, network: VM Network}}
""")
    for name, cpu in resources.items():
        (source / "resources" / f"{name}.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {{name: {name}}}
spec:
  pool: /infrastructure/vsphere
  requirements: {{cpu: {cpu}, memory_gb: 0.25, storage_gb: 1}}
""")


def test_vcpus_overcommitted_within_the_ratio_and_a_too_big_vm_held_back(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vsphere: Any
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, vcsim.password)
    source, lab = tmp_path / "source", tmp_path / "lab"
    wanted = {f"vm{i}": 2 for i in range(5)} | {"big": 4}
    write_lab(source, vcsim, wanted)
    create_lab(lab, example=source)

    code, plan = cli_status("plan", "--lab", str(lab))
    assert code == 0, plan
    creates = {c["resource"]: c for c in plan["changes"] if c["op"] == "create"}
    placed = {n: c for n, c in creates.items() if not c["blocked"]}
    assert set(placed) == {f"vm{i}" for i in range(5)}, [c["blocked"] for c in creates.values()]
    # 10 vCPUs on three 2-core hosts (vcsim's own VMs run there too): more than the cores, within 2 x 4.0 each
    per_host = Counter(c["node"] for c in placed.values())
    assert set(per_host) <= HOSTS and len(per_host) >= 2, per_host
    for change in placed.values():
        [picked, *_] = change["placement"]["nodes"]
        assert picked["node"] == change["node"] and picked["cpu_allocatable"] == 8.0
        assert picked["cpu_allocated"] + 2 <= 8.0
    big = creates["big"]
    assert big["placement"]["source"] == "refused"
    assert {v["node"]: v["limit"] for v in big["placement"]["nodes"]} == dict.fromkeys(HOSTS, "cpu")
    assert "the guest asks 4 vCPUs, more than the node's 2 cores" in big["blocked"]

    code, run = cli_status("apply", "--lab", str(lab), "--auto-approve")
    assert (code, run["status"], [h["resource"] for h in run["held_back"]]) == (4, "partial", ["big"]), run
    for name, change in placed.items():
        assert one_vm(vsphere, name).runtime.host.name == change["node"]

"""Features the example lab does not exercise (GPUs, extra disks, secrets, static addresses, VMs on LXD,
clones on vSphere, stateful Kubernetes workloads) rendered through every chart and checked by its validator."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.models.desired import DesiredState
from reconciler.models.effective import EffectiveResource
from reconciler.models.resource import Disk, HealthCheck, Port, Volume
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.validators import blocking, validate_rendered


def richer(state: DesiredState, example: str, **overrides: Any) -> EffectiveResource:
    """An example resource with two extra disks, a static address, secrets, a volume and a health check."""
    resource = state.effective[example].model_copy(deep=True)
    resource.requirements.disks = [Disk(name="data", size="200G"), Disk(name="scratch", size=32)]
    resource.network.ipv4 = "10.20.0.15/24"
    resource.network.gateway = "10.20.0.1"
    resource.network.dns = ["10.20.0.2"]
    resource.service.env = {"MODE": "matrix", "LOG_LEVEL": "debug"}
    resource.service.secret_env = {"DB_PASSWORD": "MATRIX_DB_PASSWORD"}
    if not resource.service.volumes:
        resource.service.volumes = [Volume(name="state", path="/var/lib/app", size_gb=20)]
    if not resource.service.ports:
        resource.service.ports = [Port(name="http", port=8080)]
    resource.service.healthcheck = resource.service.healthcheck or HealthCheck(http_path="/health", port=8080)
    resource.overrides = {**resource.overrides, **overrides}
    return resource


# (example resource, chart, gpu count, overrides, text the output must contain)
CASES: list[tuple[str, str, int, dict[str, Any], str]] = [
    ("jenkins", "proxmox-compute", 2, {"gpu_mapping": "rtx4090"}, 'mapping = "rtx4090"'),
    ("dns-cache", "proxmox-lxc", 0, {}, "mount_point"),
    ("nextcloud", "docker-compose", 1, {"pull_policy": "never", "shm_size": "1g"}, "capabilities"),
    ("webapp", "kubernetes-workload", 1, {"ingress_host": "app.home.lan", "storage_class": "longhorn"},
     "nvidia.com/gpu: 1"),
    ("burst-inference", "aws-ec2", 4, {"ssh_cidr": "10.0.0.0/8"}, "g4dn.12xlarge"),
    ("azure-web", "azure-vm", 1, {}, "NvidiaGpuDriverLinux"),
    ("legacy-app", "vsphere-vm", 0, {"clone_template": "debian-12-template"}, "ipv4_address"),
    ("media-lxc", "lxd-instance", 2, {"instance_type": "virtual-machine"}, "type: virtual-machine"),
    ("media-lxc", "lxd-instance", 1, {}, "nvidia.runtime"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("example", "chart", "gpus", "overrides", "expect"), CASES,
                         ids=[f"{c[1]}-{c[2]}gpu" for c in CASES])
def test_feature_render_passes_its_validator(example: str, chart: str, gpus: int, overrides: dict[str, Any],
                                             expect: str, example_state: DesiredState,
                                             library: ChartLibrary) -> None:
    resource = richer(example_state, example, **overrides)
    resource.requirements.gpu = gpus
    if chart == "kubernetes-workload":
        resource.stateful = True
    if chart == "aws-ec2":
        resource.requirements.cpu, resource.requirements.memory_gb = 16, 64.0
    files = render_chart(library.get(chart), resource).files
    assert any(expect in text for text in files.values()), f"{expect!r} not in {sorted(files)}"
    assert not any("MATRIX_DB_PASSWORD=" in text for text in files.values())
    issues = validate_rendered(files, library.get(chart))
    assert blocking(issues) == [], "\n".join(str(i) for i in issues)

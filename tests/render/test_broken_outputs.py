"""One deliberately broken output per validator: a validator that stops working fails the suite.

Each case starts from a real render of the example lab, breaks one thing, and expects an error
from the named tool (the unbroken render passing is covered by test_golden).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.models.desired import DesiredState
from reconciler.render.chart import ChartLibrary
from reconciler.render.engine import render_chart
from reconciler.render.validators import ValidationIssue, blocking, validate_rendered, validator_for
from reconciler.render.validators.terraform_cli import terraform_validate


def rendered(state: DesiredState, library: ChartLibrary, resource: str, chart: str, file: str) -> str:
    """One file of a real render."""
    return render_chart(library.get(chart), state.effective[resource]).files[file]


def errors_from(issues: list[ValidationIssue], tool: str) -> list[ValidationIssue]:
    """Blocking issues a given tool reported."""
    return [i for i in blocking(issues) if i.tool.startswith(tool)]


# (resource, chart, file, replace this, with that, tool expected to object, words in its message)
CASES = [
    ("ollama-server", "proxmox-compute", "main.tf", "dedicated =", "dedicate =", "terraform-schema", "dedicate"),
    ("dns-cache", "proxmox-lxc", "main.tf", "template_file_id", "template_file", "terraform-schema", "template_file"),
    ("jenkins", "proxmox-compute", "main.tf", "cores   = 4", "cores   = ", "python-hcl2", "syntax"),
    ("jenkins", "proxmox-compute", "playbook.yml", "gather_facts", "gather_fact", "ansible-playbook", "gather_fact"),
    ("jenkins", "proxmox-compute", "playbook.yml", "role: jenkins", "role: jenkns", "ansible-playbook", "jenkns"),
    ("jenkins", "proxmox-compute", "playbook.yml", "- name: \"Configure", "- name: \"configure", "ansible-lint",
     "uppercase"),
    ("webapp", "kubernetes-workload", "deployment.yaml", "replicas: 3", "replica: 3", "kubernetes-validate",
     "replica"),
    ("nextcloud", "docker-compose", "compose.yaml", "pull_policy:", "pul_policy:", "compose-spec", "pul_policy"),
    ("nextcloud", "docker-compose", ".env", "# Rendered", "not an assignment\n# Rendered", "dotenv", "assignment"),
    ("burst-inference", "aws-ec2", "template.yaml", "KeyName:", "KeyNam:", "cfn-lint", "KeyNam"),
    ("azure-web", "azure-vm", "azuredeploy.json", "\"hardwareProfile\"", "\"hardwarProfile\"", "arm-structure",
     "hardwarProfile"),
    ("azure-web", "azure-vm", "azuredeploy.json", "Standard_B2ms", "Standard_B2mz", "arm-structure", "Standard_B2mz"),
    ("media-lxc", "lxd-instance", "instance.yaml", "limits.memory", "limits.memroy", "lxd-config", "limits.memroy"),
    ("legacy-app", "vsphere-vm", "main.tf", "num_cpus", "num_cpu ", "terraform validate", "num_cpu"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("resource", "chart", "file", "old", "new", "tool", "words"), CASES,
                         ids=[f"{c[5]}:{c[3].strip()[:20]}" for c in CASES])
def test_validator_catches_broken_output(resource: str, chart: str, file: str, old: str, new: str, tool: str,
                                         words: str, example_state: DesiredState, library: ChartLibrary) -> None:
    text = rendered(example_state, library, resource, chart, file)
    assert old in text, f"the case no longer applies: {old!r} is not in {resource}/{chart}/{file}"
    issues = validate_rendered({file: text.replace(old, new, 1)}, library.get(chart))
    found = errors_from(issues, tool)
    assert found, f"{tool} did not object; issues: {[str(i) for i in issues]}"
    assert any(words in i.message for i in found), [str(i) for i in found]


def test_compose_config_itself_catches_what_the_schema_allows(example_state: DesiredState,
                                                             library: ChartLibrary) -> None:
    """docker-compose config resolves the project: a volume the file never declares is refused."""
    text = rendered(example_state, library, "nextcloud", "docker-compose", "compose.yaml")
    broken = text.replace("        source: nextcloud-data", "        source: undeclared-volume")
    issues = validator_for("compose")("compose.yaml", broken)  # type: ignore[misc]
    found = errors_from(issues, "docker-compose config")
    assert found and "undeclared-volume" in found[0].message, [str(i) for i in issues]


@pytest.mark.slow
def test_terraform_validate_uses_the_test_owned_mirror(tf_cli_config: Path, example_state: DesiredState,
                                                       library: ChartLibrary) -> None:
    """Real `terraform validate` with the provider from this session's mirror: good passes, typo fails."""
    text = rendered(example_state, library, "legacy-app", "vsphere-vm", "main.tf")
    assert terraform_validate({"main.tf": text}, cli_config=tf_cli_config) == []
    broken = terraform_validate({"main.tf": text.replace("guest_id", "guest_ids", 1)}, cli_config=tf_cli_config)
    assert [i.line for i in broken if "guest_ids" in i.message], [str(i) for i in broken]

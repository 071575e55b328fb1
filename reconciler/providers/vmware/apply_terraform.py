"""The optional `terraform` executor: applies the vsphere-vm chart's main.tf with a configured
`terraform` or `tofu` binary (a thin subprocess wrapper reading `-json` output).

Each resource gets its own working folder (and local state) under the provider's work_dir. The
vSphere credentials go to the child process as VSPHERE_* variables and the provider's ca_file as
SSL_CERT_FILE (the Go provider has no CA option); nothing is written into the user's home.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.providers.base import RenderedArtifacts
from reconciler.providers.errors import PermanentProviderError, TransientProviderError
from reconciler.providers.vmware.settings import VmwareSettings

VM_RESOURCE = re.compile(r'resource\s+"vsphere_virtual_machine"\s+"([A-Za-z_][A-Za-z0-9_-]*)"')
OVERRIDE_FILE = "homeport_override.tf"
TRANSIENT_HINTS = ("connection refused", "timeout", "i/o timeout", "no such host", "eof", "503", "502")


@dataclass
class TerraformOutcome:
    """What one terraform command did: exit code, error diagnostics, and the -json messages seen."""

    returncode: int
    errors: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """The change summary line Terraform printed, if any."""
        for message in reversed(self.messages):
            if message.get("type") == "change_summary":
                return str(message.get("@message", ""))
        return ""


def parse_json_lines(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Terraform's `-json` stream: every message, and the error diagnostics as text."""
    messages: list[dict[str, Any]] = []
    errors: list[str] = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            continue
        messages.append(message)
        diagnostic = message.get("diagnostic") or {}
        if message.get("type") == "diagnostic" and diagnostic.get("severity") == "error":
            text = str(diagnostic.get("summary", ""))
            if diagnostic.get("detail"):
                text += f": {diagnostic['detail']}"
            errors.append(text.strip())
    return messages, errors


def vm_address(main_tf: str) -> str:
    """The Terraform name of the chart's vsphere_virtual_machine resource."""
    match = VM_RESOURCE.search(main_tf)
    if match is None:
        raise PermanentProviderError(
            "the rendered main.tf has no vsphere_virtual_machine resource; render it with the vsphere-vm chart"
        )
    return match.group(1)


def override_for(main_tf: str, custom_attributes: dict[int, str]) -> str:
    """homeport's additions to the chart's VM, merged by Terraform's override-file rules.

    The ownership custom attributes (Terraform removes attributes its configuration does not
    list), and for an empty VM (no clone, so no guest OS) no 5-minute wait for an IP address.
    """
    lines = [
        "# Written by homeport's terraform executor; do not edit.",
        f'resource "vsphere_virtual_machine" "{vm_address(main_tf)}" {{',
    ]
    if custom_attributes:
        lines.append("  custom_attributes = {")
        lines += [
            f"    {json.dumps(str(key))} = {json.dumps(value)}" for key, value in sorted(custom_attributes.items())
        ]
        lines.append("  }")
    if not re.search(r"^\s*clone\s*\{", main_tf, re.MULTILINE):
        lines += ["  wait_for_guest_net_timeout = 0", "  wait_for_guest_ip_timeout  = 0"]
    lines.append("}")
    return "\n".join(lines) + "\n"


class TerraformExecutor:
    """Runs init/apply/destroy for one resource's folder with a configured binary."""

    def __init__(self, binary: str, settings: VmwareSettings, work_dir: Path, timeout: float) -> None:
        resolved = shutil.which(binary)
        if resolved is None:
            raise PermanentProviderError(
                f"terraform executor: {binary!r} is not an executable on PATH; set options.terraform_binary "
                "to a terraform or tofu binary, or drop executor: terraform"
            )
        self.binary = resolved
        self.settings = settings
        self.work_dir = work_dir
        self.timeout = timeout

    def folder(self, resource: str) -> Path:
        """The resource's Terraform folder (configuration and local state)."""
        return self.work_dir / "terraform" / resource

    def has_state(self, resource: str) -> bool:
        """Whether Terraform has managed this resource from here before."""
        state = self.folder(resource) / "terraform.tfstate"
        return state.exists() and '"vsphere_virtual_machine"' in state.read_text(encoding="utf-8")

    def env(self) -> dict[str, str]:
        """The child's environment: this process's, plus the vSphere connection settings."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VSPHERE_")}
        env.update(
            {
                "VSPHERE_SERVER": f"{self.settings.host}:{self.settings.port}",
                "VSPHERE_USER": self.settings.username,
                "VSPHERE_PASSWORD": self.settings.password,
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
            }
        )
        if not self.settings.verify_tls:
            env["VSPHERE_ALLOW_UNVERIFIED_SSL"] = "true"
        elif self.settings.ca_file:
            env["SSL_CERT_FILE"] = str(Path(self.settings.ca_file).expanduser().resolve())
        return env

    def run(self, resource: str, *args: str) -> TerraformOutcome:
        """One terraform command in the resource's folder; output never echoes the password."""
        try:
            proc = subprocess.run(
                [self.binary, f"-chdir={self.folder(resource)}", *args],
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TransientProviderError(
                f"{resource}: terraform {args[0]} still running after {self.timeout:.0f} s", delay=60.0
            ) from exc
        messages, errors = parse_json_lines(proc.stdout)
        if proc.returncode != 0 and not errors:
            tail = (proc.stderr or proc.stdout).strip()[-800:]
            errors = [tail or f"exit code {proc.returncode}"]
        return TerraformOutcome(proc.returncode, [e.replace(self.settings.password, "***") for e in errors], messages)

    def check(self, resource: str, action: str, outcome: TerraformOutcome) -> None:
        """Raise the right error for a failed command."""
        if outcome.returncode == 0:
            return
        text = "; ".join(outcome.errors)
        message = f"{resource}: terraform {action} failed: {text}"
        if any(hint in text.lower() for hint in TRANSIENT_HINTS):
            raise TransientProviderError(message, delay=30.0)
        raise PermanentProviderError(message)

    def apply(
        self, resource: str, artifacts: RenderedArtifacts | None, custom_attributes: dict[int, str]
    ) -> TerraformOutcome:
        """Write the chart's files, `init` once, then `apply -auto-approve -json`."""
        if artifacts is None or "main.tf" not in artifacts.files:
            raise PermanentProviderError(
                f"{resource}: the terraform executor needs the vsphere-vm chart's main.tf; pin the chart "
                "(template chart: vsphere-vm) or use the default executor"
            )
        folder = self.folder(resource)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in artifacts.files.items():
            (folder / name).write_text(text, encoding="utf-8")
        (folder / OVERRIDE_FILE).write_text(
            override_for(artifacts.files["main.tf"], custom_attributes), encoding="utf-8"
        )
        if not (folder / ".terraform").is_dir():
            self.check(resource, "init", self.run(resource, "init", "-input=false", "-no-color"))
        outcome = self.run(resource, "apply", "-auto-approve", "-input=false", "-json")
        self.check(resource, "apply", outcome)
        return outcome

    def destroy(self, resource: str) -> TerraformOutcome:
        """`destroy -auto-approve -json` in the resource's folder."""
        outcome = self.run(resource, "destroy", "-auto-approve", "-input=false", "-json")
        self.check(resource, "destroy", outcome)
        return outcome

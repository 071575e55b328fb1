"""Ansible playbooks: `ansible-playbook --syntax-check` (roles resolved from homeport's ansible/roles),
then ansible-lint, both from the running Python's environment.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from reconciler.assets import asset_dir
from reconciler.render.validators.availability import not_installed, venv_binary
from reconciler.render.validators.issue import ValidationIssue
from reconciler.render.validators.yaml_format import validate as validate_yaml

TIMEOUT_S = 300
_ORIGIN = re.compile(r"Origin: (?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+)")


def roles_path() -> Path:
    """homeport's roles folder (ansible/roles, shipped with the package)."""
    return asset_dir("ansible") / "roles"


def _hosts(document: Any) -> list[str]:
    hosts: list[str] = []
    for play in document if isinstance(document, list) else []:
        value = play.get("hosts") if isinstance(play, dict) else None
        for host in ([value] if isinstance(value, str) else value or []):
            for part in str(host).split(","):
                part = part.strip()
                if part and part not in ("all", "localhost") and part not in hosts:
                    hosts.append(part)
    return hosts


def _environment(home: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "ANSIBLE_HOME": home,
            "ANSIBLE_LOCAL_TEMP": home, "ANSIBLE_ROLES_PATH": str(roles_path()), "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}


def syntax_issues(filename: str, folder: Path, playbook: Path, hosts: list[str]) -> list[ValidationIssue]:
    """`ansible-playbook --syntax-check`; an error carries the file, line and column it names."""
    binary = venv_binary("ansible-playbook")
    if binary is None:
        return [not_installed(filename, "ansible-playbook --syntax-check", "ansible-core")]
    inventory = folder / "inventory.ini"
    inventory.write_text("".join(f"{h}\n" for h in hosts) or "localhost\n", encoding="utf-8")
    proc = subprocess.run([str(binary), "--syntax-check", "-i", str(inventory), str(playbook)], cwd=folder,
                          env=_environment(str(folder)), capture_output=True, text=True, timeout=TIMEOUT_S,
                          check=False)
    if proc.returncode == 0:
        return []
    output = (proc.stderr.strip() or proc.stdout.strip()).replace(str(folder) + "/", "")
    match = _ORIGIN.search(output)
    first = next((line for line in output.splitlines() if "ERROR" in line), output.splitlines()[0] if output else "")
    return [ValidationIssue(file=filename, tool="ansible-playbook --syntax-check",
                            message=first.replace("[ERROR]: ", "").strip() or f"exit status {proc.returncode}",
                            line=int(match.group("line")) if match else None,
                            column=int(match.group("col")) if match else None)]


def lint_issues(filename: str, folder: Path, playbook: Path) -> list[ValidationIssue]:
    """ansible-lint (offline, codeclimate JSON): one issue per violation, with rule id and line."""
    binary = venv_binary("ansible-lint")
    if binary is None:
        return [not_installed(filename, "ansible-lint", "ansible-lint")]
    proc = subprocess.run([str(binary), "--offline", "--nocolor", "-q", "-f", "codeclimate", playbook.name],
                          cwd=folder, env=_environment(str(folder)), capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)
    if proc.returncode == 0:
        return []
    try:
        found = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        found = None
    if not isinstance(found, list) or not found:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-600:]
        return [ValidationIssue(file=filename, tool="ansible-lint", message=tail or "ansible-lint failed")]
    issues = []
    for item in found:
        location = item.get("location") or {}
        begin = (location.get("positions") or {}).get("begin") or (location.get("lines") or {})
        line = begin.get("line") if isinstance(begin, dict) and "line" in begin else begin.get("begin")
        severity = "warning" if item.get("severity") in ("minor", "info") else "error"
        issues.append(ValidationIssue(file=filename, tool=f"ansible-lint {item.get('check_name', '')}".strip(),
                                      message=str(item.get("description", "")), severity=severity,
                                      line=line if isinstance(line, int) else None,
                                      column=begin.get("column") if isinstance(begin, dict) else None))
    return issues


def validate(filename: str, text: str, lint: bool = True) -> list[ValidationIssue]:
    """YAML syntax, then ansible-playbook's syntax check, then ansible-lint."""
    syntax = validate_yaml(filename, text)
    if syntax:
        return syntax
    document = yaml.safe_load(text)
    if not isinstance(document, list):
        return [ValidationIssue(file=filename, tool="ansible", message="a playbook is a list of plays")]
    with tempfile.TemporaryDirectory(prefix="homeport-ansible-") as tmp:
        folder = Path(tmp)
        playbook = folder / Path(filename).name
        playbook.write_text(text, encoding="utf-8")
        issues = syntax_issues(filename, folder, playbook, _hosts(document))
        if lint and not [i for i in issues if i.severity == "error"]:
            issues.extend(lint_issues(filename, folder, playbook))
    return issues

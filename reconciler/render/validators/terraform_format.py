"""Terraform files: python-hcl2 syntax, a checked list of each resource's arguments and blocks, and,
for providers that can run offline (hashicorp/vsphere), real `terraform validate`.

The argument lists (terraform_schemas.yaml) cite the provider documentation they were copied from.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from reconciler.render.validators.availability import has_module, not_installed
from reconciler.render.validators.issue import ValidationIssue

SCHEMAS_FILE = Path(__file__).resolve().parent / "terraform_schemas.yaml"
# Providers whose plugin ships in a Python package, so `terraform validate` runs without a network.
OFFLINE_PROVIDERS = {"hashicorp/vsphere"}
# python-hcl2 shares one Lark parser per process; parse one file at a time.
_PARSE_LOCK = threading.Lock()
_POSITION = re.compile(r"line (\d+), col(?:umn)? (\d+)")


@cache
def resource_schemas() -> dict[str, Any]:
    """The checked argument/block lists (terraform_schemas.yaml)."""
    data: dict[str, Any] = yaml.safe_load(SCHEMAS_FILE.read_text(encoding="utf-8"))
    return data


def parse_hcl(filename: str, text: str) -> tuple[dict[str, Any] | None, list[ValidationIssue]]:
    """The file as python-hcl2 v8 data (quotes stripped, blocks as lists), or the syntax error."""
    if not has_module("hcl2"):
        return None, [not_installed(filename, "python-hcl2", "python-hcl2")]
    import hcl2
    from hcl2 import SerializationOptions

    try:
        with _PARSE_LOCK:
            data: dict[str, Any] = hcl2.loads(
                text, serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False))
    except Exception as exc:  # lark raises several exception types; each carries line and column
        message = str(exc).split("\n", 1)[0]
        line = getattr(exc, "line", None)
        column = getattr(exc, "column", None)
        match = _POSITION.search(str(exc))
        if line is None and match:
            line, column = int(match.group(1)), int(match.group(2))
        return None, [ValidationIssue(file=filename, tool="python-hcl2", message=f"syntax: {message}",
                                      line=line if isinstance(line, int) and line > 0 else None,
                                      column=column if isinstance(column, int) and column > 0 else None)]
    return data, []


def _line_of(text: str, name: str, after: int) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*(=|{{)", re.MULTILINE)
    lines = text.splitlines(keepends=True)
    offset = sum(len(line) for line in lines[: max(after - 1, 0)])
    match = pattern.search(text, offset)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _header_line(text: str, rtype: str, rname: str) -> int:
    match = re.search(rf'^\s*resource\s+"{re.escape(rtype)}"\s+"{re.escape(rname)}"', text, re.MULTILINE)
    return text.count("\n", 0, match.start()) + 1 if match else 1


def _check_body(filename: str, text: str, where: str, body: dict[str, Any], schema: dict[str, Any],
                start: int, top: bool) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    arguments = set(schema.get("arguments", []))
    blocks: dict[str, Any] = schema.get("blocks", {}) or {}
    meta = set(resource_schemas()["meta_arguments"]) if top else set()
    for key, value in body.items():
        if key.startswith("__") or key in meta:
            continue
        if key == "dynamic":
            issues.extend(_check_dynamic(filename, text, where, value, blocks, start))
            continue
        if key in blocks:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    issues.extend(_check_body(filename, text, f"{where}.{key}", item, blocks[key] or {},
                                              _line_of(text, key, start) or start, top=False))
                else:
                    issues.append(ValidationIssue(file=filename, tool="terraform-schema",
                                                  line=_line_of(text, key, start),
                                                  message=f"{where}: {key} is a block, not an argument"))
            continue
        if key not in arguments:
            known = ", ".join(sorted(arguments | set(blocks)))
            issues.append(ValidationIssue(file=filename, tool="terraform-schema",
                                          line=_line_of(text, key, start),
                                          message=f"{where}: unsupported argument or block {key!r} "
                                                  f"(accepted: {known})"))
    return issues


def _check_dynamic(filename: str, text: str, where: str, value: Any, blocks: dict[str, Any],
                   start: int) -> list[ValidationIssue]:
    """`dynamic "name" { for_each, iterator, content { ... } }`: name must be a block, content its body."""
    issues: list[ValidationIssue] = []
    for entry in value if isinstance(value, list) else [value]:
        for name, spec in (entry or {}).items():
            line = _line_of(text, f'dynamic "{name}"', start) or _line_of(text, "dynamic", start)
            if name not in blocks:
                issues.append(ValidationIssue(file=filename, tool="terraform-schema", line=line,
                                              message=f"{where}: dynamic {name!r} names no block of this resource "
                                                      f"(blocks: {', '.join(sorted(blocks))})"))
                continue
            for content in (spec or {}).get("content", []) or []:
                if isinstance(content, dict):
                    issues.extend(_check_body(filename, text, f"{where}.{name}", content, blocks[name] or {},
                                              line or start, top=False))
    return issues


def schema_issues(filename: str, text: str, data: dict[str, Any]) -> list[ValidationIssue]:
    """Top-level block types, then every resource's arguments and blocks against the checked list."""
    tables = resource_schemas()
    issues: list[ValidationIssue] = []
    for key in data:
        if key not in tables["top_level_blocks"] and not key.startswith("__"):
            issues.append(ValidationIssue(file=filename, tool="terraform-schema",
                                          message=f"unknown top-level block {key!r}"))
    for entry in data.get("resource", []) or []:
        for rtype, named in entry.items():
            schema = tables["resources"].get(rtype)
            for rname, body in (named or {}).items():
                start = _header_line(text, rtype, rname)
                if schema is None:
                    if provider_source(data, rtype) not in OFFLINE_PROVIDERS:
                        issues.append(ValidationIssue(
                            file=filename, tool="terraform-schema", line=start, severity="warning",
                            message=f"resource type {rtype} is not in homeport's checked list; "
                                    "only its syntax was checked"))
                    continue
                issues.extend(_check_body(filename, text, f"{rtype}.{rname}", body or {}, schema, start,
                                          top=True))
    return issues


def required_providers(data: dict[str, Any]) -> dict[str, str]:
    """Local provider name -> source address, from terraform { required_providers { ... } }."""
    found: dict[str, str] = {}
    for block in data.get("terraform", []) or []:
        for req in block.get("required_providers", []) or []:
            for local, spec in (req or {}).items():
                if isinstance(spec, dict) and isinstance(spec.get("source"), str):
                    found[local] = spec["source"].lower()
    return found


def provider_source(data: dict[str, Any], resource_type: str) -> str:
    """The source address of the provider a resource type belongs to (its name prefix)."""
    local = resource_type.split("_", 1)[0]
    return required_providers(data).get(local, f"hashicorp/{local}")


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """Syntax, the checked argument lists, then `terraform validate` when every provider runs offline."""
    data, issues = parse_hcl(filename, text)
    if data is None:
        return issues
    issues = schema_issues(filename, text, data)
    sources = set(required_providers(data).values())
    if sources and sources <= OFFLINE_PROVIDERS and not [i for i in issues if i.severity == "error"]:
        from reconciler.render.validators.terraform_cli import terraform_validate

        issues.extend(terraform_validate({filename: text}))
    return issues

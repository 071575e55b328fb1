"""ARM templates: a structural check (no package ships the ARM template schema offline).

Checked: the top-level keys; every resource's type and apiVersion against the ones homeport's charts
emit (Microsoft's template reference pages, cited below); the property names of a virtual machine;
every parameters('x') / variables('x') reference; dependsOn targets; and VM sizes against
azure-mgmt-compute's VirtualMachineSizeTypes plus the newer sizes that enum lacks (cited).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from reconciler.render.validators.issue import ValidationIssue

TOOL = "arm-structure"
SIZES_FILE = Path(__file__).resolve().parent / "data" / "azure_vm_sizes.txt"
TOP_LEVEL_REQUIRED = {"$schema", "contentVersion", "resources"}
TOP_LEVEL_ALLOWED = TOP_LEVEL_REQUIRED | {"apiProfile", "parameters", "variables", "functions", "outputs",
                                          "metadata", "definitions", "languageVersion"}
SCHEMA_URL = re.compile(r"^https://schema\.management\.azure\.com/schemas/\d{4}-\d{2}-\d{2}/deploymentTemplate\.json#$")
# Resource types and API versions the charts emit, each listed on Microsoft's ARM template reference
# (https://learn.microsoft.com/azure/templates/<namespace>/<api-version>/<type>, read 2026-11).
API_VERSIONS: dict[str, set[str]] = {
    "Microsoft.Compute/virtualMachines": {"2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01"},
    "Microsoft.Compute/virtualMachines/extensions": {"2023-03-01", "2023-07-01", "2023-09-01", "2024-03-01",
                                                     "2024-07-01"},
    "Microsoft.Compute/disks": {"2023-01-02", "2023-04-02", "2023-10-02", "2024-03-02"},
    "Microsoft.Network/networkInterfaces": {"2023-04-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01"},
    "Microsoft.Network/networkSecurityGroups": {"2023-04-01", "2023-06-01", "2023-09-01", "2023-11-01",
                                                "2024-01-01"},
    "Microsoft.Network/publicIPAddresses": {"2023-04-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01"},
}
RESOURCE_KEYS = {"type", "apiVersion", "name", "location", "tags", "dependsOn", "properties", "sku", "kind",
                 "zones", "identity", "plan", "condition", "copy", "comments", "scope", "extendedLocation"}
# Microsoft.Compute/virtualMachines properties (template reference, 2023-09-01).
VM_PROPERTIES = {"additionalCapabilities", "applicationProfile", "availabilitySet", "billingProfile",
                 "capacityReservation", "diagnosticsProfile", "evictionPolicy", "extensionsTimeBudget",
                 "hardwareProfile", "host", "hostGroup", "licenseType", "networkProfile", "osProfile",
                 "platformFaultDomain", "priority", "proximityPlacementGroup", "scheduledEventsProfile",
                 "securityProfile", "storageProfile", "userData", "virtualMachineScaleSet"}
# Current sizes azure-mgmt-compute's VirtualMachineSizeTypes enum predates, from Microsoft Learn:
# https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/ncast4v3-series
# https://learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/dsv5-series
EXTRA_VM_SIZES = {"Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3", "Standard_NC16as_T4_v3",
                  "Standard_NC64as_T4_v3", "Standard_D2s_v5", "Standard_D4s_v5", "Standard_D8s_v5",
                  "Standard_D16s_v5"}
_REF = re.compile(r"\b(parameters|variables)\('([^']+)'\)")
_RESOURCE_ID = re.compile(r"resourceId\('([^']+)',\s*'([^']+)'\)")


@cache
def known_vm_sizes() -> set[str]:
    """azure-mgmt-compute's VirtualMachineSizeTypes (a copy the render layer may read; a test keeps it
    equal to the SDK, which only the azure provider may import) plus the cited newer sizes."""
    lines = SIZES_FILE.read_text(encoding="utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")} | EXTRA_VM_SIZES


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _issue(filename: str, message: str, severity: str = "error") -> ValidationIssue:
    return ValidationIssue(file=filename, tool=TOOL, message=message, severity=severity)


def _check_size(filename: str, where: str, size: Any, sizes: set[str]) -> list[ValidationIssue]:
    if not isinstance(size, str) or size.startswith("["):
        return []
    if size not in sizes:
        return [_issue(filename, f"{where}: VM size {size!r} is not an Azure VM size "
                                 "(azure-mgmt-compute VirtualMachineSizeTypes)")]
    return []


def structure_issues(filename: str, template: dict[str, Any]) -> list[ValidationIssue]:
    """Every structural problem of a parsed template."""
    issues: list[ValidationIssue] = []
    for key in sorted(TOP_LEVEL_REQUIRED - set(template)):
        issues.append(_issue(filename, f"missing top-level key {key!r}"))
    for key in sorted(set(template) - TOP_LEVEL_ALLOWED):
        issues.append(_issue(filename, f"unknown top-level key {key!r}"))
    if "$schema" in template and not SCHEMA_URL.match(str(template["$schema"])):
        issues.append(_issue(filename, f"$schema {template['$schema']!r} is not a deploymentTemplate schema URL"))
    parameters = template.get("parameters") or {}
    variables = template.get("variables") or {}
    declared = {"parameters": set(parameters), "variables": set(variables)}
    for kind, name in sorted({m for s in _strings(template) for m in _REF.findall(s)}):
        if name not in declared[kind]:
            issues.append(_issue(filename, f"{kind}('{name}') is referenced but not declared under {kind}"))
    sizes = known_vm_sizes()
    resources = template.get("resources") or []
    names = {(r.get("type"), r.get("name")) for r in resources if isinstance(r, dict)}
    for index, res in enumerate(resources):
        if not isinstance(res, dict):
            issues.append(_issue(filename, f"resources[{index}] is not an object"))
            continue
        where = f"resources[{index}] ({res.get('type')} {res.get('name')})"
        for key in ("type", "apiVersion", "name"):
            if key not in res:
                issues.append(_issue(filename, f"{where}: missing {key!r}"))
        for key in sorted(set(res) - RESOURCE_KEYS):
            issues.append(_issue(filename, f"{where}: unknown resource key {key!r}"))
        rtype, version = res.get("type"), res.get("apiVersion")
        if rtype not in API_VERSIONS:
            issues.append(_issue(filename, f"{where}: resource type {rtype!r} is not one homeport checks "
                                           f"({', '.join(sorted(API_VERSIONS))})"))
        elif version not in API_VERSIONS[rtype]:
            issues.append(_issue(filename, f"{where}: apiVersion {version!r} is not a published version of "
                                           f"{rtype} ({', '.join(sorted(API_VERSIONS[rtype]))})"))
        for dep in res.get("dependsOn") or []:
            match = _RESOURCE_ID.search(str(dep))
            if match and (match.group(1), match.group(2)) not in names:
                issues.append(_issue(filename, f"{where}: dependsOn {dep!r} names no resource of this template"))
        if rtype == "Microsoft.Compute/virtualMachines":
            props = res.get("properties") or {}
            for key in sorted(set(props) - VM_PROPERTIES):
                issues.append(_issue(filename, f"{where}: unknown virtual machine property {key!r}"))
            size = (props.get("hardwareProfile") or {}).get("vmSize")
            param = re.fullmatch(r"\[parameters\('([^']+)'\)\]", str(size))
            if param:
                size = (parameters.get(param.group(1)) or {}).get("defaultValue")
            issues.extend(_check_size(filename, where, size, sizes))
    return issues


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """JSON syntax, then the structural check."""
    try:
        template = json.loads(text)
    except json.JSONDecodeError as exc:
        return [ValidationIssue(file=filename, tool="json", message=exc.msg, line=exc.lineno, column=exc.colno)]
    if not isinstance(template, dict):
        return [_issue(filename, "an ARM template is a JSON object")]
    return structure_issues(filename, template)

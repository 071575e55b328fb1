"""CloudFormation templates: cfn-lint's Python API (resource specs, property names, allowed values).

cfn-lint knows every resource type's properties and, per region, the literal values EC2 accepts
(instance types, volume types), so a misspelled property or a wrong literal fails here.
"""

from __future__ import annotations

import threading
from typing import Any

from reconciler.render.validators.availability import has_module, not_installed
from reconciler.render.validators.issue import ValidationIssue

# The regions whose specs a template is checked against (cfn-lint's default is us-east-1).
REGIONS = ["us-east-1"]
# cfn-lint keeps module-level state: one template at a time per process.
_LOCK = threading.Lock()
# cfn-lint lists every allowed value in some messages (hundreds of instance types).
MAX_MESSAGE = 400


def _severity(match: Any) -> str:
    level = str(getattr(getattr(match, "rule", None), "severity", "error")).lower()
    return "error" if level == "error" else "warning"


def validate(filename: str, text: str, regions: list[str] | None = None) -> list[ValidationIssue]:
    """Every cfn-lint error and warning, with line and column."""
    if not has_module("cfnlint"):
        return [not_installed(filename, "cfn-lint", "cfn-lint")]
    from cfnlint.api import ManualArgs, lint

    with _LOCK:
        matches = lint(text, regions=regions or REGIONS, config=ManualArgs(regions=regions or REGIONS))
    issues = []
    for match in matches:
        rule = getattr(match, "rule", None)
        rule_id = getattr(rule, "id", "")
        if rule_id.startswith("I"):
            continue
        message = match.message if len(match.message) <= MAX_MESSAGE else match.message[:MAX_MESSAGE] + " ..."
        issues.append(ValidationIssue(file=filename, tool=f"cfn-lint {rule_id}".strip(), message=message,
                                      line=match.linenumber, column=match.columnnumber,
                                      severity=_severity(match)))
    return issues

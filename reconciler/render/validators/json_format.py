"""JSON outputs must parse."""

from __future__ import annotations

import json

from reconciler.render.validators.issue import ValidationIssue


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """Parse the document; report a syntax error with its line and column."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return [ValidationIssue(file=filename, message=exc.msg, line=exc.lineno, column=exc.colno, tool="json")]
    return []

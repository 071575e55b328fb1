"""`.env` files: one `NAME=value` per line (comments and blank lines allowed), names shell-safe."""

from __future__ import annotations

import re

from reconciler.render.validators.issue import ValidationIssue

_LINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=.*$")


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """Each non-comment line must be an assignment to a valid variable name."""
    issues = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not _LINE.match(stripped):
            issues.append(ValidationIssue(file=filename, line=number, tool="dotenv",
                                          message=f"not a NAME=value assignment: {stripped[:60]!r}"))
    return issues

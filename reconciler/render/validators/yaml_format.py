"""YAML outputs must parse."""

from __future__ import annotations

import yaml

from reconciler.render.validators.issue import ValidationIssue


def validate(filename: str, text: str) -> list[ValidationIssue]:
    """Parse every document; report the first syntax error with its line."""
    try:
        list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        return [
            ValidationIssue(
                file=filename,
                message=str(exc.problem),
                tool="pyyaml",
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
            )
        ]
    except yaml.YAMLError as exc:
        return [ValidationIssue(file=filename, message=str(exc), tool="pyyaml")]
    return []

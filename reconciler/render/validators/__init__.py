"""One validator per output format; `validate_files` runs the right one for each rendered file."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from reconciler.render.validators.issue import ValidationIssue

Validator = Callable[[str, str], list[ValidationIssue]]

# format -> module exposing validate(filename, text) -> list[ValidationIssue]
VALIDATOR_MODULES: dict[str, str] = {
    "yaml": "reconciler.render.validators.yaml_format",
    "json": "reconciler.render.validators.json_format",
}


def validator_for(fmt: str) -> Validator | None:
    """The validator of a format, None for formats without one ('text')."""
    module_name = VALIDATOR_MODULES.get(fmt)
    if module_name is None:
        return None
    module = importlib.import_module(module_name)
    fn: Validator = module.validate
    return fn


def validate_files(files: dict[str, str], formats: dict[str, str]) -> list[ValidationIssue]:
    """Run each file's validator; formats maps file name -> format."""
    issues: list[ValidationIssue] = []
    for name, text in sorted(files.items()):
        validator = validator_for(formats.get(name, "text"))
        if validator is not None:
            issues.extend(validator(name, text))
    return issues


__all__ = ["VALIDATOR_MODULES", "ValidationIssue", "validate_files", "validator_for"]

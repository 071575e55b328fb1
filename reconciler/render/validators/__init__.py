"""One validator per output format; `validate_files` runs the right one for each rendered file."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from reconciler.render.validators.issue import ValidationIssue

if TYPE_CHECKING:
    from reconciler.render.chart import Chart

Validator = Callable[[str, str], list[ValidationIssue]]

# format -> module exposing validate(filename, text) -> list[ValidationIssue]
VALIDATOR_MODULES: dict[str, str] = {
    "yaml": "reconciler.render.validators.yaml_format",
    "json": "reconciler.render.validators.json_format",
    "compose": "reconciler.render.validators.compose_format",
    "env": "reconciler.render.validators.env_format",
    "cloudformation": "reconciler.render.validators.cloudformation_format",
    "terraform": "reconciler.render.validators.terraform_format",
    "kubernetes": "reconciler.render.validators.kubernetes_format",
    "arm": "reconciler.render.validators.arm_format",
    "lxd": "reconciler.render.validators.lxd_format",
    "ansible": "reconciler.render.validators.ansible_format",
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


def validate_rendered(files: dict[str, str], chart: Chart) -> list[ValidationIssue]:
    """Check a chart's rendered files, each with the validator of the format its Chart.yaml declares.

    Issues with severity "unavailable" say which validator is not installed; they are not failures.
    """
    return validate_files(files, {name: chart.output_format(name) for name in files})


def validate_rendered_many(batch: dict[str, tuple[dict[str, str], Chart]], workers: int | None = None
                           ) -> dict[str, list[ValidationIssue]]:
    """validate_rendered for many resources at once (name -> (files, chart)), results by name.

    Most validators run an external tool (ansible-lint, docker-compose, terraform), so threads overlap
    their waits; the in-process ones that are not thread-safe hold a lock.
    """
    if not batch:
        return {}
    # The tools are CPU-bound: more threads than CPUs only makes them compete.
    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batch)))) as pool:
        futures = {name: pool.submit(validate_rendered, files, chart) for name, (files, chart) in batch.items()}
        return {name: future.result() for name, future in futures.items()}


def blocking(issues: list[ValidationIssue]) -> list[ValidationIssue]:
    """The issues that make a render invalid (errors; not warnings or missing validators)."""
    return [issue for issue in issues if issue.severity == "error"]


__all__ = ["VALIDATOR_MODULES", "ValidationIssue", "blocking", "validate_files", "validate_rendered",
           "validate_rendered_many", "validator_for"]

"""Chart values: chart defaults < template < pool < resource overrides, checked against the chart's schema."""

from __future__ import annotations

import copy
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from reconciler.models.effective import EffectiveResource
from reconciler.render.chart import Chart
from reconciler.render.errors import RenderError


def deep_merge(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """A new dict: each layer's keys win over earlier ones; nested mappings merge, lists replace."""
    out = copy.deepcopy(base)
    for layer in layers:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = deep_merge(out[key], value)
            else:
                out[key] = copy.deepcopy(value)
    return out


def chart_values(chart: Chart, resource: EffectiveResource) -> dict[str, Any]:
    """The document a chart's templates see: `resource` (effective), `values` (merged), `chart`, `lab`."""
    merged = deep_merge(chart.defaults, resource.properties, resource.overrides)
    return {
        "resource": resource.values(),
        "values": merged,
        "chart": {"name": chart.name, "version": chart.meta.version},
        "lab": {"name": resource.lab},
    }


_validators: dict[str, Draft202012Validator] = {}


def check_values(chart: Chart, document: dict[str, Any]) -> None:
    """Raise RenderError naming the resource, field and chart when values break the chart's schema."""
    if not chart.schema:
        return
    validator = _validators.get(chart.digest)
    if validator is None:
        validator = Draft202012Validator(chart.schema)
        _validators[chart.digest] = validator
    error = best_match(validator.iter_errors(document))
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        hint = error.schema.get("description") if isinstance(error.schema, dict) else None
        message = f"{error.message} ({hint})" if hint else error.message
        raise RenderError(document["resource"]["name"], chart.name, message, field=path)

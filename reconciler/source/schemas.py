"""JSON Schemas of the desired-state kinds, for editors (yaml-language-server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from reconciler.models.inventory import Inventory
from reconciler.models.lab import Lab
from reconciler.models.plan import Plan
from reconciler.models.pool import ResourcePool
from reconciler.models.resource import UniversalResource
from reconciler.models.template import DeploymentTemplate

SCHEMAS: dict[str, type[BaseModel]] = {
    "lab.schema.json": Lab,
    "resource-pool.schema.json": ResourcePool,
    "deployment-template.schema.json": DeploymentTemplate,
    "universal-resource.schema.json": UniversalResource,
    "plan.schema.json": Plan,
    "inventory.schema.json": Inventory,
}

SCHEMA_GLOBS: dict[str, str | list[str]] = {
    "./schemas/lab.schema.json": "homeport.yaml",
    "./schemas/resource-pool.schema.json": ["pools/*.yaml", "pools/**/*.yaml"],
    "./schemas/deployment-template.schema.json": ["templates/*.yaml", "templates/**/*.yaml"],
    "./schemas/universal-resource.schema.json": ["resources/*.yaml", "resources/**/*.yaml"],
}


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON Schema as the YAML files spell it (aliases such as apiVersion)."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def write_schemas(out_dir: Path) -> list[Path]:
    """Write every schema into out_dir; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for filename, model in SCHEMAS.items():
        path = out_dir / filename
        path.write_text(json.dumps(schema_of(model), indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths

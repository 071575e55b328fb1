"""Charts on disk: Chart.yaml, values.yaml, values.schema.json and templates/*.j2."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from reconciler.render.errors import ChartError


class ChartOutput(BaseModel):
    """A file a chart writes and the validator that checks it."""

    file: str
    format: str = Field(description="terraform|ansible|kubernetes|compose|env|cloudformation|arm|lxd|yaml|json|text")


class ChartMeta(BaseModel):
    """Chart.yaml."""

    name: str
    version: str
    description: str = ""
    provider_types: list[str] = Field(min_length=1)
    resource_types: list[str] = Field(default_factory=lambda: ["compute"])
    workload_types: list[str] = Field(default_factory=list, description="Empty: every workload type")
    outputs: list[ChartOutput] = Field(default_factory=list)
    gpu: bool = Field(default=True, description="Whether the target can give a workload GPUs")


@dataclass
class Chart:
    """A loaded chart."""

    meta: ChartMeta
    path: Path
    defaults: dict[str, Any]
    schema: dict[str, Any]
    templates: dict[str, str]
    digest: str = ""
    readme: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The chart's name."""
        return self.meta.name

    def output_format(self, filename: str) -> str:
        """The declared format of an output file ('text' when undeclared)."""
        for out in self.meta.outputs:
            if out.file == filename:
                return out.format
        return "text"


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)


def load_chart(path: Path) -> Chart:
    """Read one chart directory; ChartError names what is wrong."""
    meta_file = path / "Chart.yaml"
    if not meta_file.is_file():
        raise ChartError(f"{path}: no Chart.yaml")
    try:
        meta = ChartMeta.model_validate(_load_yaml(meta_file))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ChartError(f"{meta_file}: {exc}") from exc
    values_file = path / "values.yaml"
    defaults = _load_yaml(values_file) if values_file.is_file() else {}
    schema_file = path / "values.schema.json"
    try:
        schema = json.loads(schema_file.read_text(encoding="utf-8")) if schema_file.is_file() else {}
    except json.JSONDecodeError as exc:
        raise ChartError(f"{schema_file}: line {exc.lineno}: {exc.msg}") from exc
    templates: dict[str, str] = {}
    tdir = path / "templates"
    digest = hashlib.sha256()
    for f in [meta_file, values_file, schema_file]:
        if f.is_file():
            digest.update(f.read_bytes())
    if tdir.is_dir():
        for tpl in sorted(tdir.rglob("*.j2")):
            rel = tpl.relative_to(tdir).as_posix()
            text = tpl.read_text(encoding="utf-8")
            templates[rel] = text
            digest.update(rel.encode() + b"\0" + text.encode())
    readme = path / "README.md"
    return Chart(
        meta=meta,
        path=path,
        defaults=defaults or {},
        schema=schema,
        templates=templates,
        digest=digest.hexdigest(),
        readme=readme.read_text(encoding="utf-8") if readme.is_file() else "",
    )


class ChartLibrary:
    """Every chart under a set of directories; later directories override earlier ones by name."""

    def __init__(self, dirs: list[Path]) -> None:
        self.charts: dict[str, Chart] = {}
        for base in dirs:
            if not base.is_dir():
                continue
            for sub in sorted(p for p in base.iterdir() if (p / "Chart.yaml").is_file()):
                chart = load_chart(sub)
                self.charts[chart.name] = chart

    def get(self, name: str) -> Chart:
        """The chart called name; ChartError listing the known ones otherwise."""
        try:
            return self.charts[name]
        except KeyError:
            raise ChartError(f"no chart named {name!r}; available: {', '.join(sorted(self.charts))}") from None

    def for_resource(self, provider_type: str, resource_type: str, workload_type: str | None = None) -> Chart | None:
        """The chart that renders this provider/resource type (workload-specific charts first)."""
        matches = [
            c
            for c in self.charts.values()
            if provider_type in c.meta.provider_types and resource_type in c.meta.resource_types
        ]
        specific = [c for c in matches if workload_type and workload_type in c.meta.workload_types]
        generic = [c for c in matches if not c.meta.workload_types]
        for group in (specific, generic):
            if group:
                return sorted(group, key=lambda c: c.name)[0]
        return None

    def supporting(self, provider_type: str | None = None) -> list[Chart]:
        """Charts, optionally only those for a provider type."""
        return [
            c
            for c in sorted(self.charts.values(), key=lambda c: c.name)
            if provider_type is None or provider_type in c.meta.provider_types
        ]

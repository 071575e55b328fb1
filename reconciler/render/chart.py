"""Charts on disk: Chart.yaml, values.yaml, values.schema.json and templates/*.j2."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from reconciler.models.limits import LimitExceeded
from reconciler.models.yaml12 import check_text_size, load_one
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


def _read_text(path: Path) -> str:
    try:
        check_text_size(path.stat().st_size)
        return path.read_text(encoding="utf-8")
    except LimitExceeded as exc:
        raise ChartError(f"{path}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ChartError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ChartError(f"{path}: cannot be read: {exc.strerror}") from None


def _load_yaml(path: Path) -> Any:
    """One YAML document in homeport's dialect; ChartError naming the file and line otherwise."""
    try:
        return load_one(_read_text(path))
    except LimitExceeded as exc:
        line = getattr(exc, "line", None)
        raise ChartError(f"{path}" + (f":{line}" if line else "") + f": {exc}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f":{mark.line + 1}" if mark else ""
        raise ChartError(f"{path}{where}: malformed YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ChartError(f"{path}: malformed YAML: {exc}") from None


def _load_schema(path: Path) -> dict[str, Any]:
    """values.schema.json: a JSON object that is itself a valid JSON Schema (draft 2020-12)."""
    try:
        schema = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise ChartError(f"{path}: line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise ChartError(f"{path}: nested too deeply") from None
    if not isinstance(schema, dict):
        raise ChartError(f"{path}: a JSON Schema is a JSON object, not a {type(schema).__name__}")
    from jsonschema import Draft202012Validator  # charts are loaded on first use; a no-op run never imports it
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ChartError(f"{path}: not a valid JSON Schema at {where}: {exc.message}") from None
    except RecursionError:
        raise ChartError(f"{path}: nested too deeply") from None
    return schema


def load_chart(path: Path) -> Chart:
    """Read one chart directory; ChartError names what is wrong."""
    meta_file = path / "Chart.yaml"
    if not meta_file.is_file():
        raise ChartError(f"{path}: no Chart.yaml")
    try:
        meta = ChartMeta.model_validate(_load_yaml(meta_file))
    except ValidationError as exc:
        raise ChartError(f"{meta_file}: {exc}") from exc
    values_file = path / "values.yaml"
    defaults = _load_yaml(values_file) if values_file.is_file() else {}
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise ChartError(f"{values_file}: chart values are a mapping, not a {type(defaults).__name__}")
    schema_file = path / "values.schema.json"
    schema = _load_schema(schema_file) if schema_file.is_file() else {}
    templates: dict[str, str] = {}
    tdir = path / "templates"
    digest = hashlib.sha256()
    for f in [meta_file, values_file, schema_file]:
        if f.is_file():
            digest.update(f.read_bytes())
    if tdir.is_dir():
        for tpl in sorted(tdir.rglob("*.j2")):
            rel = tpl.relative_to(tdir).as_posix()
            text = _read_text(tpl)
            templates[rel] = text
            digest.update(rel.encode() + b"\0" + text.encode())
    readme = path / "README.md"
    return Chart(
        meta=meta,
        path=path,
        defaults=defaults,
        schema=schema,
        templates=templates,
        digest=digest.hexdigest(),
        readme=_read_text(readme) if readme.is_file() else "",
    )


class ChartLibrary:
    """Every chart under a set of directories; later directories override earlier ones by name."""

    def __init__(self, dirs: list[Path]) -> None:
        self.charts: dict[str, Chart] = {}
        self.broken: dict[str, str] = {}  # chart folder name -> why it cannot be loaded
        for base in dirs:
            if not base.is_dir():
                continue
            for sub in sorted(p for p in base.iterdir() if (p / "Chart.yaml").is_file()):
                try:
                    chart = load_chart(sub)
                except ChartError as exc:  # a broken lab chart fails the resources it would render, by name
                    self.broken[sub.name] = str(exc).replace(str(base), "charts")
                    self.charts.pop(sub.name, None)
                    continue
                self.broken.pop(chart.name, None)
                self.charts[chart.name] = chart

    def check_broken(self) -> None:
        """Raise ChartError naming every chart that could not be loaded (any resource might need one)."""
        if self.broken:
            raise ChartError("; ".join(self.broken[name] for name in sorted(self.broken)))

    def get(self, name: str) -> Chart:
        """The chart called name; ChartError listing the known ones otherwise."""
        if name in self.broken:
            raise ChartError(self.broken[name])
        try:
            return self.charts[name]
        except KeyError:
            raise ChartError(f"no chart named {name!r}; available: {', '.join(sorted(self.charts))}") from None

    def for_resource(self, provider_type: str, resource_type: str, workload_type: str | None = None) -> Chart | None:
        """The chart that renders this provider/resource type (workload-specific charts first)."""
        self.check_broken()
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

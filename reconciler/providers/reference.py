"""Each provider's settings as people read them: the `options:` its settings model accepts, and the
homeport.yaml provider fields and credential fields its code reads. docs/providers/<type>.md embed this
table between markers; a test keeps the pages equal to it, so the docs list exactly what the code reads."""

from __future__ import annotations

import importlib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from reconciler.models.lab import Credentials, ProviderConfig

BEGIN = "<!-- settings reference: generated from the code by `make docs`; do not edit by hand -->"
END = "<!-- end of settings reference -->"
PACKAGES = Path(__file__).resolve().parent
_NOT_SETTINGS = {"type", "options", "credentials"}
_CONFIG_READ = re.compile(r"\b(?:config|cfg|provider_config)\.(\w+)\b")
_CREDENTIALS_READ = re.compile(r"\b(?:credentials|creds)\.(\w+)\b")


def options_model(provider_type: str) -> type[BaseModel]:
    """The model `options:` is validated against (settings.OPTIONS_MODEL of the provider package)."""
    module = importlib.import_module(f"reconciler.providers.{provider_type}.settings")
    model: type[BaseModel] = module.OPTIONS_MODEL
    return model


def fields_read(provider_type: str) -> tuple[list[str], list[str]]:
    """(provider fields, credential fields) the provider package's code reads, found in its source."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((PACKAGES / provider_type).rglob("*.py")))
    config = sorted({m for m in _CONFIG_READ.findall(source) if m in ProviderConfig.model_fields} - _NOT_SETTINGS)
    creds = sorted({m for m in _CREDENTIALS_READ.findall(source) if m in Credentials.model_fields})
    return config, creds


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping to {_type_name(args[1])}" if len(args) == 2 else "mapping"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    names = {str: "text", int: "integer", float: "number", bool: "true/false"}
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return f"`{json.dumps(value, default=str)}`"


def _nested(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        inner = _nested(arg)
        if inner is not None:
            return inner
    return None


def _rows(model: type[BaseModel], prefix: str, depth: int = 0) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        text = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| `{prefix}{key}` | {_type_name(field.annotation)} | {_default(field)} | {text} |")
        nested = _nested(field.annotation)
        if nested is not None and depth < 2:
            sub = f"{prefix}{key}.<name>." if typing.get_origin(field.annotation) is dict else f"{prefix}{key}."
            rows += _rows(nested, sub, depth + 1)
    return rows


def reference_markdown(provider_type: str) -> str:
    """The generated section: provider fields and credentials the code reads, then every option."""
    config, creds = fields_read(provider_type)
    lines = [BEGIN, "", "### Settings reference", "",
             "Provider fields read: " + (", ".join(f"`{c}`" for c in config) or "none") + ".",
             "Credential fields read (names of environment variables or secrets files, never values): "
             + (", ".join(f"`credentials.{c}`" for c in creds) or "none") + ".", "",
             "| option | type | default | meaning |", "|---|---|---|---|",
             *_rows(options_model(provider_type), "options."), "", END]
    return "\n".join(lines) + "\n"


def with_reference(page: str, provider_type: str) -> str:
    """The page with its generated section replaced (or appended when it has none)."""
    generated = reference_markdown(provider_type)
    if BEGIN in page and END in page:
        head, rest = page.split(BEGIN, 1)
        return head + generated.rstrip("\n") + rest.split(END, 1)[1]
    return page.rstrip("\n") + "\n\n" + generated

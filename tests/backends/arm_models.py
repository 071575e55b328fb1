"""Request bodies checked against the Azure SDKs' own generated models (the ARM test server's schema).

azure-mgmt-compute 39, -network 33 and -resource-deployments 2 are generated from Azure's published
REST specs (TypeSpec). Each model class lists its JSON fields as `rest_field(name=..., visibility=[...])`
with a type annotation: the same facts older SDKs kept in `_attribute_map` (wire name, type) and
`_validation` (required, read-only). This module walks a JSON body against that metadata, so a wrong
field name, a read-only field sent in a request, a missing required field or a wrong JSON type is an
error the server answers with HTTP 400, as ARM does.
"""

from __future__ import annotations

import enum
import inspect
import sys
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any

from azure.mgmt.compute import models as compute_models
from azure.mgmt.network import models as network_models
from azure.mgmt.resource.deployments import models as deployment_models
from azure.mgmt.resource.resources import models as resource_models


def _models_module(cls: type) -> Any:
    name = cls.__module__
    for candidate in (compute_models, network_models, deployment_models, resource_models):
        if name.startswith(candidate.__name__):
            return candidate
    raise ValueError(f"{cls!r} is not an Azure SDK model")


@cache
def field_table(cls: type) -> dict[str, tuple[Any, tuple[str, ...]]]:
    """Wire name -> (resolved type annotation, visibility) for one SDK model class."""
    cls({})  # the SDK fills `_attr_to_rest_field` on first instantiation
    namespace = dict(vars(sys.modules[cls.__module__]))
    namespace["_models"] = _models_module(cls)
    annotations: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for attr, hint in inspect.get_annotations(klass).items():
            ref = typing.ForwardRef(hint) if isinstance(hint, str) else hint
            annotations[attr] = typing._eval_type(ref, namespace, namespace)  # type: ignore[attr-defined]
    table: dict[str, tuple[Any, tuple[str, ...]]] = {}
    for attr, rest_field in cls._attr_to_rest_field.items():  # type: ignore[attr-defined]
        table[rest_field._rest_name] = (annotations.get(attr, Any), tuple(rest_field._visibility or ()))
    return table


def _optional(hint: Any) -> tuple[bool, Any]:
    """(is optional, the type without None)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        return optional, args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return False, hint


def _is_model(hint: Any) -> bool:
    return isinstance(hint, type) and getattr(hint, "_is_model", False)


def check_body(cls: type, body: Any, *, request: str = "create", path: str = "") -> list[str]:
    """Every way `body` breaks model `cls` for a request of kind create (PUT) or update (PATCH)."""
    return _check(cls, body, request, path or cls.__name__)


def _check(hint: Any, value: Any, request: str, path: str) -> list[str]:
    _, hint = _optional(hint)
    if value is None:
        return []
    if hint is Any:
        return []
    if _is_model(hint):
        return _check_model(hint, value, request, path)
    origin = typing.get_origin(hint)
    if origin in (list, typing.List):  # noqa: UP006
        if not isinstance(value, list):
            return [f"{path}: expected a JSON array, got {type(value).__name__}"]
        (item,) = typing.get_args(hint) or (Any,)
        return [e for i, v in enumerate(value) for e in _check(item, v, request, f"{path}[{i}]")]
    if origin in (dict, typing.Dict):  # noqa: UP006
        if not isinstance(value, dict):
            return [f"{path}: expected a JSON object, got {type(value).__name__}"]
        args = typing.get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return [e for k, v in value.items() for e in _check(item, v, request, f"{path}.{k}")]
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if str in options and isinstance(value, str):
            return []  # an extensible enum: any string
        for option in options:
            if not _check(option, value, request, path):
                return []
        return [f"{path}: {value!r} matches none of {options}"]
    return _check_scalar(hint, value, path)


def _check_scalar(hint: Any, value: Any, path: str) -> list[str]:
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
    if hint is bool:
        return [] if isinstance(value, bool) else [f"{path}: expected true/false, got {value!r}"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected an integer, got {value!r}"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: expected a number, got {value!r}"]
    if hint in (str, datetime, bytes):
        return [] if isinstance(value, str) else [f"{path}: expected a string, got {value!r}"]
    return []


def _check_model(cls: type, value: Any, request: str, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a JSON object ({cls.__name__}), got {type(value).__name__}"]
    table = field_table(cls)
    errors = []
    for key, item in value.items():
        if key not in table:
            known = ", ".join(sorted(table))
            errors.append(f"{path}.{key}: no such field in {cls.__name__} (known: {known})")
            continue
        hint, visibility = table[key]
        if visibility and request not in visibility and visibility != ("read",):
            errors.append(f"{path}.{key}: cannot be sent in a {request} request (visibility {list(visibility)})")
        elif visibility == ("read",) and key != "id":
            errors.append(f"{path}.{key}: is read-only in {cls.__name__}")
        errors.extend(_check(hint, item, request, f"{path}.{key}"))
    if request == "create":
        for key, (hint, visibility) in table.items():
            optional, _ = _optional(hint)
            if not optional and "create" in visibility and key not in value:
                errors.append(f"{path}.{key}: required by {cls.__name__} but missing")
    return errors

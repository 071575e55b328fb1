"""ARM template expressions for the test server: the functions the azure-vm chart uses, evaluated.

A string value "[f(...)]" is an expression ("[[" escapes a literal bracket). Supported: string and
number literals, parameters(), variables(), resourceId(), concat(), base64(), string(), toLower(),
resourceGroup() and subscription() with property access. Anything else is an error the server
reports as InvalidTemplate, as ARM does for a function it does not know.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op>[(),.\[\]]))"
)


class TemplateError(ValueError):
    """A template the server cannot deploy (ARM's InvalidTemplate)."""


@dataclass
class TemplateScope:
    """What an expression can see: parameters, variables, the subscription and resource group."""

    subscription: str
    resource_group: str
    location: str
    parameters: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, Any] = field(default_factory=dict)
    raw_variables: dict[str, Any] = field(default_factory=dict)

    def variable(self, name: str) -> Any:
        """A template variable, evaluated on first use."""
        if name not in self.variables:
            if name not in self.raw_variables:
                raise TemplateError(f"the template has no variable {name!r}")
            self.variables[name] = evaluate(self.raw_variables[name], self)
        return self.variables[name]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            if text[pos:].strip() == "":
                break
            raise TemplateError(f"cannot parse expression at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, scope: TemplateScope) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.scope = scope

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise TemplateError(f"expected {value or 'more'} in expression")
        self.pos += 1
        return token

    def expression(self) -> Any:
        kind, value = self.take()
        if kind == "str":
            result: Any = value[1:-1].replace("''", "'")
        elif kind == "num":
            result = int(value)
        elif kind == "name":
            self.take("(")
            args = []
            while self.peek() and self.peek() != ("op", ")"):
                args.append(self.expression())
                if self.peek() == ("op", ","):
                    self.take(",")
            self.take(")")
            result = self.call(value, args)
        else:
            raise TemplateError(f"unexpected {value!r} in expression")
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = self.expression()
                self.take("]")
            if not isinstance(result, dict) or key not in result:
                raise TemplateError(f"the value has no property {key!r}")
            result = result[key]
        return result

    def call(self, name: str, args: list[Any]) -> Any:
        functions: dict[str, Callable[..., Any]] = {
            "parameters": self._parameter,
            "variables": self.scope.variable,
            "concat": _concat,
            "base64": lambda s: base64.b64encode(str(s).encode()).decode(),
            "string": lambda v: v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v),
            "tolower": lambda s: str(s).lower(),
            "resourceid": self._resource_id,
            "resourcegroup": lambda: {
                "id": f"/subscriptions/{self.scope.subscription}/resourceGroups/{self.scope.resource_group}",
                "name": self.scope.resource_group,
                "location": self.scope.location,
            },
            "subscription": lambda: {
                "id": f"/subscriptions/{self.scope.subscription}",
                "subscriptionId": self.scope.subscription,
            },
        }
        function = functions.get(name.lower())
        if function is None:
            raise TemplateError(f"the template function {name!r} is not valid")
        return function(*args)

    def _parameter(self, name: str) -> Any:
        if name not in self.scope.parameters:
            raise TemplateError(f"the template parameter {name!r} has no value")
        return self.scope.parameters[name]

    def _resource_id(self, *parts: str) -> str:
        # resourceId([subscriptionId], [resourceGroup], type, name1, name2...)
        args = list(parts)
        subscription, group = self.scope.subscription, self.scope.resource_group
        while args and "/" not in args[0]:
            if len(args) >= 2 and "/" in args[1]:
                group = args.pop(0)
            elif len(args) >= 3 and "/" in args[2]:
                subscription, group = args.pop(0), args.pop(0)
            else:
                raise TemplateError(f"resourceId() arguments {parts!r} name no resource type")
        rtype, names = args[0], args[1:]
        namespace, *types = rtype.split("/")
        if len(types) != len(names):
            raise TemplateError(f"resourceId({rtype!r}) needs {len(types)} name(s), got {len(names)}")
        tail = "/".join(f"{t}/{n}" for t, n in zip(types, names, strict=True))
        return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{namespace}/{tail}"


def _concat(*args: Any) -> Any:
    if all(isinstance(x, list) for x in args):
        return [item for x in args for item in x]
    return "".join(str(x) for x in args)


def evaluate(value: Any, scope: TemplateScope) -> Any:
    """A template value with every expression in it evaluated (recursively through objects and arrays)."""
    if isinstance(value, dict):
        return {k: evaluate(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [evaluate(v, scope) for v in value]
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        if value.startswith("[["):
            return value[1:]
        parser = _Parser(value[1:-1], scope)
        result = parser.expression()
        if parser.peek() is not None:
            raise TemplateError(f"unexpected text after the expression in {value!r}")
        return result
    return value


def bind_parameters(template: dict[str, Any], given: dict[str, Any], scope: TemplateScope) -> None:
    """Fill scope.parameters from the deployment's parameters and the template's defaults."""
    declared = template.get("parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(f"the deployment passes parameters the template does not declare: {unknown}")
    for name, spec in declared.items():
        if name in given:
            entry = given[name]
            if not isinstance(entry, dict) or "value" not in entry:
                raise TemplateError(f"parameter {name!r} must be given as {{'value': ...}}")
            scope.parameters[name] = entry["value"]
        elif "defaultValue" in spec:
            scope.parameters[name] = evaluate(spec["defaultValue"], scope)
        else:
            raise TemplateError(f"the template parameter {name!r} has no default and was not given")
    scope.raw_variables = dict(template.get("variables") or {})

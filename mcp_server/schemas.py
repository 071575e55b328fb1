"""Compact tool schemas for `tools/list` (issue 21: at most 40 KB at the default toolsets and scopes).

Input schemas keep every constraint and description an agent needs to call a tool; they lose pydantic's
generated titles, `additionalProperties: true` (the default) and `anyOf [X, null]` becomes `type: [X,
"null"]` (with X's own keywords, which constrain only values of type X; `default: null` goes with it).
Output schemas are trimmed to the fields a tool returns: each top-level field with its type (and enum)
and description (no `required` list: the result carries every field); nested objects are
`{"type": "object"}` and arrays `{"type": "array"}` (a client checking the items' shape would walk every
item of a long listing on every call). A trimmed output schema accepts everything
the full one accepts (clients validate structured results against it), and the result itself carries the
nested shape.
"""

from __future__ import annotations

from typing import Any

NULL = {"type": "null"}


def compact_input(schema: dict[str, Any]) -> dict[str, Any]:
    """The input schema without generated titles and with nullable types written as type lists.

    The input model's own docstring goes too: the tool's description says what the tool takes.
    """
    out: dict[str, Any] = _compact(schema)
    out.pop("title", None)
    out.pop("description", None)
    return out


def _compact(node: Any) -> Any:
    if isinstance(node, list):
        return [_compact(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {name: _compact(sub) for name, sub in value.items()}
        elif (key == "title" and isinstance(value, str)) or (key == "additionalProperties" and value is True):
            continue
        else:
            out[key] = _compact(value)
    members = out.get("anyOf")
    if isinstance(members, list) and len(members) == 2 and NULL in members:
        other = members[0] if members[1] == NULL else members[1]
        if isinstance(other.get("type"), str) and not set(other) & {"enum", "const", "anyOf", "oneOf", "allOf"}:
            del out["anyOf"]
            out = {**other, **out, "type": [other["type"], "null"]}
    if "default" in out and out["default"] is None and isinstance(out.get("type"), list):
        del out["default"]  # optional and nullable says it
    return out


def trim_output(schema: dict[str, Any]) -> dict[str, Any]:
    """The output schema as its top-level fields: type, enum and description each; nested objects opaque."""
    defs: dict[str, Any] = schema.get("$defs", {})
    properties = {
        name: {**_shape(prop, defs), **({"description": prop["description"]} if "description" in prop else {})}
        for name, prop in schema.get("properties", {}).items()
    }
    return {"type": "object", "properties": properties}


def _shape(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """What a value must be, without nested object fields: never stricter than node."""
    if "$ref" in node:
        target = defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
        if target.get("type") == "object" or "properties" in target:
            return {"type": "object"}
        return _shape(target, defs) if target else {}
    for combinator in ("anyOf", "oneOf"):
        if combinator in node:
            types: set[str] = set()
            for member in node[combinator]:
                kind = _shape(member, defs).get("type")
                if kind is None:
                    return {}  # a member that accepts anything
                types.update([kind] if isinstance(kind, str) else kind)
            return {"type": sorted(types)[0] if len(types) == 1 else sorted(types)}
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        return _shape(node["allOf"][0], defs)
    # An array is just an array: with an `items` shape a client validating the result would check every item
    # of a long listing on every call (the items carry their own shape).
    return {key: node[key] for key in ("type", "enum", "const") if key in node}

"""Round-trip YAML edits with ruamel.yaml: comments, key order and flow style survive."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarfloat import ScalarFloat

Mutation = Callable[[CommentedMap], None]


class YamlEditError(ValueError):
    """The file cannot be edited (malformed, or the object is not in it)."""


def _float_exactly(representer: RoundTripRepresenter, data: ScalarFloat) -> ScalarNode:
    """ruamel's round-trip form of a float when it reads back as the same number, else repr (ruamel can drop a
    digit, e.g. 3.474049284652361e+16 -> 3.47404928465236e+16, changing a value no edit touched)."""
    node = representer.represent_scalar_float(data)
    try:
        same = float(node.value.replace("_", "")) == float(data)
    except ValueError:
        same = False
    if not same:
        node.value = repr(float(data))
    return node


_LINE_BREAKS = ("\x85", "\u2028", "\u2029")


def _str_exactly(representer: RoundTripRepresenter, data: str) -> ScalarNode:
    """Text holding a character YAML reads as a line break (NEL, U+2028/9) goes double-quoted and escaped;
    written plain, an edit turned it into a space (found by the fuzz suite)."""
    if any(c in data for c in _LINE_BREAKS):
        node: ScalarNode = representer.represent_scalar("tag:yaml.org,2002:str", data, style='"')
        return node
    plain: ScalarNode = representer.represent_str(data)
    return plain


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.representer.add_representer(ScalarFloat, _float_exactly)
    yaml.representer.add_representer(str, _str_exactly)
    yaml.preserve_quotes = True
    yaml.width = 110
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def to_commented(value: Any) -> Any:
    """Plain dicts and lists as ruamel's commented containers (so they dump in block style)."""
    if isinstance(value, dict):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = to_commented(item)
        return out
    if isinstance(value, list):
        return CommentedSeq([to_commented(v) for v in value])
    return value


def new_document(doc: dict[str, Any], header: str | None = None) -> bytes:
    """A new YAML file holding one document (optionally with a comment line on top)."""
    buf = io.StringIO()
    if header:
        for line in header.splitlines():
            buf.write(f"# {line}\n" if line else "#\n")
    _yaml().dump(to_commented(doc), buf)
    return buf.getvalue().encode("utf-8")


def edit_document(data: bytes, kind: str, name: str, mutate: Mutation, *, path: str = "") -> bytes:
    """Apply mutate to the document of `kind` named `name` in a (multi-document) file; everything else stays."""
    yaml = _yaml()
    try:
        docs = list(yaml.load_all(data.decode("utf-8")))
    except (YAMLError, UnicodeDecodeError) as exc:
        raise YamlEditError(f"{path or 'file'} cannot be parsed for editing: {exc}") from None
    found = False
    for doc in docs:
        if isinstance(doc, CommentedMap) and doc.get("kind") == kind and \
                isinstance(doc.get("metadata"), dict) and doc["metadata"].get("name") == name:
            mutate(doc)
            found = True
    if not found:
        raise YamlEditError(f"{path or 'file'} holds no {kind} named {name!r}")
    buf = io.StringIO()
    if len(docs) == 1:
        yaml.dump(docs[0], buf)
    else:
        yaml.dump_all(docs, buf)
    return buf.getvalue().encode("utf-8")


def ensure_map(parent: CommentedMap, key: str) -> CommentedMap:
    """parent[key] as a mapping, created (block style) when absent."""
    child = parent.get(key)
    if not isinstance(child, CommentedMap):
        child = CommentedMap()
        parent[key] = child
    return child


def set_path(doc: CommentedMap, path: list[str], value: Any) -> None:
    """Set doc[path...] = value, creating mappings on the way; None removes the key."""
    node = doc
    for key in path[:-1]:
        node = ensure_map(node, key)
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = to_commented(value)


def merge_map(doc: CommentedMap, path: list[str], values: dict[str, Any], *, replace: bool = False) -> None:
    """Merge values into the mapping at path (replace=True drops keys not in values); None values remove keys."""
    node = doc
    for key in path:
        node = ensure_map(node, key)
    if replace:
        for key in [k for k in node if k not in values]:
            del node[key]
    for key, value in values.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = to_commented(value)

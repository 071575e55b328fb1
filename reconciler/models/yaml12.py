"""The one YAML dialect homeport reads: the YAML 1.2 core schema, JSON types only, within limits.

PyYAML on its own reads YAML 1.1, where `yes`, `on`, `12:30:00`, `0755` and `2024-01-01` are not
strings, while proposals are written by ruamel.yaml (YAML 1.2). Both sides agree here: plain
scalars resolve only to the 1.2 core schema's null, bool, int and float; `2024-01-01` stays a
string. Values are JSON's (no dates, bytes, sets; mapping keys are strings), so whatever loads can
be stored as JSON. Limits (docs/limits.md) are checked on the node graph before anything is built,
so a billion-laughs file stops at its first oversized alias instead of filling memory.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.resolver import BaseResolver

from reconciler.models.limits import InputLimits, LimitExceeded, current_limits

_STR = "tag:yaml.org,2002:str"
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class CoreResolver(BaseResolver):
    """Plain scalars resolved by the YAML 1.2 core schema (plus `<<` merge keys, which ruamel also reads)."""


CoreResolver.add_implicit_resolver("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""])
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))
CoreResolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


class YamlLimitExceeded(LimitExceeded):
    """A YAML document over a limit; `line` is where (1-based) when known."""

    def __init__(self, name: str, limit: float, what: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(name, limit, what)


class JsonConstructor(SafeConstructor):
    """SafeConstructor that builds JSON values only, after checking the document against the limits."""

    limits: InputLimits

    def construct_document(self, node: Node) -> Any:
        """Check the limits on the node graph, then build the document."""
        check_node_limits(node, self.limits)
        return super().construct_document(node)

    def construct_yaml_bool(self, node: ScalarNode) -> bool:  # type: ignore[override]
        """true/false in any of the core schema's spellings."""
        return str(self.construct_scalar(node)).lower() == "true"

    def construct_yaml_int(self, node: ScalarNode) -> int:  # type: ignore[override]
        """Decimal (a leading 0 is still decimal), 0o octal or 0x hexadecimal."""
        text = str(self.construct_scalar(node))
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)

    def construct_yaml_float(self, node: ScalarNode) -> float:  # type: ignore[override]
        """A finite float; .inf and .nan have no JSON form and are refused."""
        text = str(self.construct_scalar(node))
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ConstructorError(
                None, None, f"{text!r} is not a JSON number (quote it to mean the text)", node.start_mark
            )
        return value

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:  # type: ignore[override]
        """A mapping whose keys are strings (JSON objects have no other keys)."""
        mapping = super().construct_mapping(node, deep=deep)
        for key_node, _ in node.value:
            if key_node.tag != _STR and key_node.tag != "tag:yaml.org,2002:merge":
                raise ConstructorError(
                    None,
                    None,
                    f"mapping key {key_node.value!r} is not a string: quote it",
                    key_node.start_mark,
                )
        return mapping

    def refuse_tag(self, node: Node) -> Any:
        """Tags outside JSON's types (timestamps, binary, sets, ordered maps) are refused."""
        raise ConstructorError(
            None,
            None,
            f"tag {node.tag!r} is not allowed: homeport reads JSON types only (quote the value to keep it as text)",
            node.start_mark,
        )


_add_constructor: Any = JsonConstructor.add_constructor
for _tag in ("timestamp", "binary", "set", "omap", "pairs"):
    _add_constructor(f"tag:yaml.org,2002:{_tag}", JsonConstructor.refuse_tag)
_add_constructor(None, JsonConstructor.refuse_tag)
_add_constructor("tag:yaml.org,2002:bool", JsonConstructor.construct_yaml_bool)
_add_constructor("tag:yaml.org,2002:int", JsonConstructor.construct_yaml_int)
_add_constructor("tag:yaml.org,2002:float", JsonConstructor.construct_yaml_float)


_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)
if _CParser is not None:
    _Base: Any = _CParser

    def _init(self: Any, stream: Any, limits: InputLimits) -> None:
        _CParser.__init__(self, stream)
        JsonConstructor.__init__(self)
        CoreResolver.__init__(self)
        self.limits = limits

else:  # PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PyParser(Reader, Scanner, Parser, Composer):  # type: ignore[misc]
        pass

    _Base = _PyParser

    def _init(self: Any, stream: Any, limits: InputLimits) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        JsonConstructor.__init__(self)
        CoreResolver.__init__(self)
        self.limits = limits


Yaml12Loader: Any = type("Yaml12Loader", (_Base, JsonConstructor, CoreResolver), {"__init__": _init})


def check_text_size(size: int, limits: InputLimits | None = None) -> None:
    """Refuse a file over yaml_file_bytes before it is parsed."""
    limits = limits or current_limits()
    if size > limits.yaml_file_bytes:
        raise YamlLimitExceeded("yaml_file_bytes", limits.yaml_file_bytes, f"the file has {size:,} bytes")


def iter_documents(text: str, limits: InputLimits | None = None) -> Iterator[Any]:
    """Each document of a YAML stream as JSON values; YamlLimitExceeded or yaml.YAMLError on bad input."""
    limits = limits or current_limits()
    check_text_size(len(text.encode("utf-8")) if len(text) * 4 > limits.yaml_file_bytes else len(text), limits)
    loader = Yaml12Loader(text, limits)
    try:
        count = 0
        while loader.check_data():
            count += 1
            if count > limits.yaml_documents:
                what = f"the file has more than {limits.yaml_documents:,} documents"
                raise YamlLimitExceeded("yaml_documents", limits.yaml_documents, what)
            yield loader.get_data()
    finally:
        loader.dispose()


def load_documents(text: str, limits: InputLimits | None = None) -> list[Any]:
    """Every document of a YAML stream (see iter_documents)."""
    return list(iter_documents(text, limits))


def load_one(text: str, limits: InputLimits | None = None) -> Any:
    """The single document of a YAML file (None when empty); more than one document is an error."""
    docs = load_documents(text, limits)
    if len(docs) > 1:
        raise yaml.YAMLError(f"expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None


def compose_documents(text: str, limits: InputLimits | None = None) -> list[Node | None]:
    """The node graph of each document (line numbers of every key and item), without building values."""
    limits = limits or current_limits()
    loader = Yaml12Loader(text, limits)
    nodes: list[Node | None] = []
    try:
        while loader.check_node():
            nodes.append(loader.get_node())
            if len(nodes) > limits.yaml_documents:
                break
    finally:
        loader.dispose()
    return nodes


def resolves_to_string(text: str) -> bool:
    """Whether a plain (unquoted) scalar with this text reads back as the same string."""
    resolver: Any = CoreResolver()
    return bool(resolver.resolve(ScalarNode, text, (True, False)) == _STR)


def check_node_limits(root: Node, limits: InputLimits) -> None:
    """Nodes (aliases expanded), depth and string length of one document, without expanding anything."""
    _measure(root, limits, {}, set(), 1)


def _measure(
    node: Node, limits: InputLimits, memo: dict[int, tuple[int, int]], on_path: set[int], depth: int
) -> tuple[int, int]:
    """(values under node with aliases expanded, its height); recursion is bounded by yaml_depth (<= 256)."""
    cls = node.__class__
    if cls is ScalarNode:
        if len(node.value) > limits.string_chars:
            what = f"a string of {len(node.value):,} characters"
            raise YamlLimitExceeded("string_chars", limits.string_chars, what, node.start_mark.line + 1)
        return 1, 0
    nid = id(node)
    known = memo.get(nid)
    if known is None:
        if nid in on_path:
            raise ConstructorError(None, None, "a recursive alias (a value that contains itself)", node.start_mark)
        if depth > limits.yaml_depth:
            what = f"mappings and lists nested more than {limits.yaml_depth} deep"
            raise YamlLimitExceeded("yaml_depth", limits.yaml_depth, what, node.start_mark.line + 1)
        on_path.add(nid)
        size, height = 1, 0
        children = [n for pair in node.value for n in pair] if cls is MappingNode else node.value
        for child in children:
            child_size, child_height = _measure(child, limits, memo, on_path, depth + 1)
            size += child_size
            if child_height > height:
                height = child_height
        on_path.discard(nid)
        known = memo[nid] = (size, height + 1)
    size, height = known
    if depth + height - 1 > limits.yaml_depth:
        what = f"mappings and lists nested {depth + height - 1} deep"
        raise YamlLimitExceeded("yaml_depth", limits.yaml_depth, what, node.start_mark.line + 1)
    if size > limits.yaml_nodes:
        what = f"this value expands to {size:,} values (aliases counted as copies)"
        raise YamlLimitExceeded("yaml_nodes", limits.yaml_nodes, what, node.start_mark.line + 1)
    return known

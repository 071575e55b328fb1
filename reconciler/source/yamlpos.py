"""Finding the line of a field in a YAML file (ruamel.yaml, used only when reporting an error)."""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq


def field_line(text: str, doc_index: int, path: Sequence[str | int]) -> int | None:
    """1-based line of `path` in document `doc_index` of text; the deepest existing ancestor's line."""
    yaml = YAML(typ="rt")
    try:
        docs = list(yaml.load_all(StringIO(text)))
    except Exception:  # the file parsed with PyYAML; ruamel disagreeing only costs the line number
        return None
    if doc_index >= len(docs):
        return None
    node: Any = docs[doc_index]
    line: int | None = _start_line(node)
    for part in path:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _start_line(node: Any) -> int | None:
    lc = getattr(node, "lc", None)
    return lc.line + 1 if lc is not None and lc.line is not None else None

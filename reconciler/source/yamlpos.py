"""Finding the line of a field in a YAML file, for error messages.

A file is composed once (PyYAML's C parser, node graph only) and every issue in it is located
from that graph: reporting 1,000 issues costs one parse, not 1,000.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from reconciler.models.limits import LimitExceeded
from reconciler.models.yaml12 import compose_documents


class LineIndex:
    """The composed documents of one YAML text, for looking up the line of any field path."""

    def __init__(self, text: str) -> None:
        try:
            self.docs: list[Node | None] = compose_documents(text)
        except (yaml.YAMLError, LimitExceeded):  # the file parsed before; failing here only costs the line
            self.docs = []

    def line(self, doc_index: int, path: Sequence[str | int]) -> int | None:
        """1-based line of `path` in document `doc_index`; the deepest existing ancestor's line."""
        if not 0 <= doc_index < len(self.docs):
            return None
        node = self.docs[doc_index]
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            if isinstance(node, MappingNode):
                match = next((pair for pair in node.value if pair[0].value == part), None)
                if match is None:
                    break
                line = match[0].start_mark.line + 1
                node = match[1]
            elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


@lru_cache(maxsize=8)
def line_index(text: str) -> LineIndex:
    """The LineIndex of a text, kept for the few texts most recently asked about."""
    return LineIndex(text)


def field_line(text: str, doc_index: int, path: Sequence[str | int]) -> int | None:
    """1-based line of `path` in document `doc_index` of text; the deepest existing ancestor's line."""
    return line_index(text).line(doc_index, path)

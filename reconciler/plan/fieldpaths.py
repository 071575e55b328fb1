"""Matching field paths against rule globs ('disks[data].size_gb' matches 'disks.size_gb')."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

_KEYED = re.compile(r"\[[^\]]*\]")


def rule_path(path: str) -> str:
    """A field path with keyed-list selectors removed: 'disks[data].size_gb' -> 'disks.size_gb'."""
    return _KEYED.sub("", path)


def matches(path: str, patterns: list[str]) -> bool:
    """Whether path (or its rule form) matches any glob."""
    plain = rule_path(path)
    return any(fnmatchcase(path, p) or fnmatchcase(plain, p) for p in patterns)
